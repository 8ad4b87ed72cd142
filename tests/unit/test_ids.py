"""Prefixed ids: shape, uniqueness and time order (cursor pagination relies on it)."""

from __future__ import annotations

import base64
import os
from collections import Counter

import pytest
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


def _random_bits(drawn: bytes) -> int:
    """The 80 random bits an id holds, from the 17 bytes new_id drew for it: the low 2 bits of
    the first, the low 5 bits of each of the next 15, bits 2-4 of the last."""
    bits = drawn[0] & 3
    for byte in drawn[1:16]:
        bits = (bits << 5) | (byte & 31)
    return (bits << 3) | ((drawn[16] & 31) >> 2)


@given(st.integers(0, 2**48 - 1), st.binary(min_size=17, max_size=17))
def test_new_id_is_the_encoding_of_its_time_and_the_random_bits_it_drew(
    ms: int, drawn: bytes
) -> None:
    pool = ids._RandomPool(read=lambda size: drawn * (size // len(drawn)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ids, "_random", pool)
        value = ids.new_id(ids.DELIVERY, now_ms=ms)
    assert value == "dlv_" + ids._encode(ms, _random_bits(drawn))


def test_every_random_bit_of_an_id_varies() -> None:
    """Within one millisecond the 10th character takes all 4 values its 2 random bits allow,
    the next 15 all 32, the last all 8 (its 2 low bits are padding): 80 random bits."""
    bodies = [ids.new_id(ids.EVENT, now_ms=1_700_000_000_000)[4:] for _ in range(4096)]
    assert len({body[:9] for body in bodies}) == 1  # the time
    counts = [len(Counter(body[position] for body in bodies)) for position in range(9, 26)]
    assert counts == [4] + [32] * 15 + [8]
