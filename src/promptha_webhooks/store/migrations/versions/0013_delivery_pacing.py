"""delivery_pacing: a per-webhook rate limit and FIFO ordering

Revision ID: 0013
Revises: 0012

`webhooks.rate_limit` (deliveries started per second; NULL: no limit) and `webhooks.ordering`
('none' or 'fifo') make a webhook *paced*: its deliveries are stored with `pace_order` (their
publish order; NULL for every other delivery), are never handed off nor taken by the ordinary
claim, and are claimed by `dispatch_statements.claim_paced` under the webhook's row lock.
`webhooks.rate_next_at` (ms) is the start time of the webhook's next free rate slot, shared by
every worker. Both settings change fan-out (whether a delivery is paced), so a change of them
bumps `webhooks_version` like the other fan-out columns (0004, 0009).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _update_trigger(columns: list[str]) -> str:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    return (
        "CREATE TRIGGER webhooks_version_on_update "
        f"AFTER UPDATE OF {', '.join(columns)} ON webhooks "
        f"FOR EACH ROW WHEN ({changed}) "
        "EXECUTE FUNCTION promptha_bump_webhooks_version()"
    )


_FANOUT_COLUMNS = [
    "account_id",
    "enabled",
    "disabled_reason",
    "events",
    "filters",
    "kind",
    "max_concurrency",
]
_PACED = "status = 'pending' AND pace_order IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("rate_limit", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ordering", sa.String(8), nullable=False, server_default="none"))
        batch.add_column(sa.Column("rate_next_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("pace_order", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_deliveries_paced",
        "deliveries",
        ["webhook_id", "pace_order"],
        postgresql_where=sa.text(_PACED),
        sqlite_where=sa.text(_PACED),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER webhooks_version_on_update ON webhooks")
        op.execute(_update_trigger([*_FANOUT_COLUMNS, "rate_limit", "ordering"]))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER webhooks_version_on_update ON webhooks")
        op.execute(_update_trigger(_FANOUT_COLUMNS))
    op.drop_index("ix_deliveries_paced", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("pace_order")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("rate_next_at")
        batch.drop_column("ordering")
        batch.drop_column("rate_limit")
