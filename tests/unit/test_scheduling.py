"""`deliverAt` as scheduling.py reads it: RFC 3339 with an offset, at most 30 days ahead, a
past time due at once; anything else a 400 naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.scheduling import MAX_SCHEDULE_AHEAD_S, deliver_at_ms, due_at_ms

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC).timestamp()
NOW_MS = int(NOW * 1000)


@pytest.mark.parametrize(
    ("text", "expected_ms"),
    [
        ("2026-12-06T13:00:00Z", NOW_MS + 3_600_000),
        ("2026-12-06t13:00:00z", NOW_MS + 3_600_000),
        ("2026-12-06T14:00:00+01:00", NOW_MS + 3_600_000),
        ("2026-12-06T08:00:00-05:00", NOW_MS + 3_600_000),
        ("2026-12-06T13:00:00.25Z", NOW_MS + 3_600_250),
        ("2026-12-06T13:00:00.123456789Z", NOW_MS + 3_600_123),  # nanoseconds: to the ms
        ("2020-01-01T00:00:00Z", int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1000)),
    ],
)
def test_valid_times(text: str, expected_ms: int) -> None:
    assert deliver_at_ms(text, NOW) == expected_ms


def test_absent_past_and_limit() -> None:
    assert deliver_at_ms(None, NOW) is None
    assert due_at_ms(None, NOW) is None
    past = deliver_at_ms("2020-01-01T00:00:00Z", NOW)
    assert due_at_ms(past, NOW) == NOW_MS  # due at once
    assert due_at_ms(NOW_MS + 5, NOW) == NOW_MS + 5
    limit = datetime.fromtimestamp(NOW + MAX_SCHEDULE_AHEAD_S, tz=UTC)
    assert deliver_at_ms(limit.isoformat(), NOW) == NOW_MS + MAX_SCHEDULE_AHEAD_S * 1000


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-06T13:00:00",  # no offset
        "2026-12-06",
        "2026-12-06 13:00:00Z",  # RFC 3339 allows a space; this API asks for the T
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-12-06T24:00:00Z",
        "2026-12-06T13:00:00+24:00",
        "2026-12-06T13:00:00Z ",
        "\uff12\uff10\uff12\uff16-12-06T13:00:00Z",  # fullwidth digits are not ASCII digits
        "\ud800",
        "x" * 10_000,
        "",
        "2027-01-06T12:00:01Z",  # 31 days ahead
        "9999-12-31T23:59:59Z",
        1_767_000_000,
        1.5,
        True,
        {"at": "2026-12-06T13:00:00Z"},
        ["2026-12-06T13:00:00Z"],
    ],
)
def test_refused(value: Any) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        deliver_at_ms(value, NOW)
    assert raised.value.field == "deliverAt"
