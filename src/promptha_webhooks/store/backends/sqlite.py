"""SQLite (aiosqlite): one process, one writer. Everything the store does differently on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Select, Table, event
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import Executable

from promptha_webhooks.private_files import prepare_sqlite
from promptha_webhooks.store.backends.base import BackendName, SelectT

SQLITE_BUSY_TIMEOUT_MS = 10_000


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None: in memory, a `file:` URI, or another backend)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite":
        return None
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database).expanduser()
    return None


class SqliteDialect:
    async_driver = "sqlite+aiosqlite"
    name: BackendName = "sqlite"
    # One process: nobody else to tell; its own dispatcher and key cache are called directly.
    notifies = False
    # One writer: one publish transaction at a time (group commit shares it, publishing.py).
    publish_statements = 1
    few_events_statements = 1
    publishes_in_one_statement = False

    def engine_options(self) -> dict[str, Any]:
        # One connection: SQLite has one writer; queueing in the pool beats busy-waiting.
        return {"pool_size": 1, "max_overflow": 0}

    def prepare(self, url: str) -> None:
        """The database file and its directory, private (private_files.py), before SQLite
        opens them: it holds the webhooks' signing secrets and the API keys' hashes."""
        path = sqlite_file(url)
        if path is not None:
            prepare_sqlite(path)

    def install_hooks(self, engine: AsyncEngine) -> None:
        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control from the driver so BEGIN IMMEDIATE is ours to emit.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            # IMMEDIATE takes the write lock up front: no deadlock-prone lock upgrades.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    # Every write transaction holds the whole database (BEGIN IMMEDIATE): no row locks.

    def skip_locked(self, query: SelectT) -> SelectT:
        return query

    def for_no_key_update(self, query: SelectT) -> SelectT:
        return query

    async def lock_rows(self, conn: AsyncConnection, query: Select[Any]) -> None:
        return None

    def insert_ignoring_conflicts(self, table: Table, row: dict[str, Any]) -> Executable:
        return sqlite.insert(table).values(row).on_conflict_do_nothing()

    async def notify_due(self, conn: AsyncConnection) -> None:
        return None

    async def notify_keys_revoked(self, conn: AsyncConnection, revoked: str) -> None:
        return None


SQLITE = SqliteDialect()
