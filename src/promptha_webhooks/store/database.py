"""The database: an engine, the backend's `Dialect` (chosen once, from the URL), the drivers'
own connections for the hot statements, and migrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from promptha_webhooks.errors import ConstraintViolationError
from promptha_webhooks.secret_box import KeyRing
from promptha_webhooks.store.backends import DIALECTS, BackendName, Dialect, dialect_named
from promptha_webhooks.store.backends.postgresql import asyncpg_dsn
from promptha_webhooks.store.errors import translate_driver_error
from promptha_webhooks.store.webhook_secrets import SecretCodec

Backend = BackendName

__all__ = [
    "Backend",
    "Database",
    "Dialect",
    "asyncpg_dsn",
    "create_database",
    "dialect_of",
    "migrate",
    "migrate_sync",
    "schema_head",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# asyncpg's own pool for the hot statements (publish, claim, record); see driver_connection.
DRIVER_POOL_SIZE = 10
DRIVER_POOL_IDLE_S = 60.0


def async_url(url: str) -> str:
    """`sqlite:///path` / `postgresql://…` → the async-driver form SQLAlchemy needs."""
    parsed = make_url(url)
    name = parsed.get_backend_name()
    name = "postgresql" if name == "postgres" else name
    for dialect in DIALECTS.values():
        if dialect.name == name:
            return parsed.set(drivername=dialect.async_driver).render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")


def backend_of(url: str) -> Backend:
    return "sqlite" if make_url(url).get_backend_name() == "sqlite" else "postgresql"


def dialect_of(url: str) -> Dialect:
    """The backend object of a database URL: every difference between the backends."""
    return dialect_named(backend_of(url))


class Database:
    """An async engine plus its backend's `Dialect` (which the store's queries ask), and the
    `SecretCodec` its webhook secrets are sealed with (the key ring from Settings)."""

    def __init__(self, url: str, keys: KeyRing) -> None:
        self.url = url
        self.secrets = SecretCodec(keys)
        self.dialect: Dialect = dialect_of(url)
        self.backend: Backend = self.dialect.name
        self.dialect.prepare(url)
        self.engine: AsyncEngine = create_async_engine(
            async_url(url), **self.dialect.engine_options()
        )
        self._driver_pools: dict[bool, asyncpg.Pool] = {}
        self._driver_pool_lock = asyncio.Lock()
        self.dialect.install_hooks(self.engine)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block exits normally, rolled back otherwise.

        A constraint the database enforces and a write breaks (a foreign key to a row deleted
        meanwhile, a unique key taken meanwhile) is the request's conflict with the current
        state, not an unavailable database: ConstraintViolationError (409), which a caller that
        can tell the cause better (publishing: the account is gone, 404) refines."""
        try:
            async with self.engine.begin() as connection:
                yield connection
        except IntegrityError as exc:
            translated = translate_driver_error(exc)
            raise (translated or ConstraintViolationError()) from exc

    @asynccontextmanager
    async def driver_connection(self, *, replan: bool = False) -> AsyncIterator[asyncpg.Connection]:
        """An asyncpg connection in autocommit (PostgreSQL only), for the hot statements: one
        statement, one round trip. From a pool of asyncpg's own: checking a connection out of
        SQLAlchemy's pool costs more CPU than the statement itself (greenlet hops). A dead
        connection is closed by asyncpg's pool; the failure surfaces as ConnectionError (503
        at the API).

        replan: from a second pool whose sessions plan every statement at each execution
        (plan_cache_mode = force_custom_plan), for the dispatcher's claim and result
        statements. Those join deliveries and events by key; a prepared statement's cached
        generic plan made while the tables were small (a new database) hashes a sequential
        scan of them at every execution until autovacuum's first ANALYZE invalidates it: a
        result batch took 5 ms at 30,000 deliveries, growing with the table. Planning costs
        0.3-0.5 ms per claim or batch. The publish statement keeps its cached plan (it reads
        only small tables by key and inserts; planning it would cost 0.26 ms per publish)."""
        assert self.backend == "postgresql"
        pool = self._driver_pools.get(replan)
        if pool is None:
            async with self._driver_pool_lock:
                pool = self._driver_pools.get(replan)
                if pool is None:
                    settings = {"plan_cache_mode": "force_custom_plan"} if replan else {}
                    pool = await asyncpg.create_pool(
                        asyncpg_dsn(self.url),
                        min_size=1,
                        max_size=DRIVER_POOL_SIZE,
                        max_inactive_connection_lifetime=DRIVER_POOL_IDLE_S,
                        reset=_keep_session,
                        server_settings=settings,
                    )
                    self._driver_pools[replan] = pool
        try:
            async with pool.acquire() as driver:
                yield driver
        except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError) as exc:
            raise ConnectionError(f"database connection failed: {exc}") from exc

    @asynccontextmanager
    async def sqlite_driver_connection(self) -> AsyncIterator[aiosqlite.Connection]:
        """The aiosqlite connection of SQLAlchemy's pool (SQLite only; autocommit: transactions
        are only those begun explicitly), for the dispatcher's claim: one statement, one trip
        to aiosqlite's thread instead of four per SQLAlchemy statement."""
        assert self.backend == "sqlite"
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert isinstance(driver, aiosqlite.Connection)
            yield driver

    async def dispose(self) -> None:
        pools, self._driver_pools = list(self._driver_pools.values()), {}
        for pool in pools:
            await pool.close()
        await self.engine.dispose()


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """No reset between uses (asyncpg's default costs a round trip per release): the hot
    statements run one at a time in autocommit and leave no session state behind."""


def create_database(url: str, keys: KeyRing) -> Database:
    return Database(url, keys)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


def migrate_sync(url: str, revision: str = "head") -> None:
    """Upgrade the schema (blocking; runs its own event loop, so call it outside one)."""
    dialect_of(url).prepare(url)
    command.upgrade(alembic_config(url), revision)


def schema_head(url: str) -> str | None:
    """The migration revision this code expects (the readiness probe compares)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


async def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the schema from inside a running event loop."""
    await asyncio.to_thread(migrate_sync, url, revision)
