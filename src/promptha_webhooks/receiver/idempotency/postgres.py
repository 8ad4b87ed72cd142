"""PostgreSQL idempotency store (asyncpg): one table, each claim one atomic upsert.

Fits receivers on many machines. Expiry uses the database clock, so processors need not agree on
the time. The pool opens on first use, so a store can be built before the event loop runs.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import asyncpg

from promptha_webhooks.receiver.errors import StoreUnavailableError
from promptha_webhooks.receiver.idempotency import (
    CLAIM_TTL_S,
    DEFAULT_TABLE,
    DONE_TTL_S,
    Claim,
    ClaimState,
    check_ttls,
    quote_table_name,
)

__all__ = ["CONNECT_TIMEOUT_S", "POOL_MAX_SIZE", "PostgresIdempotencyStore"]

CONNECT_TIMEOUT_S = 5.0
"""How long opening a connection may take before the store reports itself unavailable."""

POOL_MAX_SIZE = 10
"""Connections the store's own pool opens at most."""

# See sqlite.py: a lost upsert reads the row next; if it vanished in between, claim again.
_CLAIM_ATTEMPTS = 3
_DRIVER_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class PostgresIdempotencyStore:
    """Claims and handled events in a PostgreSQL table.

    Give either ``dsn`` (the store opens and closes its own pool) or an asyncpg ``pool`` you
    manage (the store never closes it). ``create_table=False`` skips ``CREATE TABLE IF NOT
    EXISTS`` when your migrations own the table (columns: see ``_CREATE``).
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        pool: Any = None,
        table: str = DEFAULT_TABLE,
        claim_ttl_s: float = CLAIM_TTL_S,
        done_ttl_s: float = DONE_TTL_S,
        create_table: bool = True,
    ) -> None:
        if (dsn is None) == (pool is None):
            raise ValueError("give exactly one of dsn or pool")
        check_ttls(claim_ttl_s, done_ttl_s)
        self._dsn = dsn
        self._pool: Any = pool
        self._owns_pool = pool is None
        self._ready = False
        self._create_table = create_table
        self._lock: asyncio.Lock | None = None
        self.claim_ttl_s = claim_ttl_s
        self.done_ttl_s = done_ttl_s
        t = quote_table_name(table)
        self._table = t
        self._sql_create = (
            f"CREATE TABLE IF NOT EXISTS {t} ("
            " event_id text PRIMARY KEY,"
            " state text NOT NULL CHECK (state IN ('processing', 'done')),"
            " token text,"
            " expires_at timestamptz NOT NULL)"
        )
        self._sql_claim = (
            f"INSERT INTO {t} AS e (event_id, state, token, expires_at)"
            " VALUES ($1, 'processing', $2, now() + make_interval(secs => $3))"
            " ON CONFLICT (event_id) DO UPDATE SET"
            " state = 'processing', token = excluded.token, expires_at = excluded.expires_at"
            " WHERE e.expires_at <= now()"
            " RETURNING e.token"
        )
        self._sql_state = f"SELECT state FROM {t} WHERE event_id = $1 AND expires_at > now()"
        self._sql_complete = (
            f"UPDATE {t} SET state = 'done', token = NULL,"
            " expires_at = now() + make_interval(secs => $3)"
            " WHERE event_id = $1 AND token = $2 AND state = 'processing' RETURNING event_id"
        )
        self._sql_release = (
            f"DELETE FROM {t} WHERE event_id = $1 AND token = $2 AND state = 'processing'"
            " RETURNING event_id"
        )
        self._sql_purge = f"DELETE FROM {t} WHERE expires_at <= now()"

    def __repr__(self) -> str:
        return f"PostgresIdempotencyStore(table={self._table})"

    async def _get_pool(self) -> Any:
        if self._ready:
            return self._pool
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn, min_size=1, max_size=POOL_MAX_SIZE, timeout=CONNECT_TIMEOUT_S
                )
            if not self._ready:
                if self._create_table:
                    await self._create(self._pool)
                self._ready = True
        return self._pool

    async def _create(self, pool: Any) -> None:
        # Concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL (on the table's
        # row type): serialise creators with a transaction-scoped advisory lock.
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", self._table)
            await conn.execute(self._sql_create)

    async def _run(self, method: str, sql: str, *args: Any) -> Any:
        try:
            pool = await self._get_pool()
            return await getattr(pool, method)(sql, *args)
        except _DRIVER_ERRORS as exc:
            raise StoreUnavailableError(f"PostgreSQL idempotency store: {exc}") from exc

    async def claim(self, event_id: str) -> Claim:
        token = secrets.token_hex(16)
        for _ in range(_CLAIM_ATTEMPTS):
            if await self._run("fetchval", self._sql_claim, event_id, token, self.claim_ttl_s):
                return Claim(event_id, ClaimState.CLAIMED, token)
            state = await self._run("fetchval", self._sql_state, event_id)
            if state is not None:
                done = state == "done"
                return Claim(event_id, ClaimState.DONE if done else ClaimState.IN_PROGRESS)
        return Claim(event_id, ClaimState.IN_PROGRESS)

    async def complete(self, claim: Claim) -> bool:
        done = await self._run(
            "fetchval", self._sql_complete, claim.event_id, claim.token, self.done_ttl_s
        )
        return done is not None

    async def release(self, claim: Claim) -> bool:
        released = await self._run("fetchval", self._sql_release, claim.event_id, claim.token)
        return released is not None

    async def purge_expired(self) -> int:
        """Delete lapsed claims and forgotten events; return how many rows went."""
        status: str = await self._run("execute", self._sql_purge)
        return int(status.rsplit(" ", 1)[-1])

    async def aclose(self) -> None:
        pool = self._pool
        if self._owns_pool:
            self._pool = None
            self._ready = False
            if pool is not None:
                await pool.close()
