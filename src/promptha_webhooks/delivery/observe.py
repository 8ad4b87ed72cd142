"""Metrics, logs and traces of the delivery path: endpoint health and alert events around each
recorded batch (inside the batch's transaction), then metrics, one log line per attempt and
alert side effects (after commit); claim and hand-off counters. Used by record.py for every
recorded attempt, whoever made it. (The attempt's span is opened by attempt.py, tracing.py.)"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.alerts import AlertSink, Notice, publish_notices
from promptha_webhooks.config import Settings
from promptha_webhooks.delivery.attempt import AttemptOutcome
from promptha_webhooks.delivery.health import AttemptResult, HealthRecorder
from promptha_webhooks.logs import log_attempts
from promptha_webhooks.metrics import Metrics
from promptha_webhooks.store import Database, Store

logger = logging.getLogger(__name__)


class Observer:
    def __init__(
        self, settings: Settings, database: Database, metrics: Metrics | None = None
    ) -> None:
        self.settings = settings
        self.store = Store(database.backend, database.secrets)
        self.queries = self.store.health
        self.health = HealthRecorder(settings, self.queries)
        self.sink = AlertSink(settings)
        self.metrics = metrics if metrics is not None else Metrics()
        # prometheus-client's labels() takes a lock and hashes per call: children cached
        self._delivery_counters: dict[tuple[str, str], Any] = {}
        self._duration_histograms: dict[str, Any] = {}

    async def record(
        self, conn: AsyncConnection, results: Sequence[AttemptResult], now: int
    ) -> list[Notice]:
        """In the results' transaction: update health counters, store alert events."""
        notices = await self.health.record(conn, results, now)
        if not notices:
            return []
        return await publish_notices(self.store, conn, notices, now)

    def recorded(self, items: Sequence[AttemptOutcome], notices: Sequence[Notice]) -> None:
        """After commit. Never raises: the worker's writer calls it and must outlive any
        failure here."""
        try:
            self._recorded(items, notices)
        except Exception:
            logger.exception("metrics, logs or alerts of a recorded batch failed")

    def _recorded(self, items: Sequence[AttemptOutcome], notices: Sequence[Notice]) -> None:
        durations = self._duration_histograms
        lines: list[dict[str, Any]] = []
        counts: dict[tuple[str, str], int] = {}  # one inc per label pair and batch
        for item in items:
            status = item.update.status
            outcome = "retry" if status == "pending" else status
            event_type = item.delivery.event_type
            key = (outcome, event_type)
            counts[key] = counts.get(key, 0) + 1
            row = item.attempt
            if row is None:
                continue
            histogram = durations.get(outcome)
            if histogram is None:
                histogram = durations[outcome] = self.metrics.attempt_duration.labels(outcome)
            histogram.observe(row.duration_ms / 1000)
            lines.append(
                {
                    "delivery_id": row.delivery_id,
                    "attempt_id": row.id,
                    "webhook_id": row.webhook_id,
                    "event_type": event_type,
                    "attempt": row.number,
                    "trigger": row.trigger,
                    "status": row.response_status,
                    "outcome": outcome,
                    "ms": row.duration_ms,
                    "error": row.error,
                }
            )
        deliveries = self._delivery_counters
        for key, count in counts.items():
            counter = deliveries.get(key)
            if counter is None:
                counter = deliveries[key] = self.metrics.deliveries.labels(*key)
            counter.inc(count)
        log_attempts(lines)
        for notice in notices:
            self.metrics.alerts.labels(notice.event).inc()
        self.sink.emit(notices)

    def claimed(self, seconds: float, count: int) -> None:
        self.metrics.claim_duration.observe(seconds)
        self.metrics.claimed.inc(count)

    def handed_off(self, count: int) -> None:
        self.metrics.handed_off.inc(count)
