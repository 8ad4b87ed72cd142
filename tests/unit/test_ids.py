"""Prefixed ids: shape, uniqueness and time order (cursor pagination relies on it)."""

from __future__ import annotations

import base64
import os

from hypothesis import given
from hypothesis import strategies as st

from promptha_webhooks import ids


def test_shape_and_prefix() -> None:
    value = ids.new_id(ids.WEBHOOK)
    assert value.startswith("wh_") and len(value) == 3 + 26
    assert ids.has_prefix(value, ids.WEBHOOK)
    assert not ids.has_prefix(value, ids.DELIVERY)
    assert not ids.has_prefix("wh_short", ids.WEBHOOK)
    assert not ids.has_prefix("wh_" + "I" * 26, ids.WEBHOOK)  # I is not in Crockford's alphabet


def test_ids_sort_by_time() -> None:
    times = [0, 1, 2, 999, 1_000, 1_700_000_000_000, 1_700_000_000_001, 2**48 - 1]
    values = [ids.new_id("x", now_ms=t) for t in times]
    assert values == sorted(values)


def test_unique() -> None:
    values = {ids.new_id(ids.EVENT, now_ms=1) for _ in range(10_000)}
    assert len(values) == 10_000


@given(st.integers(0, 2**48 - 1), st.binary(min_size=10, max_size=10))
def test_encoding_is_crockford_base32_of_time_then_random_bits(ms: int, random: bytes) -> None:
    """Same text as RFC 4648 base32 of the 16 bytes mapped onto Crockford's alphabet (the
    format every stored id has had), from the table-driven encoder."""
    rfc4648 = base64.b32encode(ms.to_bytes(6, "big") + random)[:26].decode()
    expected = rfc4648.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ids._ALPHABET))
    assert ids._encode(ms, int.from_bytes(random, "big")) == expected


def test_ids_made_in_a_forked_child_differ_from_the_parent_s() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report one id made from the random pool it inherited
        os.write(write, ids.new_id(ids.EVENT, now_ms=1).encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.waitpid(pid, 0)
    parent = {ids.new_id(ids.EVENT, now_ms=1) for _ in range(100)}
    assert child.startswith("evt_") and child not in parent
