"""Prefixed, time-sortable identifiers: acct_, key_, wh_, evt_, dlv_, att_, ps_.

The part after the prefix is 26 Crockford base32 characters encoding 48 bits of milliseconds
since the epoch then 80 random bits, so ids of one kind sort by creation time (cursor
pagination relies on it).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

ACCOUNT = "acct"
API_KEY = "key"
WEBHOOK = "wh"
EVENT = "evt"
DELIVERY = "dlv"
ATTEMPT = "att"
PORTAL_SESSION = "ps"

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BODY_LENGTH = 26
# Two base32 characters per 10 bits: 13 lookups encode the 128 bits (shifted left by 2, as
# RFC 4648 pads the last character).
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
# new_id is hot (two per published event, one per attempt), so it does not go through _encode:
# the 48 bits of time give the first 9 characters and 3 bits of the 10th, cached while the
# millisecond lasts; the 80 random bits are drawn as one random byte per character, whose low 5
# bits are uniform (256 is a multiple of 32): 2 bits of the 10th character, the 15 characters
# after it, and 3 bits of the last, whose 2 padding bits are zero. The text is _encode's.
_BYTES_PER_ID = 17
_BYTE_TO_CHARACTER = bytes(ord(_ALPHABET[b & 31]) for b in range(256))
_POOL_IDS = 4096


class _RandomPool:
    """os.urandom read in blocks, one system call per 4,096 ids, and turned into base32
    characters in one pass (bytes.translate): each id takes 17 bytes (see _BYTES_PER_ID)."""

    def __init__(self, read: Callable[[int], bytes] = os.urandom) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._bytes = b""
        self._characters = ""
        self._offset = 0

    def take(self) -> tuple[int, str, int]:
        """A random byte (its low 2 bits are used), 15 random base32 characters, and a random
        byte (its bits 2-4 are used)."""
        with self._lock:
            start = self._offset
            if start >= len(self._bytes):
                self._bytes = self._read(_POOL_IDS * _BYTES_PER_ID)
                self._characters = self._bytes.translate(_BYTE_TO_CHARACTER).decode("ascii")
                start = 0
            self._offset = start + _BYTES_PER_ID
            pool = self._bytes
            return pool[start], self._characters[start + 1 : start + 16], pool[start + 16]

    def discard(self) -> None:
        """In a forked child: never hand out bytes the parent may also use."""
        self._lock = threading.Lock()
        self._bytes = b""
        self._characters = ""
        self._offset = 0


_random = _RandomPool()
os.register_at_fork(after_in_child=_random.discard)
# (millisecond, its first 9 characters): replaced as a whole, so a thread never sees half.
_time_characters = (-1, "")


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new id such as ``wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC``."""
    global _time_characters
    ms = (int(time.time() * 1000) if now_ms is None else now_ms) & 0xFFFF_FFFF_FFFF
    cached = _time_characters
    if cached[0] != ms:
        cached = (ms, _encode_time(ms))
        _time_characters = cached
    first, middle, last = _random.take()
    tenth = _ALPHABET[((ms & 7) << 2) | (first & 3)]
    return f"{prefix}_{cached[1]}{tenth}{middle}{_ALPHABET[last & 28]}"


def _encode_time(ms: int) -> str:
    """The first 9 characters: the top 45 of the 48 bits of time."""
    v = ms >> 3
    p = _PAIRS
    return (
        p[v >> 35]
        + p[(v >> 25) & 1023]
        + p[(v >> 15) & 1023]
        + p[(v >> 5) & 1023]
        + _ALPHABET[v & 31]
    )


def _encode(ms: int, random_bits: int) -> str:
    """48 bits of time then 80 random bits, as 26 characters (floor_id; the reference for
    new_id's text)."""
    v = (((ms & 0xFFFF_FFFF_FFFF) << 80) | random_bits) << 2
    p = _PAIRS  # unrolled: a third cheaper than a join over range(120, -1, -10)
    return (
        p[v >> 120]
        + p[(v >> 110) & 1023]
        + p[(v >> 100) & 1023]
        + p[(v >> 90) & 1023]
        + p[(v >> 80) & 1023]
        + p[(v >> 70) & 1023]
        + p[(v >> 60) & 1023]
        + p[(v >> 50) & 1023]
        + p[(v >> 40) & 1023]
        + p[(v >> 30) & 1023]
        + p[(v >> 20) & 1023]
        + p[(v >> 10) & 1023]
        + p[v & 1023]
    )


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
