"""Scheduled deliveries: reading a publish's `deliverAt` and which delivery states a cancel
may end.

`deliverAt` is an RFC 3339 date-time with an explicit offset (`Z` or `±hh:mm`), at most
MAX_SCHEDULE_AHEAD_S ahead of the publish. A time at or before the publish means at once
(the deliveries are due when stored, and the event's `deliverAt` is its publish time): a
clock a little behind the service's must not turn into a 400 (Svix delivers a past time at
once too).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from promptha_webhooks.clock import ms
from promptha_webhooks.errors import InvalidRequestError

MAX_SCHEDULE_AHEAD_S = 30 * 24 * 3600  # 30 days
# Longer than any RFC 3339 date-time with nanoseconds and an offset: read no further.
MAX_DELIVER_AT_LENGTH = 40
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)

# Delivery statuses. `cancelled` is final, like delivered/failed/skipped: a cancel ends only a
# pending delivery nobody holds (waiting for its deliverAt, for its first claim or for a retry),
# never one a worker holds under an unexpired lease (in flight: it may be on the wire).
CANCELLED = "cancelled"
CANCELLABLE = "pending"


def deliver_at_ms(value: Any, now_s: float, *, field: str = "deliverAt") -> int | None:
    """The publish's `deliverAt` as Unix ms, as asked (`due_at_ms` makes a past one now);
    None when absent. 400 for anything but an RFC 3339 date-time with an offset, or one more than 30
    days after `now_s`."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError("deliverAt must be an RFC 3339 date-time string", field=field)
    if len(value) > MAX_DELIVER_AT_LENGTH or not _RFC3339.fullmatch(value):
        raise InvalidRequestError(
            "deliverAt must be an RFC 3339 date-time with an offset, "
            "e.g. 2026-12-24T09:00:00Z or 2026-12-24T10:00:00+01:00",
            field=field,
        )
    try:
        # fractions beyond microseconds are dropped: datetime reads at most six digits
        text = re.sub(r"(\.\d{6})\d+", r"\1", value.upper())
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(
            f"deliverAt is not a valid date-time: {value}", field=field
        ) from None
    at_ms = ms(at.timestamp())
    if at_ms > ms(now_s + MAX_SCHEDULE_AHEAD_S):
        raise InvalidRequestError("deliverAt may be at most 30 days ahead", field=field)
    return at_ms


def due_at_ms(requested: int | None, now_s: float) -> int | None:
    """When the deliveries are due: the requested time, or the publish's own for a time
    already past (due at once, and shown as when it was due); None: at once, no deliverAt."""
    return None if requested is None else max(requested, ms(now_s))
