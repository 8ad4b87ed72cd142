"""The event types: the guide's nine, and four operational ones the service itself publishes
about an account's endpoints (`webhook.failing`, `webhook.disabled`, `webhook.recovered`,
`delivery.failed`): names, groups, descriptions, payload models and samples.

Payload models are Pydantic (strict types, extra fields allowed) so the API validates what is
published and the receiver SDK hands handlers typed objects; their JSON Schemas are served by
`GET /v1/event-types`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictStr, ValidationError, WithJsonSchema

from promptha_webhooks.errors import InvalidRequestError

# Strict float accepts JSON integers and floats alike, and refuses strings and booleans.
Number = StrictFloat


class EventPayload(BaseModel):
    """Fields every delivery's `data` has; extra fields are kept."""

    model_config = ConfigDict(strict=True, extra="allow")

    eventId: StrictStr | None = None


class FabricStarted(EventPayload):
    executionId: StrictStr
    fabricId: StrictStr
    inputs: dict[str, Any]


# A completed execution's token counts: a plain object for receivers (`event.data.usage` is a
# dict, as it always was), whose JSON Schema declares the counts as numbers so that payload
# filters on them (`usage.totalTokens`) are checked like any declared field (routing.py).
UsageCounts = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "properties": {
                "promptTokens": {"type": "number"},
                "completionTokens": {"type": "number"},
                "totalTokens": {"type": "number"},
            },
            "additionalProperties": True,
        }
    ),
]


class FabricCompleted(EventPayload):
    executionId: StrictStr
    fabricId: StrictStr
    result: Any
    usage: UsageCounts


class FabricFailed(EventPayload):
    executionId: StrictStr
    fabricId: StrictStr
    error: dict[str, Any]


class AskSessionCreated(EventPayload):
    sessionId: StrictStr
    askId: StrictStr


class AskMessage(EventPayload):
    sessionId: StrictStr
    message: Any


class AskSessionEnded(EventPayload):
    sessionId: StrictStr
    summary: Any


class CreditsLow(EventPayload):
    remaining: Number
    threshold: Number
    userId: StrictStr


class CreditsDepleted(EventPayload):
    lastUsage: Any
    userId: StrictStr


class CreditsPurchased(EventPayload):
    amount: Number
    newBalance: Number
    userId: StrictStr


class WebhookFailing(EventPayload):
    webhookId: StrictStr
    url: StrictStr
    percent: Number  # share of the auto-disable budget used: 50, 75 or 90
    failingSince: Number  # unix seconds of the first failure of the streak
    disableAt: Number  # unix seconds when it is disabled if nothing succeeds
    consecutiveFailures: Number
    failedDeliveries: Number
    lastFailureReason: StrictStr | None


class WebhookDisabled(EventPayload):
    webhookId: StrictStr
    url: StrictStr
    reason: StrictStr  # auto_disabled | gone | receiver_disabled
    failingSince: Number | None
    consecutiveFailures: Number
    lastFailureReason: StrictStr | None


class WebhookRecovered(EventPayload):
    webhookId: StrictStr
    url: StrictStr
    failingSince: Number | None
    recoveredAt: Number


class DeliveryFailed(EventPayload):
    webhookId: StrictStr
    url: StrictStr
    deliveryId: StrictStr
    failedEvent: StrictStr  # the type of the event that was not delivered
    failedEventId: StrictStr
    attempts: Number
    lastResponseStatus: Number | None
    lastError: StrictStr | None


@dataclass(frozen=True)
class EventType:
    name: str
    group: str
    description: str
    payload_model: type[EventPayload]
    sample: dict[str, Any]
    # Published by the service about an account's own endpoints (alerts). Their deliveries
    # never cause further alerts (no feedback loop through a failing alert endpoint).
    operational: bool = False

    def json_schema(self) -> dict[str, Any]:
        schema = self.payload_model.model_json_schema()
        schema["properties"].pop("eventId", None)
        schema["title"] = self.name
        schema["additionalProperties"] = True
        return schema


EVENT_TYPES: tuple[EventType, ...] = (
    EventType(
        "fabric.started",
        "Fabric",
        "Execution began",
        FabricStarted,
        {
            "executionId": "exec_9f3a2c71",
            "fabricId": "product-description",
            "inputs": {"productName": "Trail Runner 2", "tone": "friendly"},
        },
    ),
    EventType(
        "fabric.completed",
        "Fabric",
        "Execution finished",
        FabricCompleted,
        {
            "executionId": "exec_9f3a2c71",
            "fabricId": "product-description",
            "result": {"output": "Lightweight trail shoes built for long days on rough ground."},
            "usage": {"promptTokens": 182, "completionTokens": 64, "totalTokens": 246},
        },
    ),
    EventType(
        "fabric.failed",
        "Fabric",
        "Execution errored",
        FabricFailed,
        {
            "executionId": "exec_5b7d0e12",
            "fabricId": "seo-optimizer",
            "error": {"type": "rate_limit", "message": "Model rate limit exceeded"},
        },
    ),
    EventType(
        "ask.session.created",
        "Ask",
        "New session started",
        AskSessionCreated,
        {"sessionId": "sess_4c1e8a90", "askId": "ask_support-bot"},
    ),
    EventType(
        "ask.message",
        "Ask",
        "New message in session",
        AskMessage,
        {
            "sessionId": "sess_4c1e8a90",
            "message": {"role": "assistant", "content": "Your order ships tomorrow."},
        },
    ),
    EventType(
        "ask.session.ended",
        "Ask",
        "Session completed",
        AskSessionEnded,
        {"sessionId": "sess_4c1e8a90", "summary": "Customer asked about shipping; answered."},
    ),
    EventType(
        "credits.low",
        "Credits",
        "Below threshold",
        CreditsLow,
        {"remaining": 120, "threshold": 500, "userId": "user_7d2f"},
    ),
    EventType(
        "credits.depleted",
        "Credits",
        "Credits exhausted",
        CreditsDepleted,
        {"lastUsage": {"executionId": "exec_9f3a2c71", "credits": 12}, "userId": "user_7d2f"},
    ),
    EventType(
        "credits.purchased",
        "Credits",
        "Credits added",
        CreditsPurchased,
        {"amount": 5000, "newBalance": 5120, "userId": "user_7d2f"},
    ),
    EventType(
        "webhook.failing",
        "Operations",
        "An endpoint keeps failing: 50, 75 or 90 % of its auto-disable budget is used",
        WebhookFailing,
        {
            "webhookId": "wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC",
            "url": "https://yourapp.com/webhooks/promptha",
            "percent": 50,
            "failingSince": 1767225600,
            "disableAt": 1767484800,
            "consecutiveFailures": 42,
            "failedDeliveries": 7,
            "lastFailureReason": "HTTP 503",
        },
        operational=True,
    ),
    EventType(
        "webhook.disabled",
        "Operations",
        "An endpoint was disabled: failing for too long, 410 Gone, or at the receiver's request",
        WebhookDisabled,
        {
            "webhookId": "wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC",
            "url": "https://yourapp.com/webhooks/promptha",
            "reason": "auto_disabled",
            "failingSince": 1767225600,
            "consecutiveFailures": 96,
            "lastFailureReason": "connection error: Connection refused",
        },
        operational=True,
    ),
    EventType(
        "webhook.recovered",
        "Operations",
        "An endpoint that was failing or disabled succeeded again",
        WebhookRecovered,
        {
            "webhookId": "wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC",
            "url": "https://yourapp.com/webhooks/promptha",
            "failingSince": 1767225600,
            "recoveredAt": 1767300000,
        },
        operational=True,
    ),
    EventType(
        "delivery.failed",
        "Operations",
        "A delivery failed for good (retries exhausted or a permanent error)",
        DeliveryFailed,
        {
            "webhookId": "wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC",
            "url": "https://yourapp.com/webhooks/promptha",
            "deliveryId": "dlv_01JDQ40C8W2M5R7T9V1X3Z5B7D",
            "failedEvent": "fabric.completed",
            "failedEventId": "evt_01JDQ40C8V0A2C4E6G8J0K2M4P",
            "attempts": 6,
            "lastResponseStatus": 503,
            "lastError": "HTTP 503",
        },
        operational=True,
    ),
)

EVENT_TYPES_BY_NAME: dict[str, EventType] = {t.name: t for t in EVENT_TYPES}
EVENT_NAMES: frozenset[str] = frozenset(EVENT_TYPES_BY_NAME)
OPERATIONAL_EVENT_NAMES: frozenset[str] = frozenset(t.name for t in EVENT_TYPES if t.operational)


def get_event_type(name: object, *, field: str = "event") -> EventType:
    """The event type called `name`, or a 400 naming the known types."""
    event_type = EVENT_TYPES_BY_NAME.get(name) if isinstance(name, str) else None
    if event_type is None:
        known = ", ".join(sorted(EVENT_NAMES))
        raise InvalidRequestError(f"Unknown event type {name!r}; known types: {known}", field=field)
    return event_type


@cache
def payload_fields(name: str) -> frozenset[str]:
    """The payload fields the event type's JSON Schema declares (`eventId` aside: the service
    adds it to every delivery)."""
    return frozenset(EVENT_TYPES_BY_NAME[name].json_schema()["properties"])


@cache
def declared_fields() -> frozenset[str]:
    """Every payload field some event type declares."""
    return frozenset().union(*(payload_fields(name) for name in EVENT_TYPES_BY_NAME))


# JSON types a payload field may hold, as filters compare them ("integer" counts as "number").
JsonTypes = frozenset[str]
# What a payload path is in an event type's schema: None when the schema does not declare it,
# OPEN when a declared field leaves its shape open (`result`, `inputs`: anything below goes),
# else the JSON types it may hold.
OPEN: JsonTypes = frozenset({"string", "number", "boolean", "null", "object", "array"})


@cache
def field_types(name: str, path: tuple[str, ...]) -> JsonTypes | None:
    """The JSON types the payload path may hold in the event type's JSON Schema (`eventId`
    aside); None when the schema has no such field. Beneath a field whose schema names no
    properties (an open object, or any value) every path is OPEN."""
    schema = EVENT_TYPES_BY_NAME[name].json_schema()
    definitions: dict[str, Any] = schema.get("$defs", {})
    node: dict[str, Any] = schema
    for segment in path:
        branches = _branches(node, definitions)
        objects = [b for b in branches if b.get("type") == "object" or "properties" in b]
        if any(b.get("type") is None and "properties" not in b for b in branches):
            return OPEN  # any value: nothing known below
        if not objects:
            return None  # a string, number… has no fields
        declared = [b["properties"][segment] for b in objects if segment in b.get("properties", {})]
        if declared:
            node = {"anyOf": declared}
            continue
        if any("properties" not in b for b in objects):
            return OPEN  # an open object (dict[str, Any])
        return None
    types: set[str] = set()
    for branch in _branches(node, definitions):
        kind = branch.get("type")
        if kind is None:
            return OPEN
        types.add("number" if kind == "integer" else kind)
    return frozenset(types)


def _branches(node: dict[str, Any], definitions: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives a schema node allows, references resolved."""
    if "$ref" in node:
        return _branches(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
    if "anyOf" in node:
        return [leaf for branch in node["anyOf"] for leaf in _branches(branch, definitions)]
    return [node]


def validate_payload(event_type: EventType, data: dict[str, Any], *, field: str = "data") -> None:
    """Raise a 400 naming the first missing or mistyped payload field."""
    try:
        event_type.payload_model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(p) for p in error["loc"])
        if error["type"] == "missing":
            message = f"{event_type.name} payload requires field {path!r}"
        else:
            message = f"{event_type.name} payload field {path!r}: {error['msg']}"
        raise InvalidRequestError(message, field=f"{field}.{path}") from None


def sample_payload(
    event_type: EventType, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The event type's sample with `overrides` on top (given fields win), as test events use."""
    merged = dict(event_type.sample)
    if overrides:
        merged.update(overrides)
    return merged
