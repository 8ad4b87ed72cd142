"""webhook_max_concurrency: a per-webhook cap on concurrent requests

Revision ID: 0009
Revises: 0008

`max_concurrency` caps the requests a worker has in flight to the webhook; NULL: the worker's
default (`per_webhook_concurrency`). A worker never goes above its own `max_in_flight`.
Publishing on PostgreSQL caches the fan-out, which now carries the cap (for the hand-off), so
a change of it bumps `webhooks_version` like the other fan-out columns (0004).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
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


_FANOUT_COLUMNS = ["account_id", "enabled", "disabled_reason", "events", "filters", "kind"]


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("max_concurrency", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER webhooks_version_on_update ON webhooks")
        op.execute(_update_trigger([*_FANOUT_COLUMNS, "max_concurrency"]))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER webhooks_version_on_update ON webhooks")
        op.execute(_update_trigger(_FANOUT_COLUMNS))
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("max_concurrency")
