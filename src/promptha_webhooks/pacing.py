"""A webhook's pacing: its rate limit (deliveries started per second) and its ordering, and the
pure arithmetic of rate slots that `store/dispatch_statements.claim_paced` applies under the
webhook's row lock, so every worker process shares one schedule per webhook."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "MAX_RATE_LIMIT",
    "NO_PACING",
    "PACE_ORDER_PER_MS",
    "RATE_HORIZON_MS",
    "Ordering",
    "PaceOrder",
    "Pacing",
    "Slots",
    "is_paced",
    "take_slots",
]

# rateLimit: deliveries started per second, 1..MAX_RATE_LIMIT; None (the default): no limit.
MAX_RATE_LIMIT = 1000
# A claim takes the rate slots starting within this many ms of now; the worker waits for each
# slot's time before sending. Small: a slot taken and then lost with a killed worker leaves a
# gap of at most this much in the webhook's schedule.
RATE_HORIZON_MS = 250
# pace_order = publish time in ms × PACE_ORDER_PER_MS + a counter (PaceOrder): strictly
# increasing in one process, ordered by millisecond across processes.
PACE_ORDER_PER_MS = 4096


class Ordering(StrEnum):
    """`ordering` of a webhook (default `none`)."""

    NONE = "none"  # deliveries start as soon as they are due, up to maxConcurrency at once
    FIFO = "fifo"  # one at a time, in publish order; the next after the previous has ended


def is_paced(rate_limit: int | None, ordering: str) -> bool:
    """Whether a webhook's deliveries go through the paced claim."""
    return rate_limit is not None or ordering == Ordering.FIFO


@dataclass(frozen=True, slots=True)
class Pacing:
    """A webhook's pacing settings, as created (validated: services/validation.py)."""

    rate_limit: int | None = None  # deliveries started per second; None: no limit
    ordering: Ordering = Ordering.NONE

    @property
    def paced(self) -> bool:
        return is_paced(self.rate_limit, self.ordering)


NO_PACING = Pacing()


@dataclass(frozen=True, slots=True)
class Slots:
    """Rate slots taken by one claim: each delivery's start time (ms), and where the webhook's
    schedule goes on from."""

    starts: list[int]
    next_at: int


def take_slots(next_at: int | None, now: int, rate_limit: int, wanted: int) -> Slots:
    """Up to `wanted` slots of a webhook limited to `rate_limit` per second, each 1000 /
    `rate_limit` ms after the last, the first no earlier than `now` nor `next_at` (the
    webhook's next free slot), all starting within RATE_HORIZON_MS of `now`. Unused time is not
    saved up: an idle webhook starts again from `now`, so a burst is spread, never sent at
    once (no more than `rate_limit` starts in any second)."""
    interval = 1000 / rate_limit
    start = float(now if next_at is None else max(next_at, now))
    starts: list[int] = []
    while len(starts) < wanted and start <= now + RATE_HORIZON_MS:
        # Rounded up: whole milliseconds never bring two slots closer than the interval.
        starts.append(math.ceil(start))
        start += interval
    return Slots(starts, math.ceil(start) if starts else (next_at or now))


class PaceOrder:
    """Publish order for a paced webhook's deliveries: strictly increasing values (one
    instance per process, held by the publisher)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self, now_ms: int) -> int:
        value = max(self._last + 1, now_ms * PACE_ORDER_PER_MS)
        self._last = value
        return value
