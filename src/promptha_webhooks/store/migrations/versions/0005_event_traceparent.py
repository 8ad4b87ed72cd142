"""events.traceparent: the W3C trace context of the publish, for OpenTelemetry traces

Revision ID: 0005
Revises: 0004

Set only when tracing is on (PROMPTHA_WEBHOOKS_TRACING); the claim statements return it so
each attempt's span is a child of its event's publish span.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: PostgreSQL adds it without rewriting the table.
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("traceparent", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("traceparent")
