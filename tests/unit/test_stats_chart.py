"""The Stats page's chart geometry (stats_chart.py) and the health badge thresholds
(stats_view.health_of), from given buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from promptha_webhooks.dashboard.stats_chart import (
    HEIGHT,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    attempts_chart,
    latency_chart,
    nice_step,
)
from promptha_webhooks.dashboard.stats_view import Health, health_of
from promptha_webhooks.models import LatencyPercentiles, SeriesBucket

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NO_LATENCY = LatencyPercentiles(p50_ms=None, p95_ms=None, p99_ms=None)


def bucket(hour: int, delivered: int, failed: int, p50: float | None = None) -> SeriesBucket:
    attempts = delivered + failed
    latency = (
        LatencyPercentiles(p50_ms=p50, p95_ms=p50 * 2, p99_ms=p50 * 3)
        if p50 is not None
        else NO_LATENCY
    )
    return SeriesBucket(
        start=START + timedelta(hours=hour),
        attempts=attempts,
        delivered=delivered,
        failed=failed,
        success_rate=delivered / attempts if attempts else None,
        latency=latency,
    )


@pytest.mark.parametrize(
    ("peak", "step"),
    [(0, 1.0), (1, 0.5), (3, 1.0), (4, 1.0), (7, 2.0), (10, 5.0), (95, 50.0), (1234, 500.0)],
)
def test_nice_step_is_1_2_5(peak: float, step: float) -> None:
    assert nice_step(peak) == step


def test_attempts_chart_scales_bars_to_the_axis_and_says_what_each_bar_is() -> None:
    buckets = [bucket(0, 3, 1), bucket(1, 0, 0), bucket(2, 0, 2)]
    chart = attempts_chart(buckets, 3600)
    frame = chart.frame
    assert (frame.top, frame.bottom) == (MARGIN_TOP, HEIGHT - MARGIN_BOTTOM)
    assert [t.label for t in frame.y_ticks] == ["0", "1", "2", "3", "4"]
    assert frame.y_ticks[0].position == frame.bottom and frame.y_ticks[-1].position == frame.top
    assert frame.y_title == "Attempts (count)" and frame.x_title == "Time (UTC)"
    assert [t.label for t in frame.x_ticks] == ["12:00", "13:00", "14:00"]
    full, empty, failed = chart.bars
    plot = frame.bottom - frame.top
    assert full.failed_y == frame.top  # 4 attempts: the axis top
    assert full.delivered_height == pytest.approx(plot * 3 / 4, abs=0.01)
    assert full.failed_height == pytest.approx(plot / 4, abs=0.01)
    assert empty.delivered_height == empty.failed_height == 0
    assert failed.delivered_height == 0 and failed.failed_height == pytest.approx(plot / 2)
    assert full.tooltip == "12:00–13:00 UTC: 4 attempts, 3 delivered, 1 failed, 75.0 % success"
    assert empty.tooltip.endswith("0 attempts, 0 delivered, 0 failed, — success")
    assert frame.summary == "Attempts per hour: 3 delivered, 3 failed"
    assert full.x < empty.x < failed.x


def test_an_empty_window_draws_an_empty_frame() -> None:
    chart = attempts_chart([bucket(0, 0, 0)], 300)
    assert chart.frame.summary == "No attempts in this window"
    assert [t.label for t in chart.frame.y_ticks] == ["0", "1"]
    latency = latency_chart([bucket(0, 0, 0)], 300)
    assert all(line.points == () for line in latency.lines)


def test_latency_chart_has_a_point_per_measured_bucket_in_ms() -> None:
    buckets = [bucket(0, 1, 0, p50=10.0), bucket(1, 0, 0), bucket(2, 1, 0, p50=20.0)]
    chart = latency_chart(buckets, 6 * 3600)
    assert chart.frame.y_title == "Latency (ms)"
    assert chart.frame.y_ticks[-1].label == "60 ms"  # p99 of the last bucket: 60 ms
    p50, p95, p99 = chart.lines
    assert [line.name for line in chart.lines] == ["p50", "p95", "p99"]
    assert len(p50.points) == 2 and p99.points[1].y == chart.frame.top
    assert p95.points[0].tooltip == "Mon 02 Mar 12:00–18:00 UTC: p95 20 ms"
    assert chart.frame.x_ticks[0].label == "Mon 02"
    assert p50.path.count(",") == 2


@pytest.mark.parametrize(
    ("rate", "health"),
    [
        (None, Health.NO_TRAFFIC),
        (0.0, Health.FAILING),
        (0.0001, Health.DEGRADED),
        (0.6, Health.DEGRADED),
        (0.9899, Health.DEGRADED),
        (0.99, Health.HEALTHY),
        (1.0, Health.HEALTHY),
    ],
)
def test_health_is_never_green_for_zero(rate: float | None, health: Health) -> None:
    assert health_of(rate) is health
    if rate == 0.0:
        assert health.css == "failing" and health.label == "Failing"
