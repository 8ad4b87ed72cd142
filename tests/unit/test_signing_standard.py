"""Standard Webhooks signing: the specification's known-answer vector, keys, every malformed
header, properties, and interop with the real third-party verifiers (PyPI `standardwebhooks`
and `svix`), both ways, during a rotation too."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from svix.webhooks import Webhook as SvixWebhook
from svix.webhooks import WebhookVerificationError as SvixVerificationError

from promptha_webhooks import signing_standard
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.signature_headers import (
    STANDARD_ID_HEADER,
    STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER,
    standard_signed_content,
)
from promptha_webhooks.signing import (
    InvalidSignatureError,
    InvalidTimestampError,
    MissingHeaderError,
    TimestampOutOfToleranceError,
    VerificationError,
)
from promptha_webhooks.signing_standard import (
    InvalidMessageIdError,
    InvalidSecretError,
    generate_secret,
    generate_signing_key,
    parse_key,
    public_key,
    sign,
    verify,
)

# The vector the Standard Webhooks libraries test themselves with.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
BODY = b'{"event":"fabric.completed","data":{"eventId":"evt_1"},"timestamp":1}'


def headers_for(signature: str, *, msg_id: str = "evt_1", timestamp: int) -> dict[str, str]:
    return {
        STANDARD_ID_HEADER: msg_id,
        STANDARD_TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: signature,
    }


def test_the_specification_vector() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    headers = headers_for(SPEC_SIGNATURE, msg_id=SPEC_ID, timestamp=SPEC_TIMESTAMP)
    verify(SPEC_BODY, headers, SPEC_SECRET, now=SPEC_TIMESTAMP)
    assert standard_signed_content("a", 5, b"{}") == b"a.5.{}"


def test_generated_secrets_are_24_random_bytes_by_default() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second and first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 24
    assert len(parse_key(generate_secret(64)).material) == 64
    for size in (23, 65):
        with pytest.raises(ValueError, match="24 to 64"):
            generate_secret(size)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "whsec_",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # no prefix
        "whsec_test",  # too short
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",  # bad padding
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La-aSw",  # URL-safe alphabet
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La aSw",
        "whsec_" + base64.b64encode(bytes(65)).decode(),
        "whpk_" + base64.b64encode(bytes(31)).decode(),
        "whsk_" + base64.b64encode(bytes(33)).decode(),
    ],
)
def test_a_malformed_key_is_a_clear_invalid_secret_error(text: str) -> None:
    with pytest.raises(InvalidSecretError) as caught:
        parse_key(text)
    assert isinstance(caught.value, InvalidRequestError) and isinstance(caught.value, ValueError)
    assert caught.value.status_code == 400
    with pytest.raises(InvalidSecretError):
        verify(BODY, headers_for("v1,AAAA", timestamp=1), text, now=1)


def test_a_key_repr_hides_its_bytes() -> None:
    key = parse_key(SPEC_SECRET)
    assert "MfKQ" not in repr(key) and "hidden" in repr(key)
    with pytest.raises(InvalidSecretError):
        parse_key(123)  # type: ignore[arg-type]


def test_rotation_signs_with_every_key_and_any_one_verifies() -> None:
    old, new = generate_secret(), generate_secret()
    header = sign([new, old], "evt_1", 100, BODY)
    entries = header.split(" ")
    assert len(entries) == 2 and all(entry.startswith("v1,") for entry in entries)
    for holder in (old, new, [generate_secret(), old]):
        verify(BODY, headers_for(header, timestamp=100), holder, now=100)
    with pytest.raises(InvalidSignatureError, match="no entry"):
        verify(BODY, headers_for(header, timestamp=100), generate_secret(), now=100)


def test_ed25519_v1a_signs_and_verifies_with_the_public_key() -> None:
    signing_key = generate_signing_key()
    published = public_key(signing_key)
    assert published.startswith("whpk_") and signing_key.startswith("whsk_")
    header = sign(signing_key, "evt_1", 100, BODY)
    assert header.startswith("v1a,")
    verify(BODY, headers_for(header, timestamp=100), published, now=100)
    verify(BODY, headers_for(header, timestamp=100), signing_key, now=100)
    # An independent check: cryptography's own Ed25519 verifier on the raw public key.
    raw = base64.b64decode(published.removeprefix("whpk_"))
    signature = base64.b64decode(header.removeprefix("v1a,"))
    Ed25519PublicKey.from_public_bytes(raw).verify(signature, b"evt_1.100." + BODY)
    with pytest.raises(InvalidSignatureError):
        verify(BODY + b" ", headers_for(header, timestamp=100), published, now=100)
    with pytest.raises(InvalidSignatureError):  # a v1a entry never matches an HMAC secret
        verify(BODY, headers_for(header, timestamp=100), generate_secret(), now=100)
    with pytest.raises(InvalidSecretError, match="cannot sign"):
        sign(published, "evt_1", 100, BODY)
    with pytest.raises(InvalidSecretError):
        public_key(generate_secret())


def test_mixed_hmac_and_ed25519_entries() -> None:
    secret, signing_key = generate_secret(), generate_signing_key()
    header = sign([secret, signing_key], "evt_1", 100, BODY)
    verify(BODY, headers_for(header, timestamp=100), secret, now=100)
    verify(BODY, headers_for(header, timestamp=100), public_key(signing_key), now=100)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({STANDARD_ID_HEADER: None}, MissingHeaderError),
        ({STANDARD_TIMESTAMP_HEADER: None}, MissingHeaderError),
        ({STANDARD_SIGNATURE_HEADER: None}, MissingHeaderError),
        ({STANDARD_ID_HEADER: ""}, InvalidMessageIdError),
        ({STANDARD_ID_HEADER: "evt 1"}, InvalidMessageIdError),
        ({STANDARD_ID_HEADER: "é"}, InvalidMessageIdError),
        ({STANDARD_ID_HEADER: "x" * 257}, InvalidMessageIdError),
        ({STANDARD_TIMESTAMP_HEADER: "-1"}, InvalidTimestampError),
        ({STANDARD_TIMESTAMP_HEADER: "1e3"}, InvalidTimestampError),
        ({STANDARD_TIMESTAMP_HEADER: "0100"}, InvalidTimestampError),
        ({STANDARD_TIMESTAMP_HEADER: "9" * 40}, InvalidTimestampError),
        ({STANDARD_TIMESTAMP_HEADER: "1"}, TimestampOutOfToleranceError),
        ({STANDARD_SIGNATURE_HEADER: ""}, InvalidSignatureError),
        ({STANDARD_SIGNATURE_HEADER: "   "}, InvalidSignatureError),
        ({STANDARD_SIGNATURE_HEADER: "v1"}, InvalidSignatureError),
        ({STANDARD_SIGNATURE_HEADER: "v1,"}, InvalidSignatureError),
        ({STANDARD_SIGNATURE_HEADER: "v1,!!!!"}, InvalidSignatureError),
        ({STANDARD_SIGNATURE_HEADER: "v1,AAAA"}, InvalidSignatureError),  # wrong length
        ({STANDARD_SIGNATURE_HEADER: "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}, None),
        ({STANDARD_SIGNATURE_HEADER: ",,, v1 v1a, ,"}, InvalidSignatureError),
        ({STANDARD_SIGNATURE_HEADER: " ".join(["v1,AAAA"] * 17)}, InvalidSignatureError),
        ({STANDARD_SIGNATURE_HEADER: "v1,\u00e9"}, InvalidSignatureError),
    ],
)
def test_every_malformed_header_is_a_verification_error(
    change: dict[str, str | None], error: type[VerificationError] | None
) -> None:
    now = 1_700_000_000
    headers = headers_for(sign(SPEC_SECRET, "evt_1", now, BODY), timestamp=now)
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    with pytest.raises(error or InvalidSignatureError) as caught:
        verify(BODY, headers, SPEC_SECRET, now=now)
    assert isinstance(caught.value, VerificationError)


def test_a_well_formed_entry_beside_junk_still_verifies() -> None:
    now = 1_700_000_000
    good = sign(SPEC_SECRET, "evt_1", now, BODY)
    header = f"v2,abc junk v1,!!!! {good} v1a,AAAA"
    verify(BODY, headers_for(header, timestamp=now), SPEC_SECRET, now=now)


def test_tolerance_edges_and_str_bodies() -> None:
    now = 1_700_000_000
    header = sign(SPEC_SECRET, "evt_1", now, BODY)
    for skew in (-300, 300):
        verify(BODY.decode(), headers_for(header, timestamp=now), SPEC_SECRET, now=now + skew)
    for skew in (-301, 301):
        with pytest.raises(TimestampOutOfToleranceError):
            verify(BODY, headers_for(header, timestamp=now), SPEC_SECRET, now=now + skew)
    with pytest.raises(InvalidSignatureError):
        verify("\ud800", headers_for(header, timestamp=now), SPEC_SECRET, now=now)
    with pytest.raises(ValueError):
        verify(BODY, headers_for(header, timestamp=now), [], now=now)
    with pytest.raises(ValueError):
        verify(BODY, headers_for(header, timestamp=now), SPEC_SECRET, tolerance=-1, now=now)
    for bad_id in ("", "a b"):
        with pytest.raises(ValueError):
            sign(SPEC_SECRET, bad_id, now, BODY)
    for bad_timestamp in (-1, True):
        with pytest.raises(ValueError):
            sign(SPEC_SECRET, "evt_1", bad_timestamp, BODY)
    with pytest.raises(ValueError):
        sign([], "evt_1", now, BODY)


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=512),
    msg_id=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1),
    timestamp=st.integers(min_value=0, max_value=10**11),
    flip=st.integers(min_value=0, max_value=511),
)
def test_sign_then_verify_and_any_changed_byte_fails(
    body: bytes, msg_id: str, timestamp: int, flip: int
) -> None:
    msg_id = msg_id[:256]
    header = sign(SPEC_SECRET, msg_id, timestamp, body)
    headers = headers_for(header, msg_id=msg_id, timestamp=timestamp)
    verify(body, headers, SPEC_SECRET, now=timestamp)
    if body:
        index = flip % len(body)
        changed = body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]
        with pytest.raises(InvalidSignatureError):
            verify(changed, headers, SPEC_SECRET, now=timestamp)


# --- interop with the real third-party verifiers -------------------------------------------


def test_signed_by_us_verified_by_standardwebhooks_and_svix_during_a_rotation() -> None:
    old, new = generate_secret(), generate_secret()
    now = int(time.time())
    body = b'{"event":"credits.low","data":{"remaining":5}}'
    headers = headers_for(sign([new, old], "evt_42", now, body), msg_id="evt_42", timestamp=now)
    for secret in (old, new):
        assert standardwebhooks.Webhook(secret).verify(body, dict(headers)) == {
            "event": "credits.low",
            "data": {"remaining": 5},
        }
        SvixWebhook(secret).verify(body, dict(headers))
    stranger = generate_secret()
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(stranger).verify(body, dict(headers))
    with pytest.raises(SvixVerificationError):
        SvixWebhook(stranger).verify(body, dict(headers))


def test_signed_by_standardwebhooks_and_svix_verified_by_us() -> None:
    old, new = generate_secret(), generate_secret()
    now = int(time.time())
    moment = datetime.fromtimestamp(now, tz=UTC)
    body = '{"hello":"world"}'
    theirs = standardwebhooks.Webhook(new).sign("msg_1", moment, body)
    svix_sig = SvixWebhook(old).sign("msg_1", moment, body)
    assert theirs == sign(new, "msg_1", now, body.encode())
    header = f"{theirs} {svix_sig}"  # a multi-signature header built by them
    for secret in (old, new):
        verify(body.encode(), headers_for(header, msg_id="msg_1", timestamp=now), secret)
    with pytest.raises(InvalidSignatureError):
        verify(body.encode(), headers_for(header, msg_id="msg_1", timestamp=now), SPEC_SECRET)


def test_a_key_object_is_built_once_per_key_not_per_signature() -> None:
    """The delivery path signs every attempt: the Ed25519 private key object and the keyed
    HMAC state come from caches, so the second signature with a key builds neither again."""
    ed25519, hmac_secret = generate_signing_key(), generate_secret()
    signing_standard.sign([ed25519, hmac_secret], "msg_1", 100, BODY)
    private_misses = signing_standard._private.cache_info().misses
    keyed_misses = signing_standard._keyed.cache_info().misses
    for timestamp in range(101, 111):
        signing_standard.sign([ed25519, hmac_secret], "msg_1", timestamp, BODY)
    assert signing_standard._private.cache_info().misses == private_misses
    assert signing_standard._keyed.cache_info().misses == keyed_misses
