"""When the client tries a request again, and how long it waits first (pure functions).

Only calls that are safe to repeat are retried after an answer or a broken connection: GET and
DELETE, and publishing under an Idempotency-Key. A connection that was never established is
retried for every call, since the request cannot have reached the API.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

__all__ = [
    "DEFAULT_INITIAL_DELAY_S",
    "DEFAULT_MAX_DELAY_S",
    "DEFAULT_MAX_RETRIES",
    "RETRYABLE_STATUSES",
    "RetryPolicy",
    "parse_retry_after",
]

DEFAULT_MAX_RETRIES = 3
DEFAULT_INITIAL_DELAY_S = 0.5
DEFAULT_MAX_DELAY_S = 8.0
# 429 never comes from this API, but a proxy in front of it may send one.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Up to `max_retries` more tries, `initial_delay_s` doubling up to `max_delay_s`, with
    jitter; a `Retry-After` answer is honoured up to `max_delay_s`."""

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay_s: float = DEFAULT_INITIAL_DELAY_S
    max_delay_s: float = DEFAULT_MAX_DELAY_S

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must not be negative, got {self.max_retries}")
        if not 0 <= self.initial_delay_s <= self.max_delay_s:
            raise ValueError("delays must satisfy 0 <= initial_delay_s <= max_delay_s")

    def delay_after_answer(
        self, attempt: int, status_code: int, retry_after: str | None, *, retry_safe: bool
    ) -> float | None:
        """Seconds to wait before trying again after attempt `attempt` (1-based) was answered
        with `status_code`, or None to give up."""
        if not retry_safe or status_code not in RETRYABLE_STATUSES:
            return None
        return self._delay(attempt, parse_retry_after(retry_after))

    def delay_after_failure(
        self, attempt: int, *, connected: bool, retry_safe: bool
    ) -> float | None:
        """Seconds to wait after attempt `attempt` got no answer, or None to give up.
        `connected` is False when the connection was never established."""
        if connected and not retry_safe:
            return None
        return self._delay(attempt, None)

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        if attempt > self.max_retries:
            return None
        backoff = min(self.max_delay_s, self.initial_delay_s * 2 ** (attempt - 1))
        delay = random.uniform(backoff / 2, backoff)  # jitter: clients do not retry in step
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_delay_s))
        return delay


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
