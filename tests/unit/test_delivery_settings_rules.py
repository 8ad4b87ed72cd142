"""A webhook's delivery settings: the rules (delivery_settings.py), the codec that seals and
opens the headers (store/webhook_secrets.py), and the attempt stage that sends them, masks
them in the log, walks the webhook's schedule and passes its timeout to the transport."""

from __future__ import annotations

import dataclasses

import orjson
import pytest
from test_attempt import SCHEDULED, FakeTransport, answer, context, delivery

from promptha_webhooks.config import Settings
from promptha_webhooks.delivery.attempt import attempt
from promptha_webhooks.delivery.transport import AiohttpTransport, OutboundRequest
from promptha_webhooks.delivery_settings import (
    DEFAULT_DELIVERY_SETTINGS,
    HEADER_VALUE_MASK,
    DeliveryOptions,
    DeliverySettings,
    check_headers,
    check_retry_schedule,
    check_timeout,
    format_delays,
    full_schedule,
    parse_delays,
    parse_header_lines,
)
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.secret_box import KeyRing, generate_key_entry
from promptha_webhooks.store.webhook_secrets import SecretCodec

from support import TEST_KEY_ID, TEST_KEY_RING


@pytest.mark.parametrize(
    "name",
    [
        "x-promptha-signature",
        "X-Promptha-Anything",
        "webhook-id",
        "Webhook-Signature",
        "content-type",
        "Content-Length",
        "content-encoding",
        "Host",
        "user-agent",
        "Connection",
        "keep-alive",
        "Transfer-Encoding",
        "TE",
        "trailer",
        "Upgrade",
        "Proxy-Authorization",
        "proxy-connection",
        "Expect",
    ],
)
def test_names_of_ours_and_hop_by_hop_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        check_headers({name: "v"})
    assert refused.value.field == f"headers.{name}"


@pytest.mark.parametrize(
    "headers",
    [
        {"": "v"},
        {"X A": "v"},
        {"X:A": "v"},
        {"X\x00": "v"},
        {"Xé": "v"},
        {"X" * 65: "v"},
        {"X-A": ""},
        {"X-A": " leading"},
        {"X-A": "trailing "},
        {"X-A": "a\rb"},
        {"X-A": "a\nb"},
        {"X-A": "a\x00b"},
        {"X-A": "a\x7fb"},
        {"X-A": "é"},
        {"X-A": "v" * 1025},
        {"X-A": "1", "x-a": "2"},
        {f"X-{i}": "v" for i in range(21)},
    ],
)
def test_bad_names_and_values_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        check_headers(headers)
    assert (refused.value.field or "").startswith("headers")


def test_good_headers_keep_their_spelling() -> None:
    good = {"X-Api-Key": "a b\tc", "Authorization": "Bearer t", "x_custom~!": "v" * 1024}
    assert check_headers(good) == good
    assert check_headers(None) == {}
    assert check_headers({f"X-{i}": "v" for i in range(20)})


@pytest.mark.parametrize(
    "schedule",
    [[1] * 10, [-1], [float("nan")], [float("inf")], [259_200, 0.5], ["5"], [True], 5, "5,30"],
)
def test_bad_schedules_are_refused(schedule: object) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        check_retry_schedule(schedule)
    assert refused.value.field == "retrySchedule"


def test_schedules_in_bounds() -> None:
    assert check_retry_schedule(None) is None
    assert check_retry_schedule([]) == []
    assert check_retry_schedule([0, 0.5, 259_199.5]) == [0, 0.5, 259_199.5]
    assert check_retry_schedule([28_800] * 9) == [28_800] * 9
    assert full_schedule([5, 30]) == (0.0, 5.0, 30.0)


@pytest.mark.parametrize("timeout", [0, 31, -1, 1.5, "5", True, 10**30])
def test_bad_timeouts_are_refused(timeout: object) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        check_timeout(timeout)
    assert refused.value.field == "timeoutSeconds"


def test_timeouts_in_bounds_and_options_checked_together() -> None:
    assert [check_timeout(v) for v in (None, 1, 30)] == [None, 1, 30]
    checked = DeliveryOptions({"X-A": "1"}, (5, 30), 7).checked()
    assert checked == DeliveryOptions({"X-A": "1"}, [5, 30], 7)
    with pytest.raises(InvalidRequestError):
        DeliveryOptions(None, None, 0).checked()


def test_delays_as_people_type_them_round_trip() -> None:
    assert parse_delays("") is None
    assert parse_delays(" none ") == []
    assert parse_delays("5s, 30s, 5m, 2h, 1d, 7, 0.25s") == [5, 30, 300, 7200, 86400, 7, 0.25]
    assert parse_delays("5s 30s") == [5, 30]
    for text in ("5x", "-5s", "1e400", "9" * 20, "5 s s"):
        with pytest.raises(InvalidRequestError):
            parse_delays(text)
    for delays in ([], [5, 30, 300, 7200, 86400], [0.3, 0.000001, 90, 3601]):
        assert parse_delays(format_delays(delays) or "none") == delays
    assert format_delays(None) == ""
    assert format_delays([5, 300, 7200]) == "5s, 5m, 2h"


def test_header_lines() -> None:
    assert parse_header_lines("X-A: 1\n\n  X-B:two words \n") == {"X-A": "1", "X-B": "two words"}
    assert parse_header_lines("") == {}
    with pytest.raises(InvalidRequestError) as refused:
        parse_header_lines("no colon")
    assert refused.value.field == "headers"


def test_the_codec_seals_opens_and_caches() -> None:
    codec = SecretCodec(TEST_KEY_RING)
    sealed = codec.headers_column("wh_1", {"X-Api-Key": "secret-value"})
    assert sealed is not None and sealed.startswith(f"v1:{TEST_KEY_ID}:")
    assert "secret-value" not in sealed
    assert codec.headers_column("wh_1", {}) is None
    opened = codec.delivery_settings("wh_1", (sealed, "[5,30]", 7, None, "http", None))
    assert opened == DeliverySettings((("X-Api-Key", "secret-value"),), (0.0, 5.0, 30.0), 7.0)
    again_opened = codec.delivery_settings("wh_1", (sealed, "[5,30]", 7, None, "http", None))
    assert again_opened is opened  # cached
    assert (
        codec.delivery_settings("wh_1", (None, None, None, None, "http", None))
        is DEFAULT_DELIVERY_SETTINGS
    )
    # bound to its row: another webhook's copy does not open
    moved = codec.delivery_settings("wh_2", (sealed, None, None, None, "http", None))
    assert moved.unreadable and moved.headers == ()
    # another key ring: unreadable, never garbage
    other = SecretCodec(KeyRing.parse(generate_key_entry("k9")))
    lost = other.delivery_settings("wh_1", (sealed, None, None, None, "http", None))
    assert lost.unreadable and lost.headers == ()
    assert codec.resealed_headers("wh_1", None) is None
    again = codec.resealed_headers("wh_1", sealed)
    assert again != sealed and codec.delivery_settings(
        "wh_1", (again, None, None, None, "http", None)
    ).headers == (("X-Api-Key", "secret-value"),)


async def test_the_attempt_sends_the_headers_and_logs_them_masked() -> None:
    transport = FakeTransport(answer(200))
    settings = DeliverySettings((("X-Api-Key", "k-1"), ("Authorization", "Bearer t")), None, 5.0)
    claimed = dataclasses.replace(delivery(), settings=settings)
    outcome = await attempt(context(transport), claimed, SCHEDULED)
    [sent] = transport.sent
    assert sent.headers["X-Api-Key"] == "k-1" and sent.headers["Authorization"] == "Bearer t"
    assert sent.headers["x-promptha-signature"]
    assert sent.timeout_s == 5.0
    assert outcome.attempt is not None
    logged = orjson.loads(outcome.attempt.request_headers)
    assert logged["X-Api-Key"] == HEADER_VALUE_MASK and "k-1" not in outcome.attempt.request_headers
    assert logged["x-promptha-signature"] == sent.headers["x-promptha-signature"]


async def test_the_attempt_walks_the_webhooks_schedule() -> None:
    settings = DeliverySettings(retry_schedule_s=full_schedule([2]))
    first = dataclasses.replace(delivery(), settings=settings)
    failed = await attempt(context(FakeTransport(answer(500))), first, SCHEDULED)
    assert failed.update.status == "pending"
    assert failed.update.next_attempt_at is not None
    second = dataclasses.replace(delivery(attempt_count=1), settings=settings)
    last = await attempt(context(FakeTransport(answer(500))), second, SCHEDULED)
    assert last.update.status == "failed"  # the server's schedule would retry again
    none = DeliverySettings(retry_schedule_s=full_schedule([]))
    only = dataclasses.replace(delivery(), settings=none)
    once = await attempt(context(FakeTransport(answer(500))), only, SCHEDULED)
    assert once.update.status == "failed"


async def test_headers_that_do_not_decrypt_send_nothing() -> None:
    transport = FakeTransport(answer(200))
    claimed = dataclasses.replace(delivery(), settings=DeliverySettings(unreadable="key k9"))
    outcome = await attempt(context(transport), claimed, SCHEDULED)
    assert transport.sent == []
    assert outcome.update.status == "pending"
    assert outcome.update.last_error is not None
    assert "custom headers or proxy URL do not decrypt (key k9)" in outcome.update.last_error


def test_the_transport_keeps_one_deadline_set_per_timeout_below_the_lease() -> None:
    settings = Settings(delivery_timeout_s=10.0, lease_s=20.0)
    transport = AiohttpTransport(settings)
    default = transport._timeout_of(OutboundRequest("https://x", b"", {}))
    assert default.timeout_s == 10.0
    assert transport._timeout_of(OutboundRequest("https://x", b"", {}, 5.0)).timeout_s == 5.0
    again = transport._timeout_of(OutboundRequest("https://x", b"", {}, 5.0))
    assert again is transport._timeout_of(OutboundRequest("https://x", b"", {}, 5.0))
    # At or beyond the lease a delivery could be claimed again mid-attempt: the server's.
    assert transport._timeout_of(OutboundRequest("https://x", b"", {}, 25.0)) is default
