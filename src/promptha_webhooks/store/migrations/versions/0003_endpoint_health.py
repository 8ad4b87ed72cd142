"""endpoint health: per-webhook failure counters, attempts tagged with their webhook, indexes
for statistics, recovery and retention

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.add_column(
            sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("failed_deliveries", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("failing_since", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("last_success_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("last_failure_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("last_failure_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("warned_level", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("alerted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("disabled_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("attempts") as batch_op:
        batch_op.add_column(sa.Column("webhook_id", sa.String(length=40), nullable=True))
    # Attempts recorded before this migration learn their webhook from their delivery.
    op.execute(
        "UPDATE attempts SET webhook_id = "
        "(SELECT d.webhook_id FROM deliveries AS d WHERE d.id = attempts.delivery_id)"
    )
    op.create_index("ix_attempts_webhook_id_started_at", "attempts", ["webhook_id", "started_at"])
    op.create_index(
        "ix_deliveries_webhook_id_status_created_at",
        "deliveries",
        ["webhook_id", "status", "created_at"],
    )
    op.create_index("ix_events_created_at", "events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_events_created_at", table_name="events")
    op.drop_index("ix_deliveries_webhook_id_status_created_at", table_name="deliveries")
    op.drop_index("ix_attempts_webhook_id_started_at", table_name="attempts")
    with op.batch_alter_table("attempts") as batch_op:
        batch_op.drop_column("webhook_id")
    with op.batch_alter_table("webhooks") as batch_op:
        for name in (
            "disabled_at",
            "alerted",
            "warned_level",
            "last_failure_reason",
            "last_failure_at",
            "last_success_at",
            "failing_since",
            "failed_deliveries",
            "consecutive_failures",
        ):
            batch_op.drop_column(name)
