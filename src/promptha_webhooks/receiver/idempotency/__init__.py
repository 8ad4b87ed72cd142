"""Idempotency by ``eventId``: the store protocol every backend implements.

A store turns "has this event been handled?" into an atomic claim: ``claim`` returns CLAIMED to
exactly one caller per event (the others see IN_PROGRESS or DONE); the holder runs the handler,
then ``complete``s (DONE is kept for ``done_ttl_s``) or, when the handler failed, ``release``s so
that a retry can run it again. A claim lapses after ``claim_ttl_s`` so a crashed processor
blocks an event only that long. Backends: ``.sqlite``, ``.postgres``, ``.redis``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

__all__ = [
    "CLAIM_TTL_S",
    "DEFAULT_TABLE",
    "DONE_TTL_S",
    "Claim",
    "ClaimState",
    "IdempotencyStore",
    "check_ttls",
    "quote_table_name",
]

CLAIM_TTL_S = 120.0
"""How long a claim holds before another processor may take the event over, in seconds.

It must be longer than the slowest handler run: the sender gives an attempt 30 s."""

DONE_TTL_S = 7 * 24 * 3600.0
"""How long a handled event is remembered, in seconds (the sender's retries span ~2.5 h)."""

DEFAULT_TABLE = "promptha_webhook_events"
"""Table (SQL stores) where claims and handled events are kept."""

_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")


class ClaimState(StrEnum):
    CLAIMED = "claimed"
    """The caller holds the event: run the handler, then complete or release."""
    IN_PROGRESS = "in_progress"
    """Another processor holds an unexpired claim on the event."""
    DONE = "done"
    """The event was handled already."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer of :meth:`IdempotencyStore.claim`; ``token`` is set only when CLAIMED."""

    event_id: str
    state: ClaimState
    token: str | None = None


@runtime_checkable
class IdempotencyStore(Protocol):
    """Atomic claims on event ids. Driver errors surface as StoreUnavailableError."""

    async def claim(self, event_id: str) -> Claim:
        """Claim ``event_id`` unless it is done or claimed by someone else (atomically)."""
        ...

    async def complete(self, claim: Claim) -> bool:
        """Mark the claimed event done; False if the claim had lapsed and was taken over."""
        ...

    async def release(self, claim: Claim) -> bool:
        """Give the claim up so a retry can claim the event again; False if it had lapsed."""
        ...

    async def aclose(self) -> None:
        """Close connections the store opened (it reconnects if used again)."""
        ...


def check_ttls(claim_ttl_s: float, done_ttl_s: float) -> None:
    if claim_ttl_s <= 0:
        raise ValueError(f"claim_ttl_s must be positive, got {claim_ttl_s}")
    if done_ttl_s <= 0:
        raise ValueError(f"done_ttl_s must be positive, got {done_ttl_s}")


def quote_table_name(name: str) -> str:
    """``"name"`` or ``"schema"."name"``; refuse anything but plain identifiers."""
    parts = name.split(".")
    if len(parts) > 2 or not all(_IDENTIFIER_RE.match(part) for part in parts):
        raise ValueError(
            f"table name must be an identifier or schema.identifier (letters, digits, _), "
            f"got {name!r}"
        )
    return ".".join(f'"{part}"' for part in parts)
