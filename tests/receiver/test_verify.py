"""verify (raw bodies) and verify_parsed (bodies a framework already parsed)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from promptha_webhooks import signing
from promptha_webhooks.receiver import (
    InvalidSignatureError,
    InvalidTimestampError,
    MissingHeaderError,
    TimestampOutOfToleranceError,
    VerificationError,
    verify,
    verify_parsed,
)

SECRET = "whsec_receiver_tests_0123456789"
Sign = Callable[..., Any]

# Values whose text only survives a round trip through a parser if the writer is canonical.
AWKWARD = {
    "executionId": "exec_ü✓😀",
    "fabricId": "seo-optimizer",
    "result": {"10": "index keys first", "b": [1.5, 1e21, 1e-7, 100, -0.0, 0.1]},
    "usage": {"totalTokens": 246, "ratio": 0.30000000000000004, "tiny": 5e-324},
}


def test_verify_accepts_what_signing_verify_accepts(signed: Sign) -> None:
    delivery = signed("fabric.completed", AWKWARD)
    signing.verify(delivery.body, delivery.headers, SECRET)
    verify(delivery.body, delivery.headers, SECRET)


def test_verify_raw_bytes_and_str(signed: Sign) -> None:
    delivery = signed("fabric.completed", AWKWARD)
    verify(delivery.body, delivery.headers, SECRET)
    verify(delivery.body.decode(), delivery.headers, SECRET)
    verify(delivery.body, delivery.headers, ["whsec_other", SECRET])
    with pytest.raises(InvalidSignatureError):
        verify(delivery.body + b" ", delivery.headers, SECRET)


def test_verify_parsed_accepts_what_json_loads_gave_back(signed: Sign) -> None:
    delivery = signed("fabric.completed", AWKWARD)
    parsed = json.loads(delivery.body)
    assert parsed["data"]["result"]["b"][1] == 1e21
    verify_parsed(parsed, delivery.headers, SECRET)
    verify_parsed(parsed, delivery.headers, ["whsec_new", SECRET])


def test_verify_parsed_rejects_a_changed_payload(signed: Sign) -> None:
    delivery = signed()
    parsed = json.loads(delivery.body)
    parsed["data"]["usage"]["totalTokens"] = 1
    with pytest.raises(InvalidSignatureError, match="does not match"):
        verify_parsed(parsed, delivery.headers, SECRET)


def test_verify_parsed_rejects_values_no_signed_body_holds(signed: Sign) -> None:
    delivery = signed()
    parsed = json.loads(delivery.body)
    parsed["data"]["usage"]["totalTokens"] = float("nan")
    with pytest.raises(InvalidSignatureError, match="canonical JSON") as caught:
        verify_parsed(parsed, delivery.headers, SECRET)
    assert isinstance(caught.value, VerificationError)


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"x-promptha-signature": "0" * 64}, MissingHeaderError),
        ({"x-promptha-timestamp": "1"}, MissingHeaderError),
        ({"x-promptha-timestamp": "-5", "x-promptha-signature": "0" * 64}, InvalidTimestampError),
        (
            {"x-promptha-timestamp": "1", "x-promptha-signature": "0" * 64},
            TimestampOutOfToleranceError,
        ),
    ],
)
def test_verify_parsed_reports_which_check_failed(
    headers: dict[str, str], error: type[VerificationError]
) -> None:
    with pytest.raises(error):
        verify_parsed({"event": "x"}, headers, SECRET)


def test_tolerance_and_now(signed: Sign) -> None:
    delivery = signed(timestamp=1_700_000_000)
    parsed = json.loads(delivery.body)
    verify_parsed(parsed, delivery.headers, SECRET, now=1_700_000_300)
    with pytest.raises(TimestampOutOfToleranceError) as caught:
        verify_parsed(parsed, delivery.headers, SECRET, now=1_700_000_301)
    assert caught.value.age_s == 301
    verify_parsed(parsed, delivery.headers, SECRET, tolerance=10_000, now=1_700_009_000)
    assert int(time.time()) > 1_700_000_300
