"""pacing.py: rate slots and publish order (pure)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from promptha_webhooks.pacing import (
    NO_PACING,
    PACE_ORDER_PER_MS,
    RATE_HORIZON_MS,
    Ordering,
    PaceOrder,
    Pacing,
    is_paced,
    take_slots,
)


def test_an_idle_webhook_starts_now_and_spreads_a_burst() -> None:
    slots = take_slots(None, 1_000, 20, 100)
    assert slots.starts == [1_000, 1_050, 1_100, 1_150, 1_200, 1_250]
    assert slots.next_at == 1_300


def test_unused_time_is_not_saved_up() -> None:
    assert take_slots(500, 10_000, 20, 2).starts == [10_000, 10_050]


def test_a_schedule_ahead_of_now_goes_on_from_it_and_stops_at_the_horizon() -> None:
    assert take_slots(1_000 + RATE_HORIZON_MS + 1, 1_000, 20, 5).starts == []
    slots = take_slots(1_200, 1_000, 20, 5)
    assert slots.starts == [1_200, 1_250] and slots.next_at == 1_300


def test_nothing_wanted_keeps_the_schedule() -> None:
    assert take_slots(1_234, 1_000, 5, 0).next_at == 1_234
    assert take_slots(None, 1_000, 5, 0).next_at == 1_000


@given(
    rate=st.integers(1, 1000),
    claims=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 50)), max_size=40),
)
def test_no_second_holds_more_starts_than_the_rate(
    rate: int, claims: list[tuple[int, int]]
) -> None:
    """Whatever the claims' times and sizes, any window of one second holds at most `rate`
    starts (consecutive ones are 1000 / rate ms apart, give or take the rounding up to whole
    milliseconds, which never brings the rate-th next one inside the same second)."""
    now, next_at, starts = 0, None, []
    for step, wanted in claims:
        now += step
        slots = take_slots(next_at, now, rate, wanted)
        assert all(now <= start <= now + RATE_HORIZON_MS + 1 for start in slots.starts)
        starts += slots.starts
        next_at = slots.next_at
    for earlier, later in itertools.pairwise(starts):
        assert later - earlier > 1000 / rate - 1
    for index, start in enumerate(starts):
        assert sum(1 for s in starts[index:] if s < start + 1000) <= rate


def test_publish_order_is_strictly_increasing_within_a_millisecond() -> None:
    order = PaceOrder()
    values = [order.next(5) for _ in range(3)] + [order.next(6), order.next(4)]
    assert values == sorted(values) and len(set(values)) == 5
    assert values[0] == 5 * PACE_ORDER_PER_MS


def test_which_webhooks_are_paced() -> None:
    assert not NO_PACING.paced and not is_paced(None, "none")
    assert Pacing(rate_limit=3).paced and Pacing(ordering=Ordering.FIFO).paced
