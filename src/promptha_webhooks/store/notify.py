"""Cross-process wake-ups on PostgreSQL: publishing sends NOTIFY in its transaction (delivered on
commit), workers LISTEN and claim at once instead of waiting for their next poll."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.store.database import asyncpg_dsn

logger = logging.getLogger(__name__)

CHANNEL = "promptha_webhooks_due"
RECONNECT_DELAY_S = 1.0

_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")


async def notify_due(conn: AsyncConnection) -> None:
    """Tell listening workers that deliveries became due (sent when the transaction commits)."""
    await conn.execute(_NOTIFY)


class DueListener:
    """Keeps a LISTEN connection open (reconnecting after failures) and calls `on_notify`."""

    def __init__(self, database_url: str, on_notify: Callable[[], None]) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._on_notify = on_notify
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="due-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _callback(self, *_args: Any) -> None:
        self._on_notify()

    async def _run(self) -> None:
        while True:
            try:
                await self._listen_until_closed()
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                logger.warning("LISTEN connection failed (%s); polling until it is back", exc)
            await asyncio.sleep(RECONNECT_DELAY_S)

    async def _listen_until_closed(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        closed = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _c: closed.set())
            await connection.add_listener(CHANNEL, self._callback)
            self._on_notify()  # anything published while we were not listening
            await closed.wait()
        finally:
            if not connection.is_closed():
                with contextlib.suppress(OSError, asyncpg.PostgresError):
                    await connection.close()
