"""Retention: a background job that purges events older than the configured age (default
30 days) with their deliveries and attempts, in small batches, one short transaction each,
so the dispatcher's claims and writes interleave with it instead of waiting."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.exc import DBAPIError

from promptha_webhooks.clock import Clock, SystemClock, ms
from promptha_webhooks.config import Settings
from promptha_webhooks.metrics import Metrics
from promptha_webhooks.store import Database
from promptha_webhooks.store.retention_queries import RetentionQueries

logger = logging.getLogger(__name__)

BATCH_PAUSE_S = 0.01  # between batches: let other transactions in (SQLite has one writer)


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
        self.queries = RetentionQueries(database.backend)
        self.batches = 0  # transactions run so far (tests, logs)
        self._task: asyncio.Task[None] | None = None

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
            if deleted < self.settings.retention_batch_size:
                break
            await asyncio.sleep(BATCH_PAUSE_S)
        if total:
            logger.info("retention purged %d events", total, extra={"purged_events": total})
        return total

    def start(self) -> None:
        if self.settings.retention_s > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except (DBAPIError, OSError) as exc:
                logger.warning(
                    "retention run failed (%s); next run in %.0f s",
                    exc,
                    self.settings.retention_interval_s,
                )
            except Exception:
                logger.exception("retention run failed unexpectedly")
            await asyncio.sleep(self.settings.retention_interval_s)
