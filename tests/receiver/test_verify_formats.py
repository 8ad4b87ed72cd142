"""The receiver verifies both formats: promptha (with the rotation's -previous header) and
Standard Webhooks, with a list of secrets, through verify, verify_parsed and Webhooks."""

from __future__ import annotations

import json
import time

import pytest

from promptha_webhooks import canonical_json, signing, signing_standard
from promptha_webhooks.receiver import (
    InvalidSignatureError,
    MissingHeaderError,
    Webhooks,
    verify,
    verify_parsed,
)
from promptha_webhooks.receiver.verify import SignatureFormat, detect_format
from promptha_webhooks.signature_headers import (
    PREVIOUS_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    STANDARD_ID_HEADER,
    STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER,
    TIMESTAMP_HEADER,
)

OLD = signing_standard.generate_secret()
NEW = signing_standard.generate_secret()


def envelope(event_id: str) -> bytes:
    return canonical_json.dumps(
        {
            "event": "credits.low",
            "data": {"remaining": 5, "threshold": 10, "userId": "u_1", "eventId": event_id},
            "timestamp": int(time.time()),
        }
    )


def standard_request(keys: list[str], event_id: str = "evt_S1") -> tuple[bytes, dict[str, str]]:
    now = int(time.time())
    body = envelope(event_id)
    headers = {
        "content-type": "application/json",
        STANDARD_ID_HEADER: event_id,
        STANDARD_TIMESTAMP_HEADER: str(now),
        STANDARD_SIGNATURE_HEADER: signing_standard.sign(keys, event_id, now, body),
    }
    return body, headers


def promptha_rotating_request(event_id: str = "evt_P1") -> tuple[bytes, dict[str, str]]:
    now = int(time.time())
    body = envelope(event_id)
    return body, {
        TIMESTAMP_HEADER: str(now),
        SIGNATURE_HEADER: signing.sign(NEW, now, body),
        PREVIOUS_SIGNATURE_HEADER: signing.sign(OLD, now, body),
    }


def test_the_format_is_told_by_the_headers() -> None:
    body, headers = standard_request([NEW])
    assert detect_format(headers) is SignatureFormat.STANDARD
    assert detect_format({k.upper(): v for k, v in headers.items()}) is SignatureFormat.STANDARD
    assert detect_format(promptha_rotating_request()[1]) is SignatureFormat.PROMPTHA
    assert detect_format({}) is SignatureFormat.PROMPTHA
    with pytest.raises(MissingHeaderError, match=TIMESTAMP_HEADER):
        verify(body, {}, NEW)


def test_standard_requests_verify_with_any_listed_secret() -> None:
    body, headers = standard_request([NEW, OLD])
    for secrets in ([OLD], [NEW], ["whsec_not-standard", OLD], OLD):
        verify(body, headers, secrets)
        verify_parsed(json.loads(body), headers, secrets)
    with pytest.raises(InvalidSignatureError):
        verify(body, headers, [signing_standard.generate_secret()])


def test_a_standard_request_with_only_promptha_secrets_says_why() -> None:
    body, headers = standard_request([NEW])
    with pytest.raises(InvalidSignatureError, match="none of the 2 configured secret"):
        verify(body, headers, ["whsec_plain_promptha_secret", "another"])


def test_ed25519_public_keys_verify_in_the_receiver() -> None:
    signing_key = signing_standard.generate_signing_key()
    body, headers = standard_request([signing_key])
    verify(body, headers, signing_standard.public_key(signing_key))


def test_promptha_rotation_previous_header_in_the_receiver() -> None:
    body, headers = promptha_rotating_request()
    for secrets in ([OLD], [NEW], [OLD, NEW]):
        verify(body, headers, secrets)
        verify_parsed(json.loads(body), headers, secrets)


@pytest.mark.parametrize("kind", ["standard", "promptha"])
async def test_the_router_accepts_both_formats_with_a_list_of_secrets(kind: str) -> None:
    hooks = Webhooks(secret=[OLD, "whsec_unrelated_secret"])
    seen: list[str] = []

    @hooks.on("credits.low")
    async def low(event: object) -> None:
        seen.append(kind)

    if kind == "standard":
        body, headers = standard_request([NEW, OLD], event_id="evt_R1")
    else:
        body, headers = promptha_rotating_request(event_id="evt_R2")
    response = await hooks.handle(body, headers)
    assert response.status == 200 and seen == [kind]

    stranger = Webhooks(secret=[signing_standard.generate_secret()])
    assert (await stranger.handle(body, headers)).status == 401
