"""Cross-process notices on PostgreSQL, sent with NOTIFY in the transaction that causes them
(delivered on commit, by the PostgreSQL `Dialect`: backends/postgresql.py) and received here
by a LISTEN connection per process:
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

from promptha_webhooks.store.backends.postgresql import CHANNEL, KEYS_CHANNEL, asyncpg_dsn

logger = logging.getLogger(__name__)

__all__ = ["CHANNEL", "KEYS_CHANNEL", "ChannelListener", "DueListener"]

RECONNECT_DELAY_S = 1.0


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
