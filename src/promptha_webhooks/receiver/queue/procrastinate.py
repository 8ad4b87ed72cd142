"""Queue mode on PostgreSQL with procrastinate: durable jobs, retries, any number of workers.

``ProcrastinateQueue(app)`` registers one task on your ``procrastinate.App``; the router defers
a job per delivery (``queueing_lock`` = event id, so duplicates do not pile up while one waits)
and a procrastinate worker runs the router's handlers. Apply procrastinate's schema once
(``procrastinate schema --apply`` or ``await app.schema_manager.apply_schema_async()``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import procrastinate
import psycopg
from procrastinate import exceptions as procrastinate_errors
from procrastinate.app import WorkerOptions
from procrastinate.retry import RetryValue
from typing_extensions import Unpack

from promptha_webhooks.receiver.errors import QueueUnavailableError
from promptha_webhooks.receiver.queue import ProcessQueued, QueuedEvent

__all__ = [
    "DEFAULT_QUEUE",
    "DEFAULT_RETRY",
    "ENQUEUE_TIMEOUT_S",
    "TASK_NAME",
    "ProcrastinateQueue",
]

TASK_NAME = "promptha_webhooks.receiver.process_event"
DEFAULT_QUEUE = "promptha_webhooks"

ENQUEUE_TIMEOUT_S = 10.0
"""How long storing a job may take before the router answers 503 (the sender waits 30 s)."""

DEFAULT_RETRY = procrastinate.RetryStrategy(max_attempts=10, exponential_wait=2)
"""A failed handler runs again after 2, 4, 8 … 1024 s (10 retries, ~34 min in all)."""

_DRIVER_ERRORS = (procrastinate_errors.ConnectorException, psycopg.Error, OSError, TimeoutError)


class ProcrastinateQueue:
    """An :class:`~promptha_webhooks.receiver.queue.EventQueue` on a procrastinate ``App``.

    The app is opened on first use if it is not open yet (and then closed by ``aclose``); an app
    you opened yourself (``async with app.open_async()``) is used as it is and left open.
    """

    def __init__(
        self,
        app: procrastinate.App,
        *,
        queue: str = DEFAULT_QUEUE,
        task_name: str = TASK_NAME,
        retry: RetryValue = DEFAULT_RETRY,
        enqueue_timeout_s: float = ENQUEUE_TIMEOUT_S,
    ) -> None:
        self.app = app
        self.queue_name = queue
        self.task_name = task_name
        self.retry = retry
        self.enqueue_timeout_s = enqueue_timeout_s
        self._task: Any = None
        self._opened_here = False
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"ProcrastinateQueue(queue={self.queue_name!r}, task={self.task_name!r})"

    def bind(self, process: ProcessQueued) -> None:
        if self._task is not None:
            raise RuntimeError("this queue serves one router already")

        async def process_event(
            body: str,
            event: str,
            event_id: str,
            delivery_id: str | None = None,
            attempt: int | None = None,
            test: bool = False,
        ) -> None:
            await process(QueuedEvent(body, event, event_id, delivery_id, attempt, test))

        self._task = self.app.task(name=self.task_name, queue=self.queue_name, retry=self.retry)(
            process_event
        )

    async def _ensure_open(self) -> None:
        connector = self.app.connector
        if not isinstance(connector, procrastinate.PsycopgConnector):
            return  # another connector: the application opens it
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            try:
                connector.pool  # noqa: B018 (raises AppNotOpen when closed)
            except procrastinate_errors.AppNotOpen:
                await self.app.open_async()
                self._opened_here = True

    async def enqueue(self, queued: QueuedEvent) -> bool:
        if self._task is None:
            raise RuntimeError("ProcrastinateQueue is not bound to a router (pass it as queue=)")
        try:
            async with asyncio.timeout(self.enqueue_timeout_s):
                await self._ensure_open()
                deferrer = self._task.configure(queueing_lock=f"promptha:{queued.event_id}")
                await deferrer.defer_async(**queued.to_json())
        except procrastinate_errors.AlreadyEnqueued:
            return False
        except _DRIVER_ERRORS as exc:
            reason = str(exc) or type(exc).__name__
            raise QueueUnavailableError(f"procrastinate queue: {reason}") from exc
        return True

    async def run_worker(self, **options: Unpack[WorkerOptions]) -> None:
        """Run a procrastinate worker on this queue (``app.run_worker_async(queues=[…])``)."""
        options.setdefault("queues", [self.queue_name])
        await self._ensure_open()
        await self.app.run_worker_async(**options)

    async def aclose(self) -> None:
        if self._opened_here:
            self._opened_here = False
            await self.app.close_async()
