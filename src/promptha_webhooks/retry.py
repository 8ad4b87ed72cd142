"""Retry policy: classify HTTP outcomes, honour Retry-After, and walk the retry schedule.

Pure functions; the dispatcher owns the clock and the persistence of attempts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC
from email.utils import parsedate_to_datetime
from enum import StrEnum

__all__ = [
    "DEFAULT_RETRY_SCHEDULE_S",
    "Outcome",
    "classify_status",
    "next_delay",
    "parse_retry_after",
    "parse_schedule",
]

DEFAULT_RETRY_SCHEDULE_S: tuple[float, ...] = (0, 5, 30, 300, 1800, 7200)
"""Delay in seconds before attempt N (index N-1): immediately, 5 s, 30 s, 5 min, 30 min, 2 h."""

_RETRYABLE_4XX = frozenset({408, 425, 429})


class Outcome(StrEnum):
    """What a delivery attempt's HTTP status means for the delivery."""

    DELIVERED = "delivered"
    RETRY = "retry"
    PERMANENT = "permanent"


def classify_status(status: int) -> Outcome:
    """Map an HTTP status code to an :class:`Outcome`.

    2xx is delivered. 408, 425, 429 and every 1xx, 3xx and 5xx (redirects are not followed) are
    retried; every other 4xx is permanent. Codes outside 100-599 are treated as retryable.
    """
    if 200 <= status <= 299:
        return Outcome.DELIVERED
    if 400 <= status <= 499 and status not in _RETRYABLE_4XX:
        return Outcome.PERMANENT
    return Outcome.RETRY


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Parse a Retry-After header into seconds from ``now`` (Unix time); None if absent/invalid.

    Accepts delay-seconds (``"120"``) or an HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``);
    dates in the past give 0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" zone: HTTP-dates are always UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def next_delay(
    schedule: Sequence[float], attempts_made: int, retry_after: float | None = None
) -> float | None:
    """Seconds to wait before the next attempt, or None when the schedule is exhausted.

    ``attempts_made`` counts the attempts already made, so the next one is attempt
    ``attempts_made + 1`` with base delay ``schedule[attempts_made]``. A server's Retry-After is
    honoured when it is at most twice that base delay (sooner is allowed); a longer one is
    ignored so a receiver cannot park the delivery indefinitely.
    """
    if attempts_made < 0:
        raise ValueError(f"attempts_made must not be negative, got {attempts_made}")
    if attempts_made >= len(schedule):
        return None
    base = float(schedule[attempts_made])
    if retry_after is not None and retry_after <= 2 * base:
        return max(0.0, float(retry_after))
    return base


def parse_schedule(text: str) -> tuple[float, ...]:
    """Parse a comma-separated schedule such as ``"0,5,30,300,1800,7200"`` into seconds.

    Entry N is the delay before attempt N+1 (the first is the delay of the first attempt). Every
    entry must be a finite number >= 0 and there must be at least one entry.
    """
    if not text.strip():
        raise ValueError("retry schedule is empty: expected comma-separated seconds like '0,5,30'")
    delays: list[float] = []
    for position, raw in enumerate(text.split(","), start=1):
        item = raw.strip()
        if not item:
            raise ValueError(f"retry schedule entry {position} is empty in {text!r}")
        try:
            delay = float(item)
        except ValueError:
            raise ValueError(
                f"retry schedule entry {position} ({item!r}) is not a number of seconds"
            ) from None
        if not math.isfinite(delay):
            raise ValueError(f"retry schedule entry {position} ({item!r}) must be finite")
        if delay < 0:
            raise ValueError(f"retry schedule entry {position} ({item!r}) must be >= 0")
        delays.append(delay)
    return tuple(delays)
