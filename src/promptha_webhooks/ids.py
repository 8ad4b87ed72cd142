"""Prefixed, time-sortable identifiers: acct_, key_, wh_, evt_, dlv_, att_.

The part after the prefix is 26 Crockford base32 characters encoding 48 bits of milliseconds
since the epoch then 80 random bits, so ids of one kind sort by creation time (cursor
pagination relies on it).
"""

from __future__ import annotations

import base64
import os
import time

ACCOUNT = "acct"
API_KEY = "key"
WEBHOOK = "wh"
EVENT = "evt"
DELIVERY = "dlv"
ATTEMPT = "att"

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BODY_LENGTH = 26
# base64.b32encode's alphabet, value for value, mapped onto Crockford's (whose ASCII order is
# value order, so ids sort by time).
_FROM_RFC4648 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new id such as ``wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC``."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    raw = ms.to_bytes(6, "big") + os.urandom(10)
    return f"{prefix}_{base64.b32encode(raw)[:_BODY_LENGTH].decode().translate(_FROM_RFC4648)}"


def has_prefix(value: str, prefix: str) -> bool:
    """Whether `value` looks like an id of the given kind (cheap shape check, not a lookup)."""
    if not value.startswith(prefix + "_"):
        return False
    body = value[len(prefix) + 1 :]
    return len(body) == _BODY_LENGTH and all(c in _ALPHABET for c in body)


def floor_id(prefix: str, at_ms: int) -> str:
    """The smallest possible id of the kind created at `at_ms`: every id created earlier sorts
    before it, so it serves as a "before this time" cursor."""
    raw = max(at_ms, 0).to_bytes(6, "big") + bytes(10)
    return f"{prefix}_{base64.b32encode(raw)[:_BODY_LENGTH].decode().translate(_FROM_RFC4648)}"
