"""What differs between the backends, as one protocol: the store's queries, the engine's
setup and the services ask the chosen `Dialect` instead of testing the backend's name."""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypeVar

from sqlalchemy import Select, Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import Executable

BackendName = Literal["sqlite", "postgresql"]

SelectT = TypeVar("SelectT", bound=Select[Any])


class Dialect(Protocol):
    """One backend's behaviour. Implementations are stateless singletons."""

    @property
    def name(self) -> BackendName: ...

    @property
    def async_driver(self) -> str:
        """SQLAlchemy's driver name for the async engine (`sqlite+aiosqlite`, …)."""

    @property
    def notifies(self) -> bool:
        """Whether other processes can be told of changes (PostgreSQL's NOTIFY)."""

    @property
    def publish_statements(self) -> int:
        """Publish statements in flight at once, for large groups (publishing.py)."""

    @property
    def few_events_statements(self) -> int:
        """Publish statements in flight at once while few events wait (publishing.py)."""

    @property
    def publishes_in_one_statement(self) -> bool:
        """Publish with the one-statement path (publish_statement.py) on the driver."""

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments of `create_async_engine` (the pool's size)."""

    def prepare(self, url: str) -> None:
        """What must exist before the engine or a migration opens the database."""

    def install_hooks(self, engine: AsyncEngine) -> None:
        """Per-connection and per-transaction setup of the engine."""

    def skip_locked(self, query: SelectT) -> SelectT:
        """Rows another transaction holds are skipped (PostgreSQL), else the query as is."""

    def for_no_key_update(self, query: SelectT) -> SelectT:
        """Lock the rows against updates without blocking key-share locks (PostgreSQL)."""

    async def lock_rows(self, conn: AsyncConnection, query: Select[Any]) -> None:
        """Lock the rows of `query` until the commit, where the backend locks rows."""

    def insert_ignoring_conflicts(self, table: Table, row: dict[str, Any]) -> Executable:
        """INSERT … ON CONFLICT DO NOTHING."""

    async def notify_due(self, conn: AsyncConnection) -> None:
        """Tell other processes' dispatchers that deliveries became due (on commit)."""

    async def notify_keys_revoked(self, conn: AsyncConnection, revoked: str) -> None:
        """Tell other API processes that keys were revoked (on commit)."""
