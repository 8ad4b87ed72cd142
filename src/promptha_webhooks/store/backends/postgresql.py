"""PostgreSQL (asyncpg): several processes share it. Everything the store does differently on
it: row locks, NOTIFY, the pool, the one-statement publish."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Table, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import Executable

from promptha_webhooks.store.backends.base import BackendName, SelectT

POSTGRES_POOL_SIZE = 10
POSTGRES_POOL_OVERFLOW = 5

# NOTIFY channels (their listeners: notify.py).
CHANNEL = "promptha_webhooks_due"
KEYS_CHANNEL = "promptha_webhooks_keys"

_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")
_NOTIFY_KEYS = text(f"SELECT pg_notify('{KEYS_CHANNEL}', :revoked)")


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresqlDialect:
    async_driver = "postgresql+asyncpg"
    name: BackendName = "postgresql"
    notifies = True
    # Publish statements a process runs at once; more publishes wait and share the next one
    # (group commit, publishing.py). While few events wait, fewer statements run: single
    # publishes then share statements more, which costs the database less (at 1,000
    # publishes/s, runs with 2 gave publish → arrival p50 4.7–5.5 ms where runs with 4 minutes
    # earlier gave 5.5–8.4 ms; a later same-hour A/B was within the noise:
    # docs/performance.md); batches of many events still use every statement.
    publish_statements = 4
    few_events_statements = 2
    publishes_in_one_statement = True

    def engine_options(self) -> dict[str, Any]:
        # No pre-ping: with asyncpg it costs BEGIN, a query and ROLLBACK on every checkout.
        # A connection found dead fails its statement (503, the client retries) and the
        # pool replaces it and every connection older than the failure.
        return {"pool_size": POSTGRES_POOL_SIZE, "max_overflow": POSTGRES_POOL_OVERFLOW}

    def prepare(self, url: str) -> None:
        return None

    def install_hooks(self, engine: AsyncEngine) -> None:
        return None

    def skip_locked(self, query: SelectT) -> SelectT:
        return query.with_for_update(skip_locked=True)

    def for_no_key_update(self, query: SelectT) -> SelectT:
        return query.with_for_update(key_share=True)  # FOR NO KEY UPDATE

    async def lock_rows(self, conn: AsyncConnection, query: Select[Any]) -> None:
        locked = query.with_for_update().subquery()
        await conn.execute(select(func.count()).select_from(locked))

    def insert_ignoring_conflicts(self, table: Table, row: dict[str, Any]) -> Executable:
        return postgresql.insert(table).values(row).on_conflict_do_nothing()

    async def notify_due(self, conn: AsyncConnection) -> None:
        """Tell listening workers that deliveries became due (sent when the transaction
        commits)."""
        await conn.execute(_NOTIFY)

    async def notify_keys_revoked(self, conn: AsyncConnection, revoked: str) -> None:
        """Tell every API process that keys were revoked (sent when the transaction commits):
        `key:<key id>` or `account:<account id>` (all of the account's keys)."""
        await conn.execute(_NOTIFY_KEYS, {"revoked": revoked})


POSTGRESQL = PostgresqlDialect()
