"""Retention: a background job that purges events older than the configured age (default
30 days) with their deliveries and attempts, in small batches, one short transaction each,
so the dispatcher's claims and writes interleave with it instead of waiting."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from promptha_webhooks.clock import Clock, SystemClock, ms
from promptha_webhooks.config import Settings
from promptha_webhooks.metrics import Metrics
from promptha_webhooks.store import Database
from promptha_webhooks.store.errors import StoreFailure, store_failures
from promptha_webhooks.store.retention import RetentionQueries

logger = logging.getLogger(__name__)

BATCH_PAUSE_S = 0.01  # between batches: let other transactions in (SQLite has one writer)
# stop() lets the running batch end (one short transaction) rather than cancel it mid-way: a
# cancelled task leaves behind whatever its driver was doing (an aiosqlite connect runs on in
# its thread and calls back into an event loop that may be closed by then). Beyond this, the
# batch is cancelled after all (a database that does not answer).
STOP_WAIT_S = 5.0


class RetentionJob:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        clock: Clock | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.db = database
        self.clock = clock or SystemClock()
        self.metrics = metrics
        self.queries = RetentionQueries(database.dialect)
        self.batches = 0  # transactions run so far (tests, logs)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def run_once(self) -> int:
        """Purge everything past retention now; returns the number of events deleted."""
        if self.settings.retention_s <= 0:
            return 0
        cutoff = ms(self.clock.now() - self.settings.retention_s)
        total = 0
        while True:
            async with self.db.transaction() as conn:
                deleted = await self.queries.purge_batch(
                    conn, cutoff, self.settings.retention_batch_size
                )
            self.batches += 1
            total += deleted
            if self.metrics is not None and deleted:
                self.metrics.purged.inc(deleted)
            if deleted < self.settings.retention_batch_size or self._stopping.is_set():
                break
            await asyncio.sleep(BATCH_PAUSE_S)
        if total:
            logger.info("retention purged %d events", total, extra={"purged_events": total})
        return total

    def start(self) -> None:
        if self.settings.retention_s > 0 and self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="retention")

    async def stop(self) -> None:
        """After the running batch, if any (within STOP_WAIT_S)."""
        if self._task is not None:
            self._stopping.set()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, STOP_WAIT_S)
            self._task = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                with store_failures():
                    await self.run_once()
            except (StoreFailure, OSError) as exc:
                logger.warning(
                    "retention run failed (%s); next run in %.0f s",
                    exc,
                    self.settings.retention_interval_s,
                )
            except Exception:
                logger.exception("retention run failed unexpectedly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.retention_interval_s)
