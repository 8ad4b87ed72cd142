"""lean delivery writes: the recovery index only holds failed and skipped deliveries, listen
sessions get their own small index, and two foreign keys of the hot tables go

Revision ID: 0006
Revises: 0005

Every delivery is written three times (stored by a publish, claimed, settled), and on
PostgreSQL every claim and settlement is a non-HOT update that adds an entry to each of the
table's indexes; every attempt insert ran a foreign-key check that also locked its delivery.
Measured on this machine (docs/performance.md, session 8): PostgreSQL CPU per delivery, claim
and result statements, 56 -> 43-47 us; per published event 21 -> 17.5-19 us.

- `ix_deliveries_webhook_id_status_created_at` (recovery: a webhook's failed or skipped
  deliveries in a window) becomes `ix_deliveries_recoverable`, partial on those two statuses:
  a delivery enters it only if it ends failed or skipped, not on each of its three writes.
- `ix_deliveries_listen_waiting`: a listen webhook's unsent deliveries (pending, not due for
  the workers), which the recovery index used to find.
- `deliveries.event_id -> events` goes: a delivery is only ever inserted in the transaction
  that inserts its event, and events are deleted by retention (which deletes their deliveries
  first) or with their account (whose webhooks' deliveries go with the webhooks).
- `attempts.delivery_id -> deliveries` goes: an attempt is inserted only while its delivery
  is locked by the same statement or transaction (store/dispatch_statements.py,
  Store.record_attempts), and deleting deliveries deletes their attempts explicitly
  (Store.delete_webhook, Store.delete_account, retention).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# SQLite's foreign keys have no names: batch mode names the reflected ones with this.
_SQLITE_FK_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
_PENDING = sa.text("status = 'pending'")
_RECOVERABLE = sa.text("status IN ('failed', 'skipped')")
_LISTEN_WAITING = sa.text("status = 'pending' AND next_attempt_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_deliveries_webhook_id_status_created_at", table_name="deliveries")
    # Attempts recorded without their webhook (none are expected) learn it from their delivery
    # while it exists: deleting a webhook's attempts now goes by this column.
    op.execute(
        "UPDATE attempts SET webhook_id = "
        "(SELECT d.webhook_id FROM deliveries AS d WHERE d.id = attempts.delivery_id) "
        "WHERE webhook_id IS NULL"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("deliveries_event_id_fkey", "deliveries", type_="foreignkey")
        op.drop_constraint("attempts_delivery_id_fkey", "attempts", type_="foreignkey")
    else:
        # Attempts first: copying deliveries drops the table the attempts' key refers to.
        _sqlite_recreate_without(
            "attempts", "fk_attempts_delivery_id_deliveries", _sqlite_attempt_indexes
        )
        _sqlite_recreate_without(
            "deliveries", "fk_deliveries_event_id_events", _sqlite_delivery_indexes
        )
    _create_index("ix_deliveries_recoverable", ["webhook_id", "created_at"], _RECOVERABLE)
    _create_index("ix_deliveries_listen_waiting", ["webhook_id", "id"], _LISTEN_WAITING)


def downgrade() -> None:
    op.drop_index("ix_deliveries_listen_waiting", table_name="deliveries")
    op.drop_index("ix_deliveries_recoverable", table_name="deliveries")
    # Rows the foreign keys would refuse (none are expected) go first.
    op.execute(
        "DELETE FROM attempts WHERE NOT EXISTS "
        "(SELECT 1 FROM deliveries AS d WHERE d.id = attempts.delivery_id)"
    )
    op.execute(
        "DELETE FROM deliveries WHERE NOT EXISTS "
        "(SELECT 1 FROM events AS e WHERE e.id = deliveries.event_id)"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key(
            "deliveries_event_id_fkey",
            "deliveries",
            "events",
            ["event_id"],
            ["id"],
            ondelete="CASCADE",
        )
        op.create_foreign_key(
            "attempts_delivery_id_fkey",
            "attempts",
            "deliveries",
            ["delivery_id"],
            ["id"],
            ondelete="CASCADE",
        )
    else:
        # Deliveries first: the attempts' key refers to the table copied.
        for table, referred, column, indexes in (
            ("deliveries", "events", "event_id", _sqlite_delivery_indexes),
            ("attempts", "deliveries", "delivery_id", _sqlite_attempt_indexes),
        ):
            indexes(drop=True)
            with op.batch_alter_table(table, recreate="always") as batch_op:
                batch_op.create_foreign_key(
                    f"fk_{table}_{column}_{referred}",
                    referred,
                    [column],
                    ["id"],
                    ondelete="CASCADE",
                )
            indexes()
    op.create_index(
        "ix_deliveries_webhook_id_status_created_at",
        "deliveries",
        ["webhook_id", "status", "created_at"],
    )


def _create_index(name: str, columns: list[str], where: sa.TextClause) -> None:
    op.create_index(name, "deliveries", columns, postgresql_where=where, sqlite_where=where)


def _sqlite_recreate_without(table: str, foreign_key: str, indexes: Callable[..., None]) -> None:
    """SQLite drops a foreign key by copying the table. Its indexes are dropped first and made
    again after, from their definitions here: batch mode's copy would otherwise rebuild them
    from reflection, which can lose a partial index's WHERE."""
    indexes(drop=True)
    with op.batch_alter_table(table, naming_convention=_SQLITE_FK_NAMES, recreate="always") as b:
        b.drop_constraint(foreign_key, type_="foreignkey")
    indexes()


def _sqlite_delivery_indexes(*, drop: bool = False) -> None:
    if drop:
        for name in ("ix_deliveries_due", "ix_deliveries_event_id", "ix_deliveries_webhook_id_id"):
            op.drop_index(name, table_name="deliveries")
        return
    _create_index("ix_deliveries_due", ["next_attempt_at"], _PENDING)
    op.create_index("ix_deliveries_event_id", "deliveries", ["event_id"])
    op.create_index("ix_deliveries_webhook_id_id", "deliveries", ["webhook_id", "id"])


def _sqlite_attempt_indexes(*, drop: bool = False) -> None:
    if drop:
        for name in ("ix_attempts_delivery_id", "ix_attempts_webhook_id_started_at"):
            op.drop_index(name, table_name="attempts")
        return
    op.create_index("ix_attempts_delivery_id", "attempts", ["delivery_id", "number"])
    op.create_index("ix_attempts_webhook_id_started_at", "attempts", ["webhook_id", "started_at"])
