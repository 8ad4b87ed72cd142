"""One asyncio event loop in a daemon thread, for calling the async router from sync code.

Flask and Django (under WSGI) call from many threads; connection pools are bound to the loop
that opened them, so every call must run on the same loop rather than a fresh one per request.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["STOP_TIMEOUT_S", "LoopThread"]

STOP_TIMEOUT_S = 10.0
"""How long ``stop`` waits for the loop thread to finish, in seconds."""

T = TypeVar("T")


class LoopThread:
    """A running event loop in a daemon thread (it never keeps the process alive)."""

    def __init__(self, name: str = "promptha-webhooks-receiver") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result (or exception) in this thread."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("LoopThread.run called from its own loop: await instead")
        if self._loop.is_closed():
            coro.close()
            raise RuntimeError("LoopThread is stopped")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def stop(self) -> None:
        """Cancel what still runs, shut the loop's thread pool down, stop and close the loop."""
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(STOP_TIMEOUT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STOP_TIMEOUT_S)
        self._loop.close()

    async def _shutdown(self) -> None:
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self._loop.shutdown_asyncgens()
        await self._loop.shutdown_default_executor()
