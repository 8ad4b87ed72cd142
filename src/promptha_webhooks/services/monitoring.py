"""Delivery statistics for the API and the dashboard: per webhook over 1 h / 24 h / 7 d
(success rate, latency percentiles, health counters), per account over a window (with
failures by reason), hourly delivered/failed buckets of a webhook for a chart, and a
webhook's series over a window (per bucket: counts, success rate, latency percentiles).

Reached as `services.stats` (a `Stats`); every method checks that the webhook belongs to
the account (404 otherwise)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from promptha_webhooks.clock import Clock, ms
from promptha_webhooks.errors import InvalidRequestError, NotFoundError
from promptha_webhooks.models import (
    SERIES_BUCKET_S,
    STATS_WINDOWS_S,
    AccountStats,
    FailureReason,
    HourlyBucket,
    LatencyPercentiles,
    SeriesBucket,
    StatsWindow,
    Webhook,
    WebhookHourly,
    WebhookSeries,
    WebhookStats,
    WindowStats,
    from_ms,
)
from promptha_webhooks.store import Database, Store
from promptha_webhooks.store.stats import (
    HOUR_MS,
    HistogramCell,
    SeriesCell,
)

MAX_HOURLY_HOURS = 7 * 24
DEFAULT_HOURLY_HOURS = 24


def percentile(cells: Iterable[HistogramCell], q: float) -> float | None:
    """The q-quantile (0 < q ≤ 1) of the durations in histogram cells: linear interpolation
    inside the bucket, bounded by the bucket's observed min and max."""
    merged: dict[int, tuple[int, float, float]] = {}
    for cell in cells:
        count, lo, hi = merged.get(cell.bucket, (0, cell.min_ms, cell.max_ms))
        merged[cell.bucket] = (count + cell.count, min(lo, cell.min_ms), max(hi, cell.max_ms))
    total = sum(count for count, _, _ in merged.values())
    if total == 0:
        return None
    target = q * total
    seen = 0
    for bucket in sorted(merged):
        count, lo, hi = merged[bucket]
        if seen + count >= target:
            fraction = (target - seen) / count
            return round(lo + (hi - lo) * fraction, 3)
        seen += count
    return round(max(hi for _, _, hi in merged.values()), 3)


def _latency(cells: list[HistogramCell]) -> LatencyPercentiles:
    return LatencyPercentiles(
        p50_ms=percentile(cells, 0.50),
        p95_ms=percentile(cells, 0.95),
        p99_ms=percentile(cells, 0.99),
    )


def _counts(cells: list[HistogramCell]) -> tuple[int, int, int, float | None]:
    delivered = sum(c.count for c in cells if c.delivered)
    failed = sum(c.count for c in cells if not c.delivered)
    total = delivered + failed
    return total, delivered, failed, (round(delivered / total, 4) if total else None)


def window_of(window: str) -> StatsWindow:
    if window not in STATS_WINDOWS_S:
        raise InvalidRequestError("window must be one of 1h, 24h, 7d", field="window")
    return window  # type: ignore[return-value]


class Stats:
    def __init__(self, database: Database, clock: Clock) -> None:
        self.db = database
        self.clock = clock
        self.store = Store(database.backend, database.secrets)
        self.queries = self.store.stats
        self.health_queries = self.store.health

    async def webhook_stats(self, account_id: str, webhook_id: str) -> WebhookStats:
        """Health counters and 1 h / 24 h / 7 d windows of one webhook (one histogram query)."""
        webhook, windows = await self._windows(account_id, webhook_id)
        assert webhook.health is not None
        return WebhookStats(
            webhook_id=webhook.id,
            enabled=webhook.enabled,
            disabled_reason=webhook.disabled_reason,
            health=webhook.health,
            windows=windows,
        )

    async def webhook_with_stats(self, account_id: str, webhook_id: str) -> Webhook:
        """The webhook object with its 1 h / 24 h / 7 d windows (`GET /v1/webhooks/{id}`)."""
        webhook, windows = await self._windows(account_id, webhook_id)
        return webhook.as_of(ms(self.clock.now())).model_copy(update={"stats": windows})

    async def _windows(self, account_id: str, webhook_id: str) -> tuple[Webhook, list[WindowStats]]:
        now = ms(self.clock.now())
        since = {name: now - seconds * 1000 for name, seconds in STATS_WINDOWS_S.items()}
        async with self.db.transaction() as conn:
            webhook = await self.store.webhooks.get(conn, account_id, webhook_id)
            if webhook is None:
                raise NotFoundError(f"No webhook {webhook_id}")
            cells = await self.queries.webhook_histogram(
                conn,
                [webhook_id],
                since=since["7d"],
                since_1h=since["1h"],
                since_24h=since["24h"],
            )
        selections = {
            "1h": [c for c in cells if c.in_1h],
            "24h": [c for c in cells if c.in_24h],
            "7d": cells,
        }
        windows = []
        for name, chosen in selections.items():
            total, delivered, failed, rate = _counts(chosen)
            windows.append(
                WindowStats(
                    window=window_of(name),
                    since=from_ms(since[name]),
                    attempts=total,
                    delivered=delivered,
                    failed=failed,
                    success_rate=rate,
                    latency=_latency(chosen),
                )
            )
        return webhook, windows

    async def account_stats(self, account_id: str, window: str = "24h") -> AccountStats:
        """Every webhook of the account together over `window` (1h, 24h or 7d)."""
        name = window_of(window)
        now = ms(self.clock.now())
        since = now - STATS_WINDOWS_S[name] * 1000
        async with self.db.transaction() as conn:
            cells = await self.queries.webhook_histogram(
                conn, None, account_id=account_id, since=since, since_1h=now, since_24h=now
            )
            failures = await self.queries.failure_reasons(conn, account_id, since)
            disabled = await self.health_queries.disabled_webhooks(conn, account_id)
        total, delivered, failed, rate = _counts(cells)
        reasons: dict[str, int] = defaultdict(int)
        for item in failures:
            key = f"http_{item.status}" if item.category == "http" else item.category
            reasons[key] += item.count
        return AccountStats(
            account_id=account_id,
            window=name,
            since=from_ms(since),
            attempts=total,
            delivered=delivered,
            failed=failed,
            success_rate=rate,
            latency=_latency(cells),
            failures_by_reason=[
                FailureReason(reason=reason, count=count)
                for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            webhooks_disabled=sum(disabled.values()),
        )

    async def webhook_hourly(
        self, account_id: str, webhook_id: str, hours: int = DEFAULT_HOURLY_HOURS
    ) -> WebhookHourly:
        """Delivered and failed attempts per hour for the last `hours` hours (the current,
        partial hour last), zero-filled."""
        if not 1 <= hours <= MAX_HOURLY_HOURS:
            raise InvalidRequestError(f"hours must be 1-{MAX_HOURLY_HOURS}", field="hours")
        now = ms(self.clock.now())
        current = now // HOUR_MS
        first = current - hours + 1
        async with self.db.transaction() as conn:
            if await self.store.webhooks.get(conn, account_id, webhook_id) is None:
                raise NotFoundError(f"No webhook {webhook_id}")
            rows = await self.queries.hourly(conn, webhook_id, first * HOUR_MS)
        found = {hour: (ok, bad) for hour, ok, bad in rows}
        return WebhookHourly(
            webhook_id=webhook_id,
            buckets=[
                HourlyBucket(
                    hour=from_ms(hour * HOUR_MS),
                    delivered=found.get(hour, (0, 0))[0],
                    failed=found.get(hour, (0, 0))[1],
                )
                for hour in range(first, current + 1)
            ],
        )

    async def webhook_series(
        self, account_id: str, webhook_id: str, window: str = "24h"
    ) -> WebhookSeries:
        """The webhook's attempts over `window` in SERIES_BUCKET_S buckets aligned to the
        clock (the current, partial bucket last), zero-filled: per bucket the counts, the
        success rate and the latency percentiles (one histogram query)."""
        name = window_of(window)
        slot_ms = SERIES_BUCKET_S[name] * 1000
        count = STATS_WINDOWS_S[name] * 1000 // slot_ms
        current = ms(self.clock.now()) // slot_ms
        first = current - count + 1
        async with self.db.transaction() as conn:
            if await self.store.webhooks.get(conn, account_id, webhook_id) is None:
                raise NotFoundError(f"No webhook {webhook_id}")
            cells = await self.queries.series(conn, webhook_id, first * slot_ms, slot_ms)
        by_slot: dict[int, list[HistogramCell]] = defaultdict(list)
        for cell in cells:
            by_slot[cell.slot].append(_histogram_cell(cell))
        buckets = []
        for slot in range(first, current + 1):
            chosen = by_slot.get(slot, [])
            total, delivered, failed, rate = _counts(chosen)
            buckets.append(
                SeriesBucket(
                    start=from_ms(slot * slot_ms),
                    attempts=total,
                    delivered=delivered,
                    failed=failed,
                    success_rate=rate,
                    latency=_latency(chosen),
                )
            )
        return WebhookSeries(
            webhook_id=webhook_id,
            window=name,
            bucket_seconds=SERIES_BUCKET_S[name],
            buckets=buckets,
        )


def _histogram_cell(cell: SeriesCell) -> HistogramCell:
    return HistogramCell(
        cell.bucket, False, False, cell.delivered, cell.count, cell.min_ms, cell.max_ms
    )
