"""Statistics as the dashboard shows them: the one place that asks the services for figures.

The figures themselves (24 h success rates, hourly delivered/failed buckets, attempt-duration
percentiles, failures by reason) come from the statistics service of issue 6. Until it is
merged, `webhook_stats` and `account_monitoring` return "no figures yet" (`available=False`)
and the pages show an empty state; wiring means replacing the bodies of those two functions
with calls to the services, nothing else (see docs/dashboard.md).

`hourly_chart` is pure: it turns hourly buckets into the geometry of the SVG bar chart that
the `hourly_chart` macro of templates/_macros.html draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from promptha_webhooks.models import Webhook
from promptha_webhooks.services import Services

CHART_WIDTH = 120
CHART_HEIGHT = 28
CHART_GAP = 1


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
    """Stats of each listed webhook, by id (issue 6 wires the statistics service in here)."""
    del services, account_id  # used once the statistics service exists
    return {webhook.id: WebhookStats() for webhook in webhooks}


async def account_monitoring(services: Services, account_id: str) -> AccountMonitoring:
    """The account's figures for the Monitoring page (issue 6 wires them in here)."""
    del services, account_id
    return AccountMonitoring()


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
