"""Prefixed ids: shape, uniqueness and time order (cursor pagination relies on it)."""

from __future__ import annotations

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
