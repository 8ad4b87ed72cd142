"""The sender's aiohttp resolver never resolves a name itself: it answers with the addresses the
guard checked for the attempt in progress, and refuses any host it was not asked about."""

from __future__ import annotations

import socket

import pytest

from promptha_webhooks.config import Mode
from promptha_webhooks.delivery.transport import _PINNED, BlockedDestinationError, _PinnedResolver
from promptha_webhooks.destinations import Purpose, decide

from destination_tricks import resolve


async def test_no_pinned_decision_means_no_address() -> None:
    with pytest.raises(BlockedDestinationError):
        await _PinnedResolver().resolve("localhost", 443)


async def test_only_the_checked_host_and_port_get_the_checked_addresses() -> None:
    decision = await decide("https://mixed.example/x", Mode.DEVELOPMENT, resolve, Purpose.SEND)
    token = _PINNED.set(decision)
    try:
        answer = await _PinnedResolver().resolve("mixed.example", 443)
        assert [(r["host"], r["port"], r["family"]) for r in answer] == [
            ("93.184.215.14", 443, socket.AF_INET),
            ("10.0.0.1", 443, socket.AF_INET),
        ]
        for host, port in (("public.example", 443), ("mixed.example", 8443)):
            with pytest.raises(BlockedDestinationError):
                await _PinnedResolver().resolve(host, port)
    finally:
        _PINNED.reset(token)
