"""Standard Webhooks signatures (https://www.standardwebhooks.com): ``whsec_`` secrets,
``v1,<base64 HMAC-SHA256>`` and ``v1a,<base64 Ed25519>`` entries over ``"<id>.<timestamp>.<body>"``,
and their verification. Pure functions; header names in signature_headers.py.

Key texts: ``whsec_<base64>`` (symmetric, 24 to 64 bytes; signs and verifies ``v1``),
``whsk_<base64>`` (an Ed25519 private key's 32-byte seed; signs ``v1a``) and ``whpk_<base64>``
(its 32-byte public key; verifies ``v1a``). Every malformed header is a
:class:`~promptha_webhooks.signing.VerificationError`; a malformed key is an
:class:`InvalidSecretError` (the caller's configuration, not the request, is wrong).
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.signature_headers import (
    STANDARD_ID_HEADER,
    STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER,
    standard_signed_content,
)
from promptha_webhooks.signing import (
    DEFAULT_TOLERANCE_S,
    InvalidSignatureError,
    InvalidTimestampError,
    TimestampOutOfToleranceError,
    VerificationError,
    header_value,
)

__all__ = [
    "DEFAULT_SECRET_BYTES",
    "ED25519_KEY_BYTES",
    "MAX_MESSAGE_ID_LENGTH",
    "MAX_SECRET_BYTES",
    "MAX_SIGNATURE_ENTRIES",
    "MIN_SECRET_BYTES",
    "PUBLIC_KEY_PREFIX",
    "SECRET_PREFIX",
    "SIGNING_KEY_PREFIX",
    "InvalidMessageIdError",
    "InvalidSecretError",
    "KeyKind",
    "StandardKey",
    "generate_secret",
    "generate_signing_key",
    "parse_key",
    "public_key",
    "sign",
    "signature_entry",
    "verify",
]

SECRET_PREFIX = "whsec_"
SIGNING_KEY_PREFIX = "whsk_"
PUBLIC_KEY_PREFIX = "whpk_"
# Svix generates 24 random bytes; the specification asks for 24 to 64.
DEFAULT_SECRET_BYTES = 24
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
ED25519_KEY_BYTES = 32
ED25519_SIGNATURE_BYTES = 64
HMAC_VERSION = "v1"
ED25519_VERSION = "v1a"
# A header with more entries than this is hostile, not a rotation (which has two or three).
MAX_SIGNATURE_ENTRIES = 16
MAX_MESSAGE_ID_LENGTH = 256
_MAX_TIMESTAMP_DIGITS = 12
_TIMESTAMP_RE = re.compile(rf"(?:0|[1-9][0-9]{{0,{_MAX_TIMESTAMP_DIGITS - 1}}})\Z")
# Printable ASCII without white space (ours are evt_… ids; Svix's msg_…).
_MESSAGE_ID_RE = re.compile(rf"[\x21-\x7e]{{1,{MAX_MESSAGE_ID_LENGTH}}}\Z")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}\Z")


class InvalidSecretError(InvalidRequestError, ValueError):
    """Not a Standard Webhooks key: expected whsec_<base64> (24 to 64 bytes), whsk_<base64>
    or whpk_<base64> (32 bytes)."""


class InvalidMessageIdError(VerificationError):
    """The webhook-id header is empty, too long, or holds white space or non-ASCII."""


class KeyKind(enum.StrEnum):
    """SECRET: HMAC (whsec_); SIGNING: Ed25519 private seed (whsk_); PUBLIC: its public key
    (whpk_)."""

    SECRET = "secret"
    SIGNING = "signing"
    PUBLIC = "public"


_PREFIXES = {
    SECRET_PREFIX: KeyKind.SECRET,
    SIGNING_KEY_PREFIX: KeyKind.SIGNING,
    PUBLIC_KEY_PREFIX: KeyKind.PUBLIC,
}


@dataclass(frozen=True, slots=True)
class StandardKey:
    """A parsed key; ``repr`` never shows the bytes."""

    kind: KeyKind
    material: bytes

    def __repr__(self) -> str:
        return f"StandardKey(kind={self.kind!r}, material=<{len(self.material)} bytes hidden>)"


def generate_secret(nbytes: int = DEFAULT_SECRET_BYTES) -> str:
    """A new ``whsec_<base64>`` secret of ``nbytes`` random bytes (24 to 64)."""
    if not MIN_SECRET_BYTES <= nbytes <= MAX_SECRET_BYTES:
        raise ValueError(
            f"a secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, not {nbytes}"
        )
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def generate_signing_key() -> str:
    """A new Ed25519 private key as ``whsk_<base64 of its 32-byte seed>``."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    return SIGNING_KEY_PREFIX + base64.b64encode(seed).decode("ascii")


def public_key(signing_key: str) -> str:
    """The ``whpk_<base64>`` public key of a ``whsk_`` signing key (what receivers verify with)."""
    key = parse_key(signing_key)
    if key.kind is not KeyKind.SIGNING:
        raise InvalidSecretError(f"expected a {SIGNING_KEY_PREFIX}… signing key")
    raw = (
        _private(key.material)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def parse_key(text: str) -> StandardKey:
    """Parse a ``whsec_``, ``whsk_`` or ``whpk_`` key; InvalidSecretError when malformed."""
    if not isinstance(text, str):
        raise InvalidSecretError(f"a key must be a str, got {type(text).__name__}")
    return _parse_key(text)


@functools.lru_cache(maxsize=4096)
def _parse_key(text: str) -> StandardKey:
    found = next(
        ((prefix, kind) for prefix, kind in _PREFIXES.items() if text.startswith(prefix)), None
    )
    if found is None:
        raise InvalidSecretError(
            f"a Standard Webhooks key starts with {SECRET_PREFIX}, {SIGNING_KEY_PREFIX} or "
            f"{PUBLIC_KEY_PREFIX} (got {len(text)} characters without any of them)"
        )
    prefix, kind = found
    encoded = text[len(prefix) :]
    material = _b64decode(encoded)
    if material is None:
        raise InvalidSecretError(f"the part after {prefix} is not standard base64")
    if kind is KeyKind.SECRET:
        if not MIN_SECRET_BYTES <= len(material) <= MAX_SECRET_BYTES:
            raise InvalidSecretError(
                f"a {SECRET_PREFIX} secret decodes to {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} "
                f"bytes, this one to {len(material)}"
            )
    elif len(material) != ED25519_KEY_BYTES:
        raise InvalidSecretError(
            f"a {prefix} key decodes to {ED25519_KEY_BYTES} bytes, this one to {len(material)}"
        )
    return StandardKey(kind, material)


def _b64decode(encoded: str) -> bytes | None:
    if _BASE64_RE.match(encoded) is None or len(encoded) % 4:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None


@functools.lru_cache(maxsize=4096)
def _private(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


@functools.lru_cache(maxsize=4096)
def _public(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


@functools.lru_cache(maxsize=4096)
def _keyed(material: bytes) -> hmac.HMAC:
    return hmac.new(material, digestmod=hashlib.sha256)


def _check_message_id(msg_id: str) -> None:
    if not isinstance(msg_id, str) or _MESSAGE_ID_RE.match(msg_id) is None:
        raise ValueError(
            f"a message id is 1 to {MAX_MESSAGE_ID_LENGTH} printable ASCII characters "
            "without white space"
        )


def signature_entry(key: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` (``whsec_`` key) or ``v1a,<base64>`` (``whsk_`` key) entry."""
    parsed = parse_key(key)
    return _entry(parsed, _content(msg_id, timestamp, body))


def _content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    _check_message_id(msg_id)
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError(f"timestamp must be a non-negative int, got {timestamp!r}")
    return standard_signed_content(msg_id, timestamp, body)


def _entry(parsed: StandardKey, content: bytes) -> str:
    # Both key objects come from caches (_keyed, _private): built once per key, not per
    # attempt.
    if parsed.kind is KeyKind.SECRET:
        mac = _keyed(parsed.material).copy()
        mac.update(content)
        return f"{HMAC_VERSION},{base64.b64encode(mac.digest()).decode('ascii')}"
    if parsed.kind is KeyKind.SIGNING:
        raw = _private(parsed.material).sign(content)
        return f"{ED25519_VERSION},{base64.b64encode(raw).decode('ascii')}"
    raise InvalidSecretError("a whpk_ public key verifies signatures; it cannot sign")


def sign(keys: str | Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one entry per key, separated by spaces (several during
    a rotation, the primary key first)."""
    chosen = (keys,) if isinstance(keys, str) else keys
    if not chosen:
        raise ValueError("at least one key is required")
    parsed = [parse_key(key) for key in chosen]
    content = _content(msg_id, timestamp, body)  # once, whatever the number of keys
    return " ".join(_entry(key, content) for key in parsed)


def _parse_timestamp(raw: str) -> int:
    if _TIMESTAMP_RE.match(raw) is None:
        shown = raw if len(raw) <= 32 else f"{raw[:32]}…"
        raise InvalidTimestampError(
            f"header {STANDARD_TIMESTAMP_HEADER!r} must be an unsigned decimal integer of at "
            f"most {_MAX_TIMESTAMP_DIGITS} digits without leading zeros, got {shown!r}"
        )
    return int(raw)


def _entries(raw: str) -> list[tuple[str, bytes]]:
    """``(version, signature bytes)`` of each well-formed entry; unknown versions and entries
    that do not decode are dropped (they cannot match; the specification asks verifiers to
    skip versions they do not know)."""
    parts = raw.split()
    if not parts:
        raise InvalidSignatureError(f"header {STANDARD_SIGNATURE_HEADER!r} is empty")
    if len(parts) > MAX_SIGNATURE_ENTRIES:
        raise InvalidSignatureError(
            f"header {STANDARD_SIGNATURE_HEADER!r} has {len(parts)} entries, more than "
            f"{MAX_SIGNATURE_ENTRIES}"
        )
    found: list[tuple[str, bytes]] = []
    for part in parts:
        version, sep, encoded = part.partition(",")
        if not sep or version not in (HMAC_VERSION, ED25519_VERSION):
            continue
        decoded = _b64decode(encoded)
        if decoded is None:
            continue
        if version == HMAC_VERSION and len(decoded) != hashlib.sha256().digest_size:
            continue
        if version == ED25519_VERSION and len(decoded) != ED25519_SIGNATURE_BYTES:
            continue
        found.append((version, decoded))
    if not found:
        raise InvalidSignatureError(
            f"header {STANDARD_SIGNATURE_HEADER!r} holds no well-formed "
            f"{HMAC_VERSION},<base64> or {ED25519_VERSION},<base64> entry"
        )
    return found


def _matches(key: StandardKey, content: bytes, entries: list[tuple[str, bytes]]) -> bool:
    matched = False
    if key.kind is KeyKind.SECRET:
        mac = _keyed(key.material).copy()
        mac.update(content)
        digest = mac.digest()
        for version, signature in entries:  # no early exit
            if version == HMAC_VERSION:
                matched |= hmac.compare_digest(digest, signature)
        return matched
    verifier = (
        _public(key.material) if key.kind is KeyKind.PUBLIC else _private(key.material).public_key()
    )
    for version, signature in entries:
        if version != ED25519_VERSION:
            continue
        try:
            verifier.verify(signature, content)
        except InvalidSignature:
            continue
        matched = True
    return matched


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    keys: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE_S,
    now: int | None = None,
) -> None:
    """Verify a Standard Webhooks request; return None if authentic, else raise a
    VerificationError. ``keys``: ``whsec_`` secrets and/or ``whpk_`` public keys (a ``whsk_``
    signing key verifies with its public half); any one matching any entry is enough. A
    malformed key raises InvalidSecretError before the request is looked at."""
    chosen = [keys] if isinstance(keys, str) else list(keys)
    if not chosen:
        raise ValueError("at least one key is required")
    parsed = [parse_key(key) for key in chosen]
    if tolerance < 0:
        raise ValueError(f"tolerance must not be negative, got {tolerance}")

    msg_id = header_value(headers, STANDARD_ID_HEADER)
    raw_timestamp = header_value(headers, STANDARD_TIMESTAMP_HEADER)
    raw_signature = header_value(headers, STANDARD_SIGNATURE_HEADER)
    if _MESSAGE_ID_RE.match(msg_id) is None:
        raise InvalidMessageIdError(
            f"header {STANDARD_ID_HEADER!r} must be 1 to {MAX_MESSAGE_ID_LENGTH} printable "
            "ASCII characters without white space"
        )
    timestamp = _parse_timestamp(raw_timestamp)
    current = int(time.time()) if now is None else now
    age = current - timestamp
    if abs(age) > tolerance:
        raise TimestampOutOfToleranceError(age, tolerance)
    entries = _entries(raw_signature)

    if isinstance(body, str):
        try:
            payload = body.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidSignatureError("body str cannot be encoded as UTF-8") from None
    else:
        payload = bytes(body)
    content = standard_signed_content(msg_id, timestamp, payload)
    matched = False
    for key in parsed:  # every key is tried
        matched |= _matches(key, content, entries)
    if not matched:
        raise InvalidSignatureError(
            f"no entry of {STANDARD_SIGNATURE_HEADER!r} matches the id, timestamp and body "
            f"under any of the {len(parsed)} configured key(s)"
        )
