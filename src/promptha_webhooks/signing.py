"""Webhook signatures in the guide's (promptha) format: HMAC-SHA256 over
``"{timestamp}." + body``, hex-encoded.

Used by the dispatcher to sign deliveries and by the receiver SDK to verify them. The header
names live in signature_headers.py; the Standard Webhooks format in signing_standard.py.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Mapping, Sequence

from promptha_webhooks.signature_headers import (
    PREVIOUS_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "PREVIOUS_SIGNATURE_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "InvalidSignatureError",
    "InvalidTimestampError",
    "MissingHeaderError",
    "TimestampOutOfToleranceError",
    "VerificationError",
    "header_value",
    "sign",
    "signed_message",
    "verify",
]

DEFAULT_TOLERANCE_S = 300

# Secrets whose keyed HMAC state sign() keeps (one per webhook secret in use).
KEYED_CACHE_SIZE = 4096
_MAX_TIMESTAMP_DIGITS = 12
# Canonical unsigned decimal: what ``str(int)`` produces for a non-negative timestamp.
_TIMESTAMP_RE = re.compile(rf"(?:0|[1-9][0-9]{{0,{_MAX_TIMESTAMP_DIGITS - 1}}})\Z")
_SIGNATURE_RE = re.compile(r"[0-9a-fA-F]{64}\Z")


class VerificationError(Exception):
    """A webhook request failed signature verification."""


class MissingHeaderError(VerificationError):
    """A required signature or timestamp header is absent."""

    def __init__(self, header: str) -> None:
        self.header = header
        super().__init__(f"missing required header {header!r}")


class InvalidTimestampError(VerificationError):
    """The timestamp header is not a plain decimal integer."""


class TimestampOutOfToleranceError(VerificationError):
    """The timestamp is too old (replay?) or too far in the future (clock skew).

    ``age_s`` is ``now - timestamp``: positive when stale, negative when in the future.
    """

    def __init__(self, age_s: int, tolerance: int) -> None:
        self.age_s = age_s
        self.tolerance = tolerance
        if age_s > 0:
            detail = f"timestamp is {age_s}s old"
        else:
            detail = f"timestamp is {-age_s}s in the future"
        super().__init__(f"{detail}, outside the tolerance of {tolerance}s")


class InvalidSignatureError(VerificationError):
    """The signature header is malformed or does not match the body under any secret."""


def signed_message(timestamp: int, body: bytes) -> bytes:
    """Return the exact bytes that are signed: ``b"<timestamp>." + body``."""
    return _prefix(timestamp) + bytes(body)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the lowercase hex HMAC-SHA256 of ``signed_message(timestamp, body)``."""
    # The dispatcher signs every attempt: a copy of the secret's keyed state, fed the prefix
    # and the body (no concatenated copy), costs about half of a one-shot HMAC.
    mac = _keyed(_secret_key(secret)).copy()
    mac.update(_prefix(timestamp))
    mac.update(body)
    return mac.hexdigest()


def _prefix(timestamp: int) -> bytes:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise TypeError(f"timestamp must be an int, got {type(timestamp).__name__}")
    if timestamp < 0:
        raise ValueError(f"timestamp must not be negative, got {timestamp}")
    return b"%d." % timestamp


@functools.lru_cache(maxsize=KEYED_CACHE_SIZE)
def _keyed(key: bytes) -> hmac.HMAC:
    """HMAC-SHA256 state after the key, one per secret in use (copied for each message)."""
    return hmac.new(key, digestmod=hashlib.sha256)


def _secret_key(secret: str) -> bytes:
    if not isinstance(secret, str):
        raise TypeError(f"secret must be a str, got {type(secret).__name__}")
    if not secret:
        raise ValueError("secret must not be empty")
    return secret.encode("utf-8")


def _digest(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")  # OpenSSL's one-shot HMAC, no HMAC object


def header_value(headers: Mapping[str, str], name: str) -> str:
    """Case-insensitive lookup of ``name`` (lowercase) in any mapping, incl. multidicts;
    MissingHeaderError when it is absent."""
    value: object = headers.get(name)  # exact match, or any casing for multidicts
    if value is None:
        for raw_key, candidate in headers.items():
            # bytes keys: e.g. raw ASGI header pairs wrapped in a dict
            key = raw_key.decode("latin-1") if isinstance(raw_key, bytes) else raw_key
            if isinstance(key, str) and key.lower() == name:
                value = candidate
                break
    if value is None:
        raise MissingHeaderError(name)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


_header = header_value


def _optional_header(headers: Mapping[str, str], name: str) -> str | None:
    try:
        return header_value(headers, name)
    except MissingHeaderError:
        return None


def _parse_timestamp(raw: str) -> int:
    if _TIMESTAMP_RE.match(raw) is None:
        shown = raw if len(raw) <= 32 else f"{raw[:32]}…"
        raise InvalidTimestampError(
            f"header {TIMESTAMP_HEADER!r} must be an unsigned decimal integer of at most "
            f"{_MAX_TIMESTAMP_DIGITS} digits without leading zeros, got {shown!r}"
        )
    return int(raw)


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE_S,
    now: int | None = None,
) -> None:
    """Verify a webhook request; return None if authentic, else raise a VerificationError.

    ``headers`` is any mapping (lookup is case-insensitive). ``secret`` may be a list of secrets
    during rotation: the request is accepted if it was signed with any of them, in
    ``x-promptha-signature`` or, during the sender's rotation, in
    ``x-promptha-signature-previous`` (consulted only when it is there and well-formed: the
    primary header alone decides whether the request is malformed). ``body`` must be
    the raw request body; a str is encoded as UTF-8. ``now`` defaults to the current Unix time.
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise ValueError("at least one secret is required")
    keys = [_secret_key(s) for s in secrets]
    if tolerance < 0:
        raise ValueError(f"tolerance must not be negative, got {tolerance}")

    raw_timestamp = _header(headers, TIMESTAMP_HEADER)
    raw_signature = _header(headers, SIGNATURE_HEADER)

    timestamp = _parse_timestamp(raw_timestamp)
    current = int(time.time()) if now is None else now
    age = current - timestamp
    if abs(age) > tolerance:
        raise TimestampOutOfToleranceError(age, tolerance)

    if _SIGNATURE_RE.match(raw_signature) is None:
        raise InvalidSignatureError(
            f"header {SIGNATURE_HEADER!r} must be 64 hex characters (HMAC-SHA256), "
            f"got {len(raw_signature)} characters"
        )
    candidates = [bytes.fromhex(raw_signature)]
    raw_previous = _optional_header(headers, PREVIOUS_SIGNATURE_HEADER)
    if raw_previous is not None and _SIGNATURE_RE.match(raw_previous) is not None:
        candidates.append(bytes.fromhex(raw_previous))

    if isinstance(body, str):
        try:
            payload = body.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidSignatureError("body str cannot be encoded as UTF-8") from None
    else:
        payload = bytes(body)
    message = signed_message(timestamp, payload)

    matched = False
    for key in keys:  # no early exit: every secret is tried against every signature
        digest = _digest(key, message)
        for expected in candidates:
            matched |= hmac.compare_digest(digest, expected)
    if not matched:
        raise InvalidSignatureError(
            f"signature does not match the body and timestamp under any of the {len(keys)} "
            "configured secret(s)"
        )
