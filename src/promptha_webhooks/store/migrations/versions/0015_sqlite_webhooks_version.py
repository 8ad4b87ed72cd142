"""sqlite_webhooks_version: the `webhooks_version` triggers of 0004 (and 0009, 0013) on SQLite

Revision ID: 0015
Revises: 0014

Publishing on SQLite now caches each account's fan-out per process like PostgreSQL does
(services/publishing.py): its transaction reads the account's `webhooks_version` and reuses the
compiled route table while the version is the one the table was built from. These triggers bump
the version on the same changes as PostgreSQL's: a webhook inserted or deleted, or one of the
fan-out columns changed.

A later migration that makes Alembic rebuild the `webhooks` table on SQLite (a batch operation
SQLite cannot do in place: dropping or altering a column) drops these triggers with the old
table and must create them again (tests/integration/test_fanout_cache.py checks they exist at
head).
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

FANOUT_COLUMNS = [
    "account_id",
    "enabled",
    "disabled_reason",
    "events",
    "filters",
    "kind",
    "max_concurrency",
    "rate_limit",
    "ordering",
]
_BUMP = "UPDATE accounts SET webhooks_version = webhooks_version + 1 WHERE id = {row}.account_id"
_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in FANOUT_COLUMNS)
TRIGGERS = {
    "webhooks_version_on_insert": (
        f"AFTER INSERT ON webhooks BEGIN {_BUMP.format(row='NEW')}; END"
    ),
    "webhooks_version_on_delete": (
        f"AFTER DELETE ON webhooks BEGIN {_BUMP.format(row='OLD')}; END"
    ),
    "webhooks_version_on_update": (
        f"AFTER UPDATE OF {', '.join(FANOUT_COLUMNS)} ON webhooks WHEN {_CHANGED} BEGIN "
        "UPDATE accounts SET webhooks_version = webhooks_version + 1 "
        "WHERE id IN (OLD.account_id, NEW.account_id); END"
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, body in TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
