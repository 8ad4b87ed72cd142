"""Prefixed, time-sortable identifiers: acct_, key_, wh_, evt_, dlv_, att_.

The part after the prefix is 26 Crockford base32 characters encoding 48 bits of milliseconds
since the epoch then 80 random bits, so ids of one kind sort by creation time (cursor
pagination relies on it).
"""

from __future__ import annotations

import os
import threading
import time

ACCOUNT = "acct"
API_KEY = "key"
WEBHOOK = "wh"
EVENT = "evt"
DELIVERY = "dlv"
ATTEMPT = "att"

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BODY_LENGTH = 26
# Two base32 characters per 10 bits: 13 lookups encode the 128 bits (shifted left by 2, as
# RFC 4648 pads the last character). The dispatcher makes one id per attempt, so this is hot.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_RANDOM_BYTES = 10
_POOL_SIZE = 4096 * _RANDOM_BYTES


class _RandomPool:
    """os.urandom read in blocks: one system call per 4,096 ids, not one per id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._offset = 0
        self._pid = 0

    def take(self) -> int:
        with self._lock:
            # A forked child must not reuse its parent's unread bytes.
            if self._offset >= len(self._pool) or self._pid != os.getpid():
                self._pool = os.urandom(_POOL_SIZE)
                self._offset = 0
                self._pid = os.getpid()
            start = self._offset
            self._offset = start + _RANDOM_BYTES
            return int.from_bytes(self._pool[start : start + _RANDOM_BYTES], "big")


_random = _RandomPool()


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new id such as ``wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC``."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{prefix}_{_encode(ms, _random.take())}"


def _encode(ms: int, random_bits: int) -> str:
    value = (((ms & 0xFFFF_FFFF_FFFF) << 80) | random_bits) << 2
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 0x3FF] for shift in range(120, -1, -10)])


def has_prefix(value: str, prefix: str) -> bool:
    """Whether `value` looks like an id of the given kind (cheap shape check, not a lookup)."""
    if not value.startswith(prefix + "_"):
        return False
    body = value[len(prefix) + 1 :]
    return len(body) == _BODY_LENGTH and all(c in _ALPHABET for c in body)


def floor_id(prefix: str, at_ms: int) -> str:
    """The smallest possible id of the kind created at `at_ms`: every id created earlier sorts
    before it, so it serves as a "before this time" cursor."""
    return f"{prefix}_{_encode(max(at_ms, 0), 0)}"
