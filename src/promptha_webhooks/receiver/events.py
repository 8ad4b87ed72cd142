"""Incoming events: the envelope parsed from a body and checked, its payload typed by the catalogue.

``{"event": <type>, "data": {<payload>, "eventId": <evt id>}, "timestamp": <unix seconds>}``
becomes an :class:`Event` whose ``data`` is the event type's Pydantic model from
:mod:`promptha_webhooks.catalog` (or :class:`~promptha_webhooks.catalog.EventPayload` for an
event type this SDK does not know yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from promptha_webhooks import canonical_json
from promptha_webhooks.catalog import EVENT_TYPES_BY_NAME, EventPayload
from promptha_webhooks.receiver.errors import InvalidPayloadError
from promptha_webhooks.signature_headers import ATTEMPT_HEADER, DELIVERY_ID_HEADER, TEST_HEADER

__all__ = [
    "ATTEMPT_HEADER",
    "DELIVERY_ID_HEADER",
    "TEST_HEADER",
    "Delivery",
    "Envelope",
    "Event",
    "build_event",
    "delivery_from_headers",
    "parse_envelope",
    "payload_model",
]


P = TypeVar("P", bound=EventPayload)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the (unsigned) delivery headers say about this attempt; informative only."""

    delivery_id: str | None = None
    attempt: int | None = None
    test: bool = False


@dataclass(frozen=True, slots=True)
class Envelope:
    """A body with the right shape; ``data`` not yet checked against its event type's model."""

    event: str
    event_id: str
    timestamp: int
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Event(Generic[P]):
    """One event as handlers receive it.

    ``event`` is the type (``"fabric.completed"``), ``event_id`` the ``evt_…`` id that is the
    same on every delivery attempt, ``timestamp`` the Unix time the event happened, and
    ``data`` the typed payload (``data.eventId == event_id``).
    """

    event: str
    event_id: str
    timestamp: int
    data: P
    delivery: Delivery = Delivery()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if isinstance(key, str) and key.lower() == name:
                return candidate
    return value


def delivery_from_headers(headers: Mapping[str, str]) -> Delivery:
    """Read ``x-promptha-delivery-id``, ``-attempt`` and ``-test``; malformed values are None."""
    raw_attempt = _header(headers, ATTEMPT_HEADER)
    attempt = int(raw_attempt) if raw_attempt is not None and raw_attempt.isdigit() else None
    return Delivery(
        delivery_id=_header(headers, DELIVERY_ID_HEADER),
        attempt=attempt,
        test=(_header(headers, TEST_HEADER) or "").lower() == "true",
    )


def parse_envelope(body: bytes | str) -> Envelope:
    """Parse and shape-check a body; raise InvalidPayloadError naming what is wrong."""
    try:
        document = canonical_json.loads(body)
    except canonical_json.CanonicalJSONError as exc:
        raise InvalidPayloadError(f"body is not valid JSON: {exc.reason}") from None
    if not isinstance(document, dict):
        raise InvalidPayloadError("body must be a JSON object {event, data, timestamp}")
    event = document.get("event")
    if not isinstance(event, str) or not event:
        raise InvalidPayloadError("body field 'event' must be a non-empty string", field="event")
    data = document.get("data")
    if not isinstance(data, dict):
        raise InvalidPayloadError("body field 'data' must be a JSON object", field="data")
    timestamp = document.get("timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise InvalidPayloadError(
            "body field 'timestamp' must be a non-negative integer (Unix seconds)",
            field="timestamp",
        )
    event_id = data.get("eventId")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidPayloadError(
            "body field 'data.eventId' must be a non-empty string", field="data.eventId"
        )
    return Envelope(event=event, event_id=event_id, timestamp=timestamp, data=data)


def payload_model(event: str) -> type[EventPayload]:
    """The catalogue's model for ``event``; the common base for event types not in it."""
    event_type = EVENT_TYPES_BY_NAME.get(event)
    return EventPayload if event_type is None else event_type.payload_model


def build_event(envelope: Envelope, delivery: Delivery = Delivery()) -> Event[Any]:
    """Validate the payload against its model; raise InvalidPayloadError naming the field."""
    try:
        data = payload_model(envelope.event).model_validate(envelope.data)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(part) for part in error["loc"])
        if error["type"] == "missing":
            message = f"{envelope.event} payload requires field {path!r}"
        else:
            message = f"{envelope.event} payload field {path!r}: {error['msg']}"
        raise InvalidPayloadError(message, field=f"data.{path}") from None
    return Event(
        event=envelope.event,
        event_id=envelope.event_id,
        timestamp=envelope.timestamp,
        data=data,
        delivery=delivery,
    )
