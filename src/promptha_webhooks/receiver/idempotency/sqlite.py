"""SQLite idempotency store (aiosqlite): one table, each claim one write transaction.

Fits a receiver on one machine: several processes may share the file (every statement runs in a
``BEGIN IMMEDIATE`` transaction and waits for the write lock up to ``BUSY_TIMEOUT_MS``). The
connection opens on first use, so a store can be built before the event loop runs.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import aiosqlite

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

__all__ = ["BUSY_TIMEOUT_MS", "SQLiteIdempotencyStore"]

BUSY_TIMEOUT_MS = 5000
"""How long a statement waits for another process's write lock, in milliseconds."""
WORKER_STOP_WAIT_S = 1.0


class SQLiteIdempotencyStore:
    """Claims and handled events in the SQLite database at ``path``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str = DEFAULT_TABLE,
        claim_ttl_s: float = CLAIM_TTL_S,
        done_ttl_s: float = DONE_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_ttls(claim_ttl_s, done_ttl_s)
        self.path = os.fspath(path)
        self.claim_ttl_s = claim_ttl_s
        self.done_ttl_s = done_ttl_s
        self._clock = clock
        self._table = quote_table_name(table)
        self._conn: aiosqlite.Connection | None = None
        self._lock: asyncio.Lock | None = None
        self._tx_lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"SQLiteIdempotencyStore({self.path!r}, table={self._table})"

    async def _connection(self) -> aiosqlite.Connection:
        if self._conn is not None:
            return self._conn
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._conn is None:
                pending = aiosqlite.connect(self.path, isolation_level=None)
                try:
                    conn = await pending
                except BaseException:
                    await _worker_stopped(pending)
                    raise
                try:
                    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                    # Like every write here, under BEGIN IMMEDIATE: a connection that holds a
                    # read lock while it waits for the write lock can deadlock with another.
                    await conn.execute("BEGIN IMMEDIATE")
                    await conn.execute(
                        f"CREATE TABLE IF NOT EXISTS {self._table} ("
                        " event_id TEXT PRIMARY KEY,"
                        " state TEXT NOT NULL CHECK (state IN ('processing', 'done')),"
                        " token TEXT,"
                        " expires_at REAL NOT NULL)"
                    )
                    await conn.execute("COMMIT")
                except BaseException:
                    await conn.close()
                    raise
                self._conn = conn
            return self._conn

    async def _transaction(self, *statements: tuple[str, tuple[Any, ...]]) -> list[list[Any]]:
        """Run statements in one ``BEGIN IMMEDIATE`` transaction; return each one's rows.

        IMMEDIATE takes the write lock up front, waiting up to the busy timeout: a deferred
        transaction that reads first can fail at once when it must upgrade to write.
        """
        if self._tx_lock is None:
            self._tx_lock = asyncio.Lock()
        try:
            conn = await self._connection()
            async with self._tx_lock:  # one transaction at a time on this connection
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    results = [
                        list(await conn.execute_fetchall(sql, params)) for sql, params in statements
                    ]
                except BaseException:
                    await conn.execute("ROLLBACK")
                    raise
                await conn.execute("COMMIT")
                return results
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(f"SQLite idempotency store {self.path!r}: {exc}") from exc

    async def claim(self, event_id: str) -> Claim:
        token = secrets.token_hex(16)
        now = self._clock()
        claimed, current = await self._transaction(
            (
                f"INSERT INTO {self._table} AS e (event_id, state, token, expires_at)"
                " VALUES (?, 'processing', ?, ?)"
                " ON CONFLICT (event_id) DO UPDATE SET"
                " state = 'processing', token = excluded.token, expires_at = excluded.expires_at"
                " WHERE e.expires_at <= ?"
                " RETURNING token",
                (event_id, token, now + self.claim_ttl_s, now),
            ),
            (f"SELECT state, token FROM {self._table} WHERE event_id = ?", (event_id,)),
        )
        if claimed:
            return Claim(event_id, ClaimState.CLAIMED, token)
        done = bool(current) and current[0][0] == "done"
        return Claim(event_id, ClaimState.DONE if done else ClaimState.IN_PROGRESS)

    async def complete(self, claim: Claim) -> bool:
        [rows] = await self._transaction(
            (
                f"UPDATE {self._table} SET state = 'done', token = NULL, expires_at = ?"
                " WHERE event_id = ? AND token = ? AND state = 'processing' RETURNING event_id",
                (self._clock() + self.done_ttl_s, claim.event_id, claim.token),
            )
        )
        return bool(rows)

    async def release(self, claim: Claim) -> bool:
        [rows] = await self._transaction(
            (
                f"DELETE FROM {self._table}"
                " WHERE event_id = ? AND token = ? AND state = 'processing' RETURNING event_id",
                (claim.event_id, claim.token),
            )
        )
        return bool(rows)

    async def purge_expired(self) -> int:
        """Delete lapsed claims and forgotten events; return how many rows went."""
        [rows] = await self._transaction(
            (
                f"DELETE FROM {self._table} WHERE expires_at <= ? RETURNING event_id",
                (self._clock(),),
            )
        )
        return len(rows)

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()


async def _worker_stopped(connection: aiosqlite.Connection) -> None:
    """After a failed connect, aiosqlite stops its worker thread without waiting for it. Wait
    (up to WORKER_STOP_WAIT_S), so the thread does not call back into an event loop that was
    closed meanwhile (the caller's, when it gives up on the store and ends)."""
    thread = getattr(connection, "_thread", None)
    deadline = time.monotonic() + WORKER_STOP_WAIT_S
    while thread is not None and thread.is_alive() and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
