"""The geometry of the webhook Stats page's two charts, drawn server-side as inline SVG by the
`series_chart_svg` macro (templates/_stats_chart.html): attempts per bucket as stacked bars
(delivered below, failed on top; unit: count) and latency p50/p95/p99 per bucket as lines
(unit: ms). Pure: buckets in, coordinates, axis ticks and tooltip texts out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from promptha_webhooks.models import SeriesBucket

WIDTH = 640
HEIGHT = 220
MARGIN_LEFT = 56  # room for the y tick labels
MARGIN_RIGHT = 12
MARGIN_TOP = 12
MARGIN_BOTTOM = 40  # room for the x tick labels and the axis title
BAR_GAP = 2
Y_TICKS = 4  # about this many steps up the y axis
X_LABELS = 6  # about this many time labels along the x axis
PERCENTILES = (("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"))


@dataclass(frozen=True, slots=True)
class Tick:
    position: float  # x or y in the SVG
    label: str


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    width: float
    delivered_y: float
    delivered_height: float
    failed_y: float
    failed_height: float
    tooltip: str


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    tooltip: str


@dataclass(frozen=True, slots=True)
class Line:
    name: str  # p50, p95, p99
    points: tuple[Point, ...]

    @property
    def path(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)


@dataclass(frozen=True, slots=True)
class Frame:
    """What both charts share: the plot area, the time axis and the value axis."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    x_title: str
    y_title: str
    summary: str  # the chart in words (its accessible name)


@dataclass(frozen=True, slots=True)
class AttemptsChart:
    frame: Frame
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class LatencyChart:
    frame: Frame
    lines: tuple[Line, ...]


def nice_step(peak: float, steps: int = Y_TICKS) -> float:
    """The 1-2-5 step that reaches `peak` in about `steps` steps (1 for an empty axis)."""
    if peak <= 0:
        return 1.0
    raw = peak / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return float(factor * magnitude)
    return float(10 * magnitude)  # pragma: no cover - the loop always returns


def _value_axis(peak: float, *, integer: bool) -> tuple[float, list[float]]:
    step = nice_step(peak)
    if integer:
        step = max(step, 1.0)
    steps = max(math.ceil(peak / step), 1)
    return step * steps, [step * i for i in range(steps + 1)]


def _format(value: float, unit: str) -> str:
    text = f"{value:g}" if value < 10_000 else f"{value:,.0f}"
    return f"{text} {unit}" if unit else text


def bucket_label(bucket: SeriesBucket, bucket_seconds: int) -> str:
    end = bucket.start + timedelta(seconds=bucket_seconds)
    if bucket_seconds >= 3600 * 6:
        return f"{bucket.start:%a %d %b %H:%M}–{end:%H:%M} UTC"
    return f"{bucket.start:%H:%M}–{end:%H:%M} UTC"


def _time_format(bucket_seconds: int) -> str:
    return "%a %d" if bucket_seconds >= 3600 * 6 else "%H:%M"


def _frame(
    buckets: Sequence[SeriesBucket],
    bucket_seconds: int,
    y_values: list[float],
    unit: str,
    summary: str,
) -> Frame:
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    slot = (right - left) / max(len(buckets), 1)
    every = max(1, math.ceil(len(buckets) / X_LABELS))
    fmt = _time_format(bucket_seconds)
    x_ticks = tuple(
        Tick(round(left + index * slot, 2), f"{bucket.start:{fmt}}")
        for index, bucket in enumerate(buckets)
        if index % every == 0
    )
    peak = y_values[-1] if y_values else 1.0
    y_ticks = tuple(
        Tick(round(bottom - (bottom - top) * value / peak, 2), _format(value, unit))
        for value in y_values
    )
    return Frame(
        width=WIDTH,
        height=HEIGHT,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        x_title="Time (UTC)",
        y_title="Attempts (count)" if not unit else f"Latency ({unit})",
        summary=summary,
    )


def attempts_chart(buckets: Sequence[SeriesBucket], bucket_seconds: int) -> AttemptsChart:
    """Stacked bars, one per bucket (oldest left), scaled to the axis top."""
    peak = max((b.attempts for b in buckets), default=0)
    top_value, values = _value_axis(peak, integer=True)
    delivered = sum(b.delivered for b in buckets)
    failed = sum(b.failed for b in buckets)
    summary = (
        f"Attempts per {_duration(bucket_seconds)}: {delivered} delivered, {failed} failed"
        if delivered + failed
        else "No attempts in this window"
    )
    frame = _frame(buckets, bucket_seconds, values, "", summary)
    slot = (frame.right - frame.left) / max(len(buckets), 1)
    plot_height = frame.bottom - frame.top
    bars = []
    for index, bucket in enumerate(buckets):
        total_height = plot_height * bucket.attempts / top_value
        failed_height = total_height * bucket.failed / bucket.attempts if bucket.attempts else 0
        rate = "—" if bucket.success_rate is None else f"{bucket.success_rate * 100:.1f} %"
        bars.append(
            Bar(
                x=round(frame.left + index * slot + BAR_GAP / 2, 2),
                width=round(max(slot - BAR_GAP, 0.5), 2),
                delivered_y=round(frame.bottom - (total_height - failed_height), 2),
                delivered_height=round(total_height - failed_height, 2),
                failed_y=round(frame.bottom - total_height, 2),
                failed_height=round(failed_height, 2),
                tooltip=(
                    f"{bucket_label(bucket, bucket_seconds)}: {bucket.attempts} attempts, "
                    f"{bucket.delivered} delivered, {bucket.failed} failed, {rate} success"
                ),
            )
        )
    return AttemptsChart(frame, tuple(bars))


def latency_chart(buckets: Sequence[SeriesBucket], bucket_seconds: int) -> LatencyChart:
    """p50, p95 and p99 lines through the buckets that had attempts (at each bucket's
    middle); buckets without attempts have no point."""
    peak = max(
        (b.latency.p99_ms or b.latency.p95_ms or b.latency.p50_ms or 0.0 for b in buckets),
        default=0.0,
    )
    top_value, values = _value_axis(peak, integer=False)
    measured = [b for b in buckets if b.latency.p50_ms is not None]
    summary = (
        f"Attempt latency per {_duration(bucket_seconds)}: p50, p95 and p99 in milliseconds"
        if measured
        else "No attempts in this window"
    )
    frame = _frame(buckets, bucket_seconds, values, "ms", summary)
    slot = (frame.right - frame.left) / max(len(buckets), 1)
    plot_height = frame.bottom - frame.top
    lines = []
    for name, attribute in PERCENTILES:
        points = []
        for index, bucket in enumerate(buckets):
            value: float | None = getattr(bucket.latency, attribute)
            if value is None:
                continue
            points.append(
                Point(
                    x=round(frame.left + (index + 0.5) * slot, 2),
                    y=round(frame.bottom - plot_height * value / top_value, 2),
                    tooltip=f"{bucket_label(bucket, bucket_seconds)}: {name} {value:g} ms",
                )
            )
        lines.append(Line(name, tuple(points)))
    return LatencyChart(frame, tuple(lines))


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} hours"
    return f"{seconds // 60} minutes"
