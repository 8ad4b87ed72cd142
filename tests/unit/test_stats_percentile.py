"""Percentiles from the latency histogram (stats.percentile), against exact quantiles."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from promptha_webhooks.services.monitoring import percentile
from promptha_webhooks.store.stats import LATENCY_EDGES_MS, HistogramCell


def cells_of(durations: list[float]) -> list[HistogramCell]:
    grouped: dict[int, list[float]] = {}
    for d in durations:
        bucket = next((i for i, edge in enumerate(LATENCY_EDGES_MS) if d < edge), None)
        grouped.setdefault(len(LATENCY_EDGES_MS) if bucket is None else bucket, []).append(d)
    return [
        HistogramCell(b, False, False, True, len(v), min(v), max(v)) for b, v in grouped.items()
    ]


def test_empty_is_none() -> None:
    assert percentile([], 0.5) is None


def test_single_value_is_exact() -> None:
    assert percentile(cells_of([42.0] * 7), 0.5) == 42.0
    assert percentile(cells_of([42.0] * 7), 0.99) == 42.0


def test_cells_of_one_bucket_merge() -> None:
    cells = [
        HistogramCell(3, True, True, True, 1, 4.0, 4.0),
        HistogramCell(3, False, True, False, 1, 3.0, 3.0),
    ]
    assert percentile(cells, 1.0) == 4.0
    assert percentile(cells, 0.5) == 3.5


def test_close_to_exact_quantiles_on_a_realistic_spread() -> None:
    rng = random.Random(7)
    durations = [rng.lognormvariate(4, 1) for _ in range(5000)]  # median ≈ 55 ms
    exact = sorted(durations)
    for q in (0.5, 0.95, 0.99):
        estimate = percentile(cells_of(durations), q)
        assert estimate is not None
        true = exact[int(q * len(exact)) - 1]
        assert abs(estimate - true) / true < 0.15, (q, estimate, true)


@given(st.lists(st.floats(min_value=0, max_value=100_000), min_size=1, max_size=200))
def test_within_observed_range_and_monotonic(durations: list[float]) -> None:
    cells = cells_of(durations)
    values = [percentile(cells, q) for q in (0.01, 0.5, 0.95, 0.99, 1.0)]
    assert all(v is not None for v in values)
    lo, hi = round(min(durations), 3), round(max(durations), 3)
    assert all(lo - 0.001 <= v <= hi + 0.001 for v in values if v is not None)
    assert values == sorted(values)  # type: ignore[type-var]
