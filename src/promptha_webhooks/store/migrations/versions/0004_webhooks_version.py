"""accounts.webhooks_version: bumped by a trigger whenever the account's fan-out can change

Revision ID: 0004
Revises: 0003

Publishing on PostgreSQL caches each account's enabled webhooks per process and stores an event
only if the version it reads in the same statement is the one the cache was built from.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE FUNCTION promptha_bump_webhooks_version() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE accounts SET webhooks_version = webhooks_version + 1 WHERE id = OLD.account_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.account_id <> OLD.account_id)
    THEN
        UPDATE accounts SET webhooks_version = webhooks_version + 1 WHERE id = NEW.account_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""

# Only the columns fan-out reads (a webhook disabled by its health still gets deliveries, kept
# as skipped): health counters on webhooks do not invalidate caches.
_TRIGGERS = [
    "CREATE TRIGGER webhooks_version_on_insert_or_delete AFTER INSERT OR DELETE ON webhooks "
    "FOR EACH ROW EXECUTE FUNCTION promptha_bump_webhooks_version()",
    "CREATE TRIGGER webhooks_version_on_update "
    "AFTER UPDATE OF account_id, enabled, disabled_reason, events, filters, kind ON webhooks "
    "FOR EACH ROW WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id "
    "OR OLD.enabled IS DISTINCT FROM NEW.enabled "
    "OR OLD.disabled_reason IS DISTINCT FROM NEW.disabled_reason "
    "OR OLD.events IS DISTINCT FROM NEW.events "
    "OR OLD.filters IS DISTINCT FROM NEW.filters OR OLD.kind IS DISTINCT FROM NEW.kind) "
    "EXECUTE FUNCTION promptha_bump_webhooks_version()",
]


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(
            sa.Column("webhooks_version", sa.BigInteger(), nullable=False, server_default="0")
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTION)
        for statement in _TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER webhooks_version_on_update ON webhooks")
        op.execute("DROP TRIGGER webhooks_version_on_insert_or_delete ON webhooks")
        op.execute("DROP FUNCTION promptha_bump_webhooks_version()")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("webhooks_version")
