"""Receiver SDK: verify Promptha webhook deliveries and route typed events to your handlers.

    hooks = Webhooks(secret="whsec_…", idempotency=SQLiteIdempotencyStore("events.db"))

    @hooks.on("fabric.completed")
    async def completed(event: Event[FabricCompleted]) -> None: ...

    response = await hooks.handle(body, headers)   # or a framework adapter from .adapters

Stores live in ``.idempotency.{sqlite,postgres,redis}``, queue mode in
``.queue.procrastinate``, framework adapters in ``.adapters.{fastapi,flask,django}``; this
package imports none of their optional dependencies.
"""

from __future__ import annotations

from promptha_webhooks.receiver.errors import (
    DuplicateHandlerError,
    EventInProgressError,
    InvalidPayloadError,
    QueueUnavailableError,
    ReceiverError,
    StoreUnavailableError,
    UnknownEventError,
)
from promptha_webhooks.receiver.events import Delivery, Event
from promptha_webhooks.receiver.idempotency import (
    CLAIM_TTL_S,
    DONE_TTL_S,
    Claim,
    ClaimState,
    IdempotencyStore,
)
from promptha_webhooks.receiver.ip import IPAllowList, client_ip
from promptha_webhooks.receiver.published_ips import EgressListError, PublishedIPs
from promptha_webhooks.receiver.queue import EventQueue, QueuedEvent
from promptha_webhooks.receiver.router import Outcome, Response, Webhooks
from promptha_webhooks.receiver.testing import SignedRequest, signed_request
from promptha_webhooks.receiver.verify import (
    DEFAULT_TOLERANCE_S,
    InvalidSignatureError,
    InvalidTimestampError,
    MissingHeaderError,
    TimestampOutOfToleranceError,
    VerificationError,
    verify,
    verify_parsed,
)

__all__ = [
    "CLAIM_TTL_S",
    "DEFAULT_TOLERANCE_S",
    "DONE_TTL_S",
    "Claim",
    "ClaimState",
    "Delivery",
    "DuplicateHandlerError",
    "EgressListError",
    "Event",
    "EventInProgressError",
    "EventQueue",
    "IPAllowList",
    "IdempotencyStore",
    "InvalidPayloadError",
    "InvalidSignatureError",
    "InvalidTimestampError",
    "MissingHeaderError",
    "Outcome",
    "PublishedIPs",
    "QueueUnavailableError",
    "QueuedEvent",
    "ReceiverError",
    "Response",
    "SignedRequest",
    "StoreUnavailableError",
    "TimestampOutOfToleranceError",
    "UnknownEventError",
    "VerificationError",
    "Webhooks",
    "client_ip",
    "signed_request",
    "verify",
    "verify_parsed",
]
