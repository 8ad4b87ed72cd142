"""Signing and verification: known-answer vectors, tolerance edges, and malformed input."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptha_webhooks.signing import (
    DEFAULT_TOLERANCE_S,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSignatureError,
    InvalidTimestampError,
    MissingHeaderError,
    TimestampOutOfToleranceError,
    VerificationError,
    sign,
    signed_message,
    verify,
)

SECRET = "whsec_test"
TS = 1_700_000_000
BODY = b'{"a":1}'
# printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec_test'
OPENSSL_VECTOR = "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
# printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec_other'
OPENSSL_VECTOR_OTHER = "6e92b6b473427af428b944e567fd928ccc5b2db939622f43f853dab511367715"


def headers_for(signature: str = OPENSSL_VECTOR, timestamp: str = str(TS)) -> dict[str, str]:
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature}


class HeaderMultiDict(Mapping[str, str]):
    """A case-sensitive, duplicate-key mapping whose .get never matches other casings."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def __getitem__(self, key: str) -> str:
        for k, v in self._pairs:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter([k for k, _ in self._pairs])

    def __len__(self) -> int:
        return len(self._pairs)


# -- signing ---------------------------------------------------------------------------------


def test_constants() -> None:
    assert SIGNATURE_HEADER == "x-promptha-signature"
    assert TIMESTAMP_HEADER == "x-promptha-timestamp"
    assert DEFAULT_TOLERANCE_S == 300


def test_signed_message() -> None:
    assert signed_message(TS, BODY) == b'1700000000.{"a":1}'
    assert signed_message(0, b"") == b"0."
    assert signed_message(5, bytearray(b"x")) == b"5.x"


@pytest.mark.parametrize("timestamp", [True, 1.5, "1700000000", None])
def test_signed_message_rejects_non_int_timestamps(timestamp: Any) -> None:
    with pytest.raises(TypeError, match="timestamp must be an int"):
        signed_message(timestamp, BODY)


def test_signed_message_rejects_negative_timestamps() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        signed_message(-1, BODY)


def test_sign_openssl_vectors() -> None:
    assert sign(SECRET, TS, BODY) == OPENSSL_VECTOR
    assert sign("whsec_other", TS, BODY) == OPENSSL_VECTOR_OTHER


def test_sign_matches_hmac_by_hand() -> None:
    secret = "sécret-ünïcode"
    body = '{"emoji":"\U0001f600"}'.encode()
    expected = hmac.new(secret.encode("utf-8"), b"1234567890." + body, hashlib.sha256).hexdigest()
    result = sign(secret, 1_234_567_890, body)
    assert result == expected
    assert len(result) == 64
    assert result == result.lower()


def test_sign_rejects_bad_secrets() -> None:
    with pytest.raises(ValueError, match="secret must not be empty"):
        sign("", TS, BODY)
    with pytest.raises(TypeError, match="secret must be a str"):
        sign(b"bytes", TS, BODY)  # type: ignore[arg-type]


# -- verify: success -------------------------------------------------------------------------


def test_verify_accepts_valid_request() -> None:
    assert verify(BODY, headers_for(), SECRET, now=TS) is None


def test_verify_accepts_str_body() -> None:
    verify('{"a":1}', headers_for(), SECRET, now=TS)
    body = '{"k":"é"}'
    verify(body, headers_for(sign(SECRET, TS, body.encode())), SECRET, now=TS)


def test_verify_accepts_uppercase_hex() -> None:
    verify(BODY, headers_for(OPENSSL_VECTOR.upper()), SECRET, now=TS)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Promptha-Timestamp": str(TS), "X-Promptha-Signature": OPENSSL_VECTOR},
        {"X-PROMPTHA-TIMESTAMP": str(TS), "x-Promptha-SIGNATURE": OPENSSL_VECTOR},
        HeaderMultiDict(
            [
                ("Content-Type", "application/json"),
                ("X-Promptha-Timestamp", str(TS)),
                ("X-Promptha-Signature", OPENSSL_VECTOR),
            ]
        ),
    ],
)
def test_verify_header_lookup_is_case_insensitive(headers: Mapping[str, str]) -> None:
    verify(BODY, headers, SECRET, now=TS)


def test_verify_with_a_real_multidict() -> None:
    multidict = pytest.importorskip("multidict")
    headers = multidict.CIMultiDict(
        [("X-Promptha-Timestamp", str(TS)), ("X-Promptha-Signature", OPENSSL_VECTOR)]
    )
    verify(BODY, headers, SECRET, now=TS)
    verify(BODY, multidict.CIMultiDictProxy(headers), SECRET, now=TS)


def test_verify_with_raw_bytes_headers() -> None:
    raw: Any = {b"X-Promptha-Timestamp": str(TS).encode(), b"x-promptha-signature": OPENSSL_VECTOR}
    verify(BODY, raw, SECRET, now=TS)


@pytest.mark.parametrize(
    "secrets",
    [
        ["whsec_new", SECRET],
        [SECRET, "whsec_new"],
        ("whsec_a", "whsec_b", SECRET),
    ],
)
def test_verify_tries_every_secret(secrets: list[str]) -> None:
    verify(BODY, headers_for(), secrets, now=TS)


def test_verify_rotation_accepts_old_and_new() -> None:
    secrets = ["whsec_other", SECRET]
    verify(BODY, headers_for(OPENSSL_VECTOR), secrets, now=TS)
    verify(BODY, headers_for(OPENSSL_VECTOR_OTHER), secrets, now=TS)


def test_verify_defaults_now_to_the_clock() -> None:
    ts = int(time.time())
    verify(BODY, headers_for(sign(SECRET, ts, BODY), str(ts)), SECRET)
    stale = ts - DEFAULT_TOLERANCE_S - 60
    with pytest.raises(TimestampOutOfToleranceError):
        verify(BODY, headers_for(sign(SECRET, stale, BODY), str(stale)), SECRET)


# -- verify: tolerance -----------------------------------------------------------------------


@pytest.mark.parametrize("age", [0, 1, 299, 300, -1, -300])
def test_tolerance_edges_accepted(age: int) -> None:
    verify(BODY, headers_for(), SECRET, now=TS + age)


@pytest.mark.parametrize(("age", "word"), [(301, "old"), (10**6, "old"), (-301, "future")])
def test_tolerance_edges_rejected(age: int, word: str) -> None:
    with pytest.raises(TimestampOutOfToleranceError, match=word) as info:
        verify(BODY, headers_for(), SECRET, now=TS + age)
    assert info.value.age_s == age
    assert info.value.tolerance == 300
    assert "tolerance of 300s" in str(info.value)


def test_custom_tolerance() -> None:
    verify(BODY, headers_for(), SECRET, now=TS, tolerance=0)
    with pytest.raises(TimestampOutOfToleranceError):
        verify(BODY, headers_for(), SECRET, now=TS + 1, tolerance=0)
    verify(BODY, headers_for(), SECRET, now=TS + 3600, tolerance=3600)


def test_tolerance_is_checked_before_the_signature() -> None:
    with pytest.raises(TimestampOutOfToleranceError):
        verify(BODY, headers_for("0" * 64), SECRET, now=TS + 301)


# -- verify: failures ------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_missing_headers(missing: str) -> None:
    headers = headers_for()
    del headers[missing]
    with pytest.raises(MissingHeaderError) as info:
        verify(BODY, headers, SECRET, now=TS)
    assert info.value.header == missing
    assert missing in str(info.value)


def test_missing_everything() -> None:
    with pytest.raises(MissingHeaderError):
        verify(BODY, {}, SECRET, now=TS)


@pytest.mark.parametrize(
    "timestamp",
    [
        "",
        "abc",
        "-1700000000",
        "+1700000000",
        " 1700000000",
        "1700000000 ",
        "1700000000\n",
        "1700000000.0",
        "1.7e9",
        "0x6553f100",
        "1_700_000_000",
        "01700000000",
        "\u0661\u0667" + "\u0660" * 8,  # Arabic-Indic digits: str.isdigit() would accept them
        "1" * 13,
        "9" * 400,
    ],
)
def test_invalid_timestamps(timestamp: str) -> None:
    with pytest.raises(InvalidTimestampError, match=TIMESTAMP_HEADER):
        verify(BODY, headers_for(timestamp=timestamp), SECRET, now=TS)


def test_twelve_digit_timestamp_is_parsed() -> None:
    with pytest.raises(TimestampOutOfToleranceError):
        verify(BODY, headers_for(timestamp="9" * 12), SECRET, now=TS)


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "zz" * 32,
        OPENSSL_VECTOR[:-1],
        OPENSSL_VECTOR + "0",
        "sha256=" + OPENSSL_VECTOR,
        "v1," + OPENSSL_VECTOR,
        OPENSSL_VECTOR + "\n",
        " " + OPENSSL_VECTOR[1:],
        "é" * 64,
        "\ud800" * 64,
        "\uff10" * 64,  # fullwidth digits
        OPENSSL_VECTOR[:32],
    ],
)
def test_malformed_signatures(signature: str) -> None:
    with pytest.raises(InvalidSignatureError, match="64 hex characters"):
        verify(BODY, headers_for(signature), SECRET, now=TS)


@pytest.mark.parametrize(
    ("body", "headers", "secret"),
    [
        (b'{"a":2}', headers_for(), SECRET),
        (b'{"a":1} ', headers_for(), SECRET),
        (BODY, headers_for(), "whsec_tesT"),
        (BODY, headers_for(), ["whsec_x", "whsec_y"]),
        (BODY, headers_for("0" * 64), SECRET),
        (BODY, headers_for(timestamp=str(TS + 1)), SECRET),
        (BODY, headers_for(OPENSSL_VECTOR_OTHER), SECRET),
    ],
)
def test_wrong_signatures(body: bytes, headers: dict[str, str], secret: str | list[str]) -> None:
    with pytest.raises(InvalidSignatureError, match="does not match"):
        verify(body, headers, secret, now=TS)


def test_unencodable_str_body() -> None:
    with pytest.raises(InvalidSignatureError, match="UTF-8"):
        verify('{"a":"\ud800"}', headers_for(), SECRET, now=TS)


def test_every_error_is_a_verification_error_not_a_value_error() -> None:
    for cls in (
        MissingHeaderError,
        InvalidTimestampError,
        TimestampOutOfToleranceError,
        InvalidSignatureError,
    ):
        assert issubclass(cls, VerificationError)
        assert not issubclass(cls, ValueError)


@pytest.mark.parametrize(
    ("secret", "kwargs", "match"),
    [
        ([], {}, "at least one secret"),
        ((), {}, "at least one secret"),
        ("", {}, "must not be empty"),
        ([SECRET, ""], {}, "must not be empty"),
        (SECRET, {"tolerance": -1}, "tolerance must not be negative"),
    ],
)
def test_configuration_errors_are_value_errors(
    secret: Any, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        verify(BODY, headers_for(), secret, now=TS, **kwargs)


@settings(max_examples=300)
@given(
    body=st.binary(max_size=64) | st.text(max_size=64),
    timestamp=st.text(max_size=16) | st.integers(0, 10**13).map(str),
    signature=st.text(max_size=70) | st.from_regex(r"[0-9a-fA-F]{60,68}", fullmatch=True),
    secrets=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3),
)
def test_arbitrary_input_only_raises_verification_errors(
    body: bytes | str, timestamp: str, signature: str, secrets: list[str]
) -> None:
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature}
    with contextlib.suppress(VerificationError):
        verify(body, headers, secrets, now=TS)


@settings(max_examples=100)
@given(body=st.binary(max_size=256), secret=st.text(min_size=1), age=st.integers(-300, 300))
def test_sign_then_verify(body: bytes, secret: str, age: int) -> None:
    verify(body, headers_for(sign(secret, TS, body)), [secret], now=TS + age)


def test_the_previous_header_verifies_a_receiver_still_holding_the_old_secret() -> None:
    from promptha_webhooks.signature_headers import PREVIOUS_SIGNATURE_HEADER

    old, new, now = "whsec_old_secret", "whsec_new_secret", 1_700_000_000
    body = b'{"event":"credits.low"}'
    headers = {
        TIMESTAMP_HEADER: str(now),
        SIGNATURE_HEADER: sign(new, now, body),
        PREVIOUS_SIGNATURE_HEADER: sign(old, now, body),
    }
    for holder in (old, new, [old, new]):
        verify(body, headers, holder, now=now)
    with pytest.raises(InvalidSignatureError):
        verify(body, headers, "whsec_stranger", now=now)
    # Without the header, only the primary counts; a malformed one is ignored, never trusted.
    primary_only = {k: v for k, v in headers.items() if k != PREVIOUS_SIGNATURE_HEADER}
    with pytest.raises(InvalidSignatureError):
        verify(body, primary_only, old, now=now)
    for junk in ("", "zz", "0" * 63, sign(old, now, body) + "0"):
        with pytest.raises(InvalidSignatureError):
            verify(body, {**primary_only, PREVIOUS_SIGNATURE_HEADER: junk}, old, now=now)
        verify(body, {**primary_only, PREVIOUS_SIGNATURE_HEADER: junk}, new, now=now)
