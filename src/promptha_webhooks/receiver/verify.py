"""Signature checks for receivers: raw bodies (``verify``) and bodies a framework already parsed.

``verify`` takes either format, told by the headers: the promptha one
(:func:`promptha_webhooks.signing.verify`: ``x-promptha-signature`` and, during the sender's
rotation, ``x-promptha-signature-previous``) or Standard Webhooks
(:func:`promptha_webhooks.signing_standard.verify`: ``webhook-signature``). ``verify_parsed``
re-serialises a parsed body in the contract's canonical form (what ``JSON.stringify`` writes)
and verifies that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptha_webhooks import canonical_json, signing, signing_standard
from promptha_webhooks.signature_headers import (
    SIGNATURE_HEADER,
    STANDARD_SIGNATURE_HEADER,
    SignatureFormat,
)
from promptha_webhooks.signing import (
    DEFAULT_TOLERANCE_S,
    InvalidSignatureError,
    InvalidTimestampError,
    MissingHeaderError,
    TimestampOutOfToleranceError,
    VerificationError,
)

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "InvalidSignatureError",
    "InvalidTimestampError",
    "MissingHeaderError",
    "SignatureFormat",
    "TimestampOutOfToleranceError",
    "VerificationError",
    "detect_format",
    "verify",
    "verify_parsed",
]


def _has(headers: Mapping[str, str], name: str) -> bool:
    try:
        signing.header_value(headers, name)
    except MissingHeaderError:
        return False
    return True


def detect_format(headers: Mapping[str, str]) -> SignatureFormat:
    """The format the request's headers show: standard when ``webhook-signature`` is there and
    ``x-promptha-signature`` is not, else promptha (whose missing header is then reported)."""
    if not _has(headers, SIGNATURE_HEADER) and _has(headers, STANDARD_SIGNATURE_HEADER):
        return SignatureFormat.STANDARD
    return SignatureFormat.PROMPTHA


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE_S,
    now: int | None = None,
) -> None:
    """Verify a delivery in either format; return None if authentic, else raise a
    VerificationError. ``secret`` is one secret or a list (any one matching is enough).

    For a Standard Webhooks request only the secrets that are Standard Webhooks keys
    (``whsec_<base64>``, ``whpk_<base64>``) are tried; when none is, the request fails with
    an InvalidSignatureError that says so.
    """
    if detect_format(headers) is SignatureFormat.PROMPTHA:
        signing.verify(body, headers, secret, tolerance=tolerance, now=now)
        return
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise ValueError("at least one secret is required")
    usable = [s for s in secrets if _standard_key(s)]
    if not usable:
        raise InvalidSignatureError(
            f"this is a Standard Webhooks request ({STANDARD_SIGNATURE_HEADER}) but none of the "
            f"{len(secrets)} configured secret(s) is a Standard Webhooks key "
            f"({signing_standard.SECRET_PREFIX}<base64> or "
            f"{signing_standard.PUBLIC_KEY_PREFIX}<base64>)"
        )
    signing_standard.verify(body, headers, usable, tolerance=tolerance, now=now)


def _standard_key(secret: str) -> bool:
    try:
        signing_standard.parse_key(secret)
    except signing_standard.InvalidSecretError:
        return False
    return True


def verify_parsed(
    payload: dict[str, Any],
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE_S,
    now: int | None = None,
) -> None:
    """Verify a body that was already parsed into ``payload``; raise a VerificationError if not.

    Promptha sends every body in canonical JSON, so serialising the parsed object again with
    :func:`promptha_webhooks.canonical_json.dumps` gives back the signed bytes exactly, as long
    as the parser kept key order and numbers (Python's ``json`` module, Flask's
    ``request.get_json()`` and Django's ``json.loads(request.body)`` all do).
    """
    try:
        body = canonical_json.dumps(payload)
    except canonical_json.CanonicalJSONError as exc:
        # Nothing we signed fails to serialise: this payload cannot be authentic.
        raise InvalidSignatureError(
            f"parsed payload cannot be written as canonical JSON: {exc}"
        ) from None
    verify(body, headers, secret, tolerance=tolerance, now=now)
