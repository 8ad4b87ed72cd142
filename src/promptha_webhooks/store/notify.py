"""Cross-process notices on PostgreSQL, sent with NOTIFY in the transaction that causes them
(delivered on commit) and received by a LISTEN connection per process:
- deliveries became due: workers claim at once instead of waiting for their next poll;
- API keys were revoked (a key deleted, an account deleted): every API process drops them from
  its key cache at once instead of trusting it until the entry expires (services.py)."""

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
KEYS_CHANNEL = "promptha_webhooks_keys"
RECONNECT_DELAY_S = 1.0

_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")
_NOTIFY_KEYS = text(f"SELECT pg_notify('{KEYS_CHANNEL}', :revoked)")


async def notify_due(conn: AsyncConnection) -> None:
    """Tell listening workers that deliveries became due (sent when the transaction commits)."""
    await conn.execute(_NOTIFY)


async def notify_keys_revoked(conn: AsyncConnection, revoked: str) -> None:
    """Tell every API process that keys were revoked (sent when the transaction commits):
    `key:<key id>` or `account:<account id>` (all of the account's keys)."""
    await conn.execute(_NOTIFY_KEYS, {"revoked": revoked})


class ChannelListener:
    """Keeps a LISTEN connection on `channel` open (reconnecting after failures) and calls
    `on_message(payload)` for each notification, and `on_message(None)` whenever it (re)connects:
    what was sent while it was not listening is lost, so the receiver must assume anything."""

    def __init__(
        self,
        database_url: str,
        channel: str,
        on_message: Callable[[str | None], None],
        while_down: str,
    ) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._channel = channel
        self._on_message = on_message
        self._while_down = while_down  # what the process does meanwhile, for the log line
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"listen-{self._channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _callback(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self._on_message(payload)

    async def _run(self) -> None:
        while True:
            try:
                await self._listen_until_closed()
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                logger.warning(
                    "LISTEN %s connection failed (%s); %s until it is back",
                    self._channel,
                    exc,
                    self._while_down,
                )
            await asyncio.sleep(RECONNECT_DELAY_S)

    async def _listen_until_closed(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        closed = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _c: closed.set())
            await connection.add_listener(self._channel, self._callback)
            self._on_message(None)  # anything sent while we were not listening
            await closed.wait()
        finally:
            if not connection.is_closed():
                with contextlib.suppress(OSError, asyncpg.PostgresError):
                    await connection.close()


class DueListener(ChannelListener):
    """Workers: `on_notify` when deliveries became due (or may have, after a reconnection)."""

    def __init__(self, database_url: str, on_notify: Callable[[], None]) -> None:
        super().__init__(database_url, CHANNEL, lambda _payload: on_notify(), "polling")
