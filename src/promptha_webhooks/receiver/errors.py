"""The receiver SDK's exceptions; each carries the status code the router answers with.

PrompthaError
└── ReceiverError
    ├── InvalidPayloadError      400 invalid_payload (not JSON, bad envelope, payload invalid)
    ├── UnknownEventError        unknown event name given to ``Webhooks.on`` (also a ValueError)
    ├── DuplicateHandlerError    a second handler for one event (also a ValueError)
    ├── EventInProgressError     503 event_in_progress (another process holds the event's claim)
    ├── StoreUnavailableError    503 service_unavailable (idempotency store unreachable)
    └── QueueUnavailableError    503 service_unavailable (job queue unreachable)

Signature failures are ``promptha_webhooks.signing.VerificationError`` and its subclasses
(answered with 401); handler exceptions propagate unchanged (answered with 500).
"""

from __future__ import annotations

from promptha_webhooks.errors import PrompthaError

__all__ = [
    "DuplicateHandlerError",
    "EventInProgressError",
    "InvalidPayloadError",
    "QueueUnavailableError",
    "ReceiverError",
    "StoreUnavailableError",
    "UnknownEventError",
]


class ReceiverError(PrompthaError):
    """The webhook receiver failed."""


class InvalidPayloadError(ReceiverError):
    """The request body is not a valid Promptha event."""

    status_code = 400
    error_type = "invalid_payload"


class UnknownEventError(ReceiverError, ValueError):
    """No such event type."""

    status_code = 400
    error_type = "unknown_event"


class DuplicateHandlerError(ReceiverError, ValueError):
    """A handler is already registered for this event type."""


class EventInProgressError(ReceiverError):
    """Another request is processing this event right now; retry shortly."""

    status_code = 503
    error_type = "event_in_progress"


class StoreUnavailableError(ReceiverError):
    """The idempotency store is unavailable; retry shortly."""

    status_code = 503
    error_type = "service_unavailable"


class QueueUnavailableError(ReceiverError):
    """The event queue is unavailable; retry shortly."""

    status_code = 503
    error_type = "service_unavailable"
