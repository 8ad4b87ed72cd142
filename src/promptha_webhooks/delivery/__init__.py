"""The delivery path, one module per stage: claim (due deliveries under lease), handoff
(publish → worker), attempt (build, sign, send), transport (the HTTP client), record (the only
writer of results), health (endpoint health), observe (metrics, logs), worker (the loop)."""

from __future__ import annotations

from promptha_webhooks.delivery.attempt import (
    AttemptMode,
    AttemptOutcome,
    DeliveryContext,
    Trigger,
    attempt,
)
from promptha_webhooks.delivery.claim import ClaimedDelivery, Claims
from promptha_webhooks.delivery.destination_transport import DestinationTransport
from promptha_webhooks.delivery.observe import Observer
from promptha_webhooks.delivery.record import Recorder
from promptha_webhooks.delivery.transport import (
    AiohttpTransport,
    OutboundRequest,
    Transport,
    TransportResponse,
)
from promptha_webhooks.delivery.worker import Dispatcher

__all__ = [
    "AiohttpTransport",
    "AttemptMode",
    "AttemptOutcome",
    "ClaimedDelivery",
    "Claims",
    "DeliveryContext",
    "DestinationTransport",
    "Dispatcher",
    "Observer",
    "OutboundRequest",
    "Recorder",
    "Transport",
    "TransportResponse",
    "Trigger",
    "attempt",
]
