"""Statistics as the dashboard shows them: the one place that asks the services for figures.

The figures (24 h success rates, hourly delivered/failed buckets, attempt-duration percentiles,
failures by reason) come from the statistics service (`services.stats`,
services/monitoring.py), the same one behind `GET /v1/stats` and `GET /v1/webhooks/{id}/stats`;
they count attempts.

`hourly_chart` is pure: it turns hourly buckets into the geometry of the SVG bar chart that
the `hourly_chart` macro of templates/_macros.html draws; the Stats page's charts come from
stats_chart.py. `health_of` turns a 24 h success rate into the badge an enabled endpoint wears
(never green for 0 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from promptha_webhooks.dashboard.stats_chart import (
    AttemptsChart,
    LatencyChart,
    attempts_chart,
    latency_chart,
)
from promptha_webhooks.models import SeriesBucket, StatsWindow, Webhook, WindowStats
from promptha_webhooks.services import Services

CHART_WIDTH = 120
CHART_HEIGHT = 28
CHART_GAP = 1
MONITORED_WEBHOOKS = 100  # webhooks whose hourly buckets the Monitoring chart adds up
HEALTHY_RATE = 0.99  # a 24 h success rate from here up is green
STATS_WINDOW_CHOICES: tuple[tuple[StatsWindow, str], ...] = (
    ("1h", "1 hour"),
    ("24h", "24 hours"),
    ("7d", "7 days"),
)
DEFAULT_STATS_WINDOW: StatsWindow = "24h"


class Health(Enum):
    """An enabled endpoint's badge from its 24 h success rate: (css class, label). Never
    green unless nearly every attempt succeeded; 0 % is red."""

    HEALTHY = ("healthy", "Healthy")
    DEGRADED = ("degraded", "Degraded")
    FAILING = ("failing", "Failing")
    NO_TRAFFIC = ("no-traffic", "No traffic")

    @property
    def css(self) -> str:
        return self.value[0]

    @property
    def label(self) -> str:
        return self.value[1]


def health_of(success_rate: float | None) -> Health:
    """None (nothing attempted) → no traffic; 0 → failing; below HEALTHY_RATE → degraded."""
    if success_rate is None:
        return Health.NO_TRAFFIC
    if success_rate <= 0:
        return Health.FAILING
    if success_rate < HEALTHY_RATE:
        return Health.DEGRADED
    return Health.HEALTHY


@dataclass(frozen=True, slots=True)
class HourlyBucket:
    """Deliveries finished in one hour: how many were delivered, how many failed."""

    start: datetime
    delivered: int
    failed: int


@dataclass(frozen=True, slots=True)
class WebhookStats:
    """What the webhook list shows for one endpoint."""

    available: bool = False
    success_rate_24h: float | None = None  # 0.0-1.0; None when nothing was attempted
    hourly: Sequence[HourlyBucket] = ()

    @property
    def health(self) -> Health:
        return health_of(self.success_rate_24h)


@dataclass(frozen=True, slots=True)
class FailureReason:
    reason: str  # e.g. "HTTP 500", "timeout", "connection refused"
    count: int


@dataclass(frozen=True, slots=True)
class AccountMonitoring:
    """What the Monitoring page shows for the signed-in account."""

    available: bool = False
    success_rate_24h: float | None = None
    attempts_24h: int | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    failures_by_reason: Sequence[FailureReason] = ()
    hourly: Sequence[HourlyBucket] = ()


async def webhook_stats(
    services: Services, account_id: str, webhooks: Sequence[Webhook]
) -> dict[str, WebhookStats]:
    """Each listed webhook's last 24 hours (one hourly query per webhook; the 24 h success
    rate is the buckets' sum, the same attempts `GET /v1/webhooks/{id}/stats` counts)."""
    stats: dict[str, WebhookStats] = {}
    for webhook in webhooks:
        buckets = await _hourly(services, account_id, webhook.id)
        stats[webhook.id] = WebhookStats(True, _success_rate(buckets), buckets)
    return stats


@dataclass(frozen=True, slots=True)
class WebhookStatsPage:
    """What a webhook's Stats page shows for the chosen window: its figures (success rate,
    attempts, latency percentiles), the health badge (always from 24 h, as in the list),
    and the two charts with the buckets they draw (also shown as a table)."""

    window: StatsWindow
    figures: WindowStats
    health: Health
    bucket_seconds: int
    attempts: AttemptsChart
    latency: LatencyChart
    buckets: Sequence[SeriesBucket]


def stats_window(value: str | None) -> StatsWindow | None:
    """The `?window=` of the Stats page: one of STATS_WINDOW_CHOICES, else None."""
    for name, _label in STATS_WINDOW_CHOICES:
        if value == name:
            return name
    return None


async def webhook_stats_page(
    services: Services, account_id: str, webhook_id: str, window: StatsWindow
) -> WebhookStatsPage:
    """The webhook's windows (`GET /v1/webhooks/{id}/stats`) and the chosen one's series
    (`GET /v1/webhooks/{id}/stats/series?window=…`)."""
    stats = await services.stats.webhook_stats(account_id, webhook_id)
    series = await services.stats.webhook_series(account_id, webhook_id, window)
    by_name = {w.window: w for w in stats.windows}
    return WebhookStatsPage(
        window=window,
        figures=by_name[window],
        health=health_of(by_name["24h"].success_rate),
        bucket_seconds=series.bucket_seconds,
        attempts=attempts_chart(series.buckets, series.bucket_seconds),
        latency=latency_chart(series.buckets, series.bucket_seconds),
        buckets=series.buckets,
    )


async def webhook_health(services: Services, account_id: str, webhook_id: str) -> Health:
    """The detail page's badge: the webhook's 24 h success rate."""
    stats = await services.stats.webhook_stats(account_id, webhook_id)
    day = next(w for w in stats.windows if w.window == "24h")
    return health_of(day.success_rate)


async def account_monitoring(services: Services, account_id: str) -> AccountMonitoring:
    """The account's last 24 hours for the Monitoring page (`GET /v1/stats?window=24h`), and
    the hourly buckets of its first page of webhooks added up."""
    figures = await services.stats.account_stats(account_id, "24h")
    listing = await services.list_webhooks(account_id, MONITORED_WEBHOOKS, None)
    totals: dict[datetime, tuple[int, int]] = {}
    for webhook in listing.data:
        for bucket in await _hourly(services, account_id, webhook.id):
            delivered, failed = totals.get(bucket.start, (0, 0))
            totals[bucket.start] = (delivered + bucket.delivered, failed + bucket.failed)
    return AccountMonitoring(
        available=True,
        success_rate_24h=figures.success_rate,
        attempts_24h=figures.attempts,
        p50_ms=figures.latency.p50_ms,
        p95_ms=figures.latency.p95_ms,
        failures_by_reason=[FailureReason(f.reason, f.count) for f in figures.failures_by_reason],
        hourly=[HourlyBucket(start, d, f) for start, (d, f) in sorted(totals.items())],
    )


async def _hourly(services: Services, account_id: str, webhook_id: str) -> list[HourlyBucket]:
    hourly = await services.stats.webhook_hourly(account_id, webhook_id, 24)
    return [HourlyBucket(b.hour, b.delivered, b.failed) for b in hourly.buckets]


def _success_rate(buckets: Sequence[HourlyBucket]) -> float | None:
    delivered = sum(b.delivered for b in buckets)
    attempts = delivered + sum(b.failed for b in buckets)
    return delivered / attempts if attempts else None


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    width: float
    delivered_y: float
    delivered_height: float
    failed_y: float
    failed_height: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    delivered: int = 0
    failed: int = 0
    peak: int = 0

    @property
    def summary(self) -> str:
        """The chart in words (its accessible name)."""
        hours = len(self.bars)
        if not hours:
            return "No deliveries"
        return (
            f"Last {hours} hours: {self.delivered} delivered, {self.failed} failed "
            f"(busiest hour: {self.peak})"
        )


def hourly_chart(
    buckets: Sequence[HourlyBucket],
    *,
    width: int = CHART_WIDTH,
    height: int = CHART_HEIGHT,
    gap: float = CHART_GAP,
) -> Chart:
    """Stacked bars, one per bucket (oldest left): delivered at the bottom, failed on top,
    heights scaled to the busiest hour; an hour with any delivery is at least 1 unit tall."""
    if not buckets:
        return Chart(width, height)
    peak = max(b.delivered + b.failed for b in buckets)
    slot = width / len(buckets)
    bar_width = max(slot - gap, 0.5)
    bars: list[Bar] = []
    for index, bucket in enumerate(buckets):
        total = bucket.delivered + bucket.failed
        total_height = 0.0 if peak == 0 else max(height * total / peak, 1.0 if total else 0.0)
        failed_height = 0.0 if total == 0 else total_height * bucket.failed / total
        delivered_height = total_height - failed_height
        bars.append(
            Bar(
                x=round(index * slot, 2),
                width=round(bar_width, 2),
                delivered_y=round(height - delivered_height, 2),
                delivered_height=round(delivered_height, 2),
                failed_y=round(height - total_height, 2),
                failed_height=round(failed_height, 2),
                label=(
                    f"{bucket.start:%H:%M} UTC: {bucket.delivered} delivered, "
                    f"{bucket.failed} failed"
                ),
            )
        )
    return Chart(
        width,
        height,
        bars,
        delivered=sum(b.delivered for b in buckets),
        failed=sum(b.failed for b in buckets),
        peak=peak,
    )


def percent(rate: float | None) -> str:
    """0.9876 → "98.8 %"; None → "—"."""
    if rate is None:
        return "—"
    return f"{rate * 100:.1f} %"
