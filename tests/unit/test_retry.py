"""Retry policy: status classification, schedule progression, Retry-After and schedule parsing."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptha_webhooks.retry import (
    DEFAULT_RETRY_SCHEDULE_S,
    Outcome,
    classify_status,
    next_delay,
    parse_retry_after,
    parse_schedule,
)

# Wed, 21 Oct 2015 07:28:00 GMT
DATE_EPOCH = datetime(2015, 10, 21, 7, 28, tzinfo=UTC).timestamp()

# -- classify_status -------------------------------------------------------------------------


def test_outcome_values() -> None:
    assert [o.value for o in Outcome] == ["delivered", "retry", "permanent"]
    assert Outcome.DELIVERED == "delivered"
    assert str(Outcome.RETRY) == "retry"
    assert Outcome("permanent") is Outcome.PERMANENT


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, Outcome.DELIVERED),
        (201, Outcome.DELIVERED),
        (202, Outcome.DELIVERED),
        (204, Outcome.DELIVERED),
        (299, Outcome.DELIVERED),
        (100, Outcome.RETRY),
        (101, Outcome.RETRY),
        (103, Outcome.RETRY),
        (199, Outcome.RETRY),
        (300, Outcome.RETRY),
        (301, Outcome.RETRY),
        (302, Outcome.RETRY),
        (304, Outcome.RETRY),
        (307, Outcome.RETRY),
        (308, Outcome.RETRY),
        (399, Outcome.RETRY),
        (400, Outcome.PERMANENT),
        (401, Outcome.PERMANENT),
        (403, Outcome.PERMANENT),
        (404, Outcome.PERMANENT),
        (405, Outcome.PERMANENT),
        (407, Outcome.PERMANENT),
        (408, Outcome.RETRY),
        (409, Outcome.PERMANENT),
        (410, Outcome.PERMANENT),
        (413, Outcome.PERMANENT),
        (415, Outcome.PERMANENT),
        (422, Outcome.PERMANENT),
        (424, Outcome.PERMANENT),
        (425, Outcome.RETRY),
        (426, Outcome.PERMANENT),
        (428, Outcome.PERMANENT),
        (429, Outcome.RETRY),
        (430, Outcome.PERMANENT),
        (451, Outcome.PERMANENT),
        (499, Outcome.PERMANENT),
        (500, Outcome.RETRY),
        (501, Outcome.RETRY),
        (502, Outcome.RETRY),
        (503, Outcome.RETRY),
        (504, Outcome.RETRY),
        (599, Outcome.RETRY),
        # Not valid HTTP statuses: never give up permanently on them.
        (0, Outcome.RETRY),
        (99, Outcome.RETRY),
        (600, Outcome.RETRY),
        (999, Outcome.RETRY),
    ],
)
def test_classify_status_table(status: int, expected: Outcome) -> None:
    assert classify_status(status) is expected


def test_classify_every_status() -> None:
    counts = {outcome: 0 for outcome in Outcome}
    for status in range(100, 600):
        outcome = classify_status(status)
        counts[outcome] += 1
        if status // 100 == 2:
            assert outcome is Outcome.DELIVERED
        elif status // 100 == 4 and status not in (408, 425, 429):
            assert outcome is Outcome.PERMANENT
        else:
            assert outcome is Outcome.RETRY
    assert counts == {Outcome.DELIVERED: 100, Outcome.PERMANENT: 97, Outcome.RETRY: 303}


# -- next_delay ------------------------------------------------------------------------------


def test_default_schedule() -> None:
    assert DEFAULT_RETRY_SCHEDULE_S == (0, 5, 30, 300, 1800, 7200)
    assert sum(DEFAULT_RETRY_SCHEDULE_S) == 9335  # ~2.6 h from first to last attempt


def test_schedule_progression_over_six_attempts() -> None:
    schedule = DEFAULT_RETRY_SCHEDULE_S
    delays: list[float] = [schedule[0]]  # the first attempt is scheduled with schedule[0]
    attempts_made = 0
    while True:
        attempts_made += 1  # ... and it failed with a retryable status
        delay = next_delay(schedule, attempts_made)
        if delay is None:
            break
        delays.append(delay)
    assert attempts_made == 6
    assert delays == [0, 5, 30, 300, 1800, 7200]
    assert all(isinstance(d, float) for d in delays[1:])


@pytest.mark.parametrize(
    ("attempts_made", "expected"),
    [(0, 0.0), (1, 5.0), (2, 30.0), (3, 300.0), (4, 1800.0), (5, 7200.0), (6, None), (7, None)],
)
def test_next_delay_per_attempt(attempts_made: int, expected: float | None) -> None:
    assert next_delay(DEFAULT_RETRY_SCHEDULE_S, attempts_made) == expected


def test_next_delay_rejects_negative_attempts() -> None:
    with pytest.raises(ValueError, match="attempts_made"):
        next_delay(DEFAULT_RETRY_SCHEDULE_S, -1)


def test_single_entry_schedule_means_no_retries() -> None:
    assert next_delay((0.0,), 1) is None
    assert next_delay((), 0) is None


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (None, 30.0),
        (60.0, 60.0),  # exactly 2x the base: honoured
        (60.5, 30.0),  # over 2x: ignored
        (3600.0, 30.0),
        (math.inf, 30.0),
        (math.nan, 30.0),
        (30.0, 30.0),
        (10.0, 10.0),  # sooner than the base: honoured
        (0.0, 0.0),
        (-5.0, 0.0),
    ],
)
def test_next_delay_with_retry_after(retry_after: float | None, expected: float) -> None:
    # attempts_made=2 -> base delay before attempt 3 is 30 s
    assert next_delay(DEFAULT_RETRY_SCHEDULE_S, 2, retry_after) == expected


def test_retry_after_never_extends_an_exhausted_schedule() -> None:
    assert next_delay(DEFAULT_RETRY_SCHEDULE_S, 6, 1.0) is None


def test_retry_after_with_zero_base_must_be_zero() -> None:
    assert next_delay((0, 0, 5), 1, 1.0) == 0.0
    assert next_delay((0, 0, 5), 1, 0.0) == 0.0


@settings(max_examples=300)
@given(
    schedule=st.lists(st.floats(0, 1e6), min_size=1, max_size=10),
    attempts_made=st.integers(0, 12),
    retry_after=st.none() | st.floats(0, 1e7),
)
def test_next_delay_bounds(
    schedule: list[float], attempts_made: int, retry_after: float | None
) -> None:
    delay = next_delay(schedule, attempts_made, retry_after)
    if attempts_made >= len(schedule):
        assert delay is None
    else:
        assert delay is not None
        assert 0 <= delay <= 2 * schedule[attempts_made]


# -- parse_retry_after -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("0", 0.0),
        ("120", 120.0),
        (" 120 ", 120.0),
        ("007", 7.0),
        ("86400", 86400.0),
        ("-5", None),
        ("+5", None),
        ("1.5", None),
        ("1e3", None),
        ("5 s", None),
        ("\u0661\u0662", None),  # Arabic-Indic digits are not delay-seconds
        ("9" * 400, None),  # overflows a float
        ("garbage", None),
        ("Wed", None),
        ("Wed, 21 Oct 99999 07:28:00 GMT", None),
        ("Wed, 32 Oct 2015 07:28:00 GMT", None),
    ],
)
def test_parse_retry_after_values(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=DATE_EPOCH) == expected


def test_parse_retry_after_long_number() -> None:
    assert parse_retry_after("9" * 300, now=0) == float("9" * 300)


@pytest.mark.parametrize(
    "value",
    [
        "Wed, 21 Oct 2015 07:28:00 GMT",  # IMF-fixdate
        "Wednesday, 21-Oct-15 07:28:00 GMT",  # obsolete RFC 850
        "Wed Oct 21 07:28:00 2015",  # obsolete asctime
        "Wed, 21 Oct 2015 07:28:00 -0000",  # naive: taken as UTC
        "Wed, 21 Oct 2015 09:28:00 +0200",
    ],
)
def test_parse_retry_after_http_dates(value: str) -> None:
    assert parse_retry_after(value, now=DATE_EPOCH - 90) == 90.0
    assert parse_retry_after(value, now=DATE_EPOCH - 0.5) == 0.5
    assert parse_retry_after(value, now=DATE_EPOCH) == 0.0
    assert parse_retry_after(value, now=DATE_EPOCH + 3600) == 0.0  # past dates clamp to 0


def test_parse_retry_after_round_trips_format_datetime() -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    header = format_datetime(when, usegmt=True)
    assert parse_retry_after(header, now=when.timestamp() - 42) == 42.0


@settings(max_examples=300)
@given(st.text(max_size=40), st.floats(0, 4e9))
def test_parse_retry_after_never_raises(value: str, now: float) -> None:
    result = parse_retry_after(value, now)
    assert result is None or (math.isfinite(result) and result >= 0)


# -- parse_schedule --------------------------------------------------------------------------


def test_parse_default_schedule() -> None:
    assert parse_schedule("0,5,30,300,1800,7200") == DEFAULT_RETRY_SCHEDULE_S
    assert all(isinstance(x, float) for x in parse_schedule("0,5"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", (5.0,)),
        ("0", (0.0,)),
        (" 0 , 0.5 ,\t2.25 ", (0.0, 0.5, 2.25)),
        ("1e3,0", (1000.0, 0.0)),
        ("10,5,1", (10.0, 5.0, 1.0)),  # non-monotonic is allowed
    ],
)
def test_parse_schedule_valid(text: str, expected: tuple[float, ...]) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (",", "entry 1 is empty"),
        ("0,,5", "entry 2 is empty"),
        ("0,5,", "entry 3 is empty"),
        ("0;5", "entry 1 .'0;5'. is not a number"),
        ("0,five", "entry 2 .'five'. is not a number"),
        ("0,-1", "entry 2 .'-1'. must be >= 0"),
        ("nan", "must be finite"),
        ("0,inf", "must be finite"),
        ("1e400", "must be finite"),
    ],
)
def test_parse_schedule_errors(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_schedule(text)
