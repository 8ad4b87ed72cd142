"""Every /v1 call as data: method, path, query, body, and how to read the answer.

Shared by the sync and the async client, which only differ in how they send a `Call`. Nothing
here does I/O.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from promptha_webhooks.models import (
    Account,
    AccountCreated,
    ApiKey,
    Delivery,
    DeliveryDetail,
    DeliveryStatus,
    Event,
    EventTypeInfo,
    Page,
    PublishedBatch,
    TestResult,
    Webhook,
    WebhookSecret,
    WebhookWithSecret,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_PREFIX = "pwc_"
# The API's page size limit; iterators ask for full pages.
MAX_PAGE_SIZE = 100


class NotGiven(enum.Enum):
    """Marks an update argument that was left out (None is a value: it rotates or clears)."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven.NOT_GIVEN
Param = str | int


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request and the reader of its answer's JSON (None for an empty answer)."""

    method: str
    path: str
    read: Callable[[Any], T]
    params: Mapping[str, Param] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_safe: bool = False

    def content(self) -> bytes | None:
        if self.body is None:
            return None
        return json.dumps(self.body, ensure_ascii=False, allow_nan=False).encode("utf-8")


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """One event of `events.publish_batch`; a key is generated when `idempotency_key` is None."""

    event: str
    data: Mapping[str, Any]
    idempotency_key: str | None = None


def new_idempotency_key() -> str:
    return f"{IDEMPOTENCY_KEY_PREFIX}{uuid.uuid4().hex}"


def _segment(value: str, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def _query(**values: Param | None) -> dict[str, Param]:
    return {name: value for name, value in values.items() if value is not None}


def _get(path: str, read: Callable[[Any], T], **params: Param | None) -> Call[T]:
    return Call("GET", path, read, params=_query(**params), retry_safe=True)


def _nothing(_: Any) -> None:
    return None


def _webhook(document: Any) -> Webhook:
    return Webhook.model_validate(document)  # secret stays None: only `create` reveals it


def _webhook_page(document: Any) -> Page[Webhook]:
    return Page[Webhook].model_validate(document)


def _list_of(model: type[M]) -> Callable[[Any], list[M]]:
    def read(document: Any) -> list[M]:
        return [model.model_validate(item) for item in document]

    return read


# -- webhooks ------------------------------------------------------------------------------


def create_webhook(
    url: str,
    events: Sequence[str],
    *,
    secret: str | None,
    filters: Mapping[str, Sequence[Any]] | None,
    description: str,
    enabled: bool,
) -> Call[WebhookWithSecret]:
    body: dict[str, Any] = {
        "url": url,
        "events": list(events),
        "description": description,
        "enabled": enabled,
    }
    if secret is not None:
        body["secret"] = secret
    if filters is not None:
        body["filters"] = {key: list(values) for key, values in filters.items()}
    return Call("POST", "/v1/webhooks", WebhookWithSecret.model_validate, body=body)


def list_webhooks(limit: int | None, cursor: str | None) -> Call[Page[Webhook]]:
    return _get("/v1/webhooks", _webhook_page, limit=limit, cursor=cursor)


def get_webhook(webhook_id: str) -> Call[Webhook]:
    return _get(f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}", _webhook)


def update_webhook(
    webhook_id: str,
    *,
    url: str | NotGiven,
    events: Sequence[str] | NotGiven,
    secret: str | NotGiven | None,
    filters: Mapping[str, Sequence[Any]] | NotGiven | None,
    description: str | NotGiven,
    enabled: bool | NotGiven,
) -> Call[Webhook]:
    body: dict[str, Any] = {}
    if url is not NOT_GIVEN:
        body["url"] = url
    if events is not NOT_GIVEN:
        body["events"] = list(events)
    if secret is not NOT_GIVEN:
        body["secret"] = secret
    if filters is not NOT_GIVEN:
        body["filters"] = (
            None if filters is None else {key: list(values) for key, values in filters.items()}
        )
    if description is not NOT_GIVEN:
        body["description"] = description
    if enabled is not NOT_GIVEN:
        body["enabled"] = enabled
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}"
    return Call("PATCH", path, _webhook, body=body)


def delete_webhook(webhook_id: str) -> Call[None]:
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}"
    return Call("DELETE", path, _nothing, retry_safe=True)


def get_webhook_secret(webhook_id: str) -> Call[WebhookSecret]:
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}/secret"
    return _get(path, WebhookSecret.model_validate)


def send_test_event(
    webhook_id: str, event: str, data: Mapping[str, Any] | None
) -> Call[TestResult]:
    body: dict[str, Any] = {"webhookId": webhook_id, "event": event}
    if data is not None:
        body["data"] = dict(data)
    return Call("POST", "/v1/webhooks/test", TestResult.model_validate, body=body)


# -- deliveries ----------------------------------------------------------------------------


def list_deliveries(
    webhook_id: str,
    *,
    status: DeliveryStatus | None,
    event: str | None,
    limit: int | None,
    cursor: str | None,
) -> Call[Page[Delivery]]:
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}/deliveries"
    return _get(
        path,
        Page[Delivery].model_validate,
        status=status,
        event=event,
        limit=limit,
        cursor=cursor,
    )


def get_delivery(delivery_id: str) -> Call[DeliveryDetail]:
    path = f"/v1/deliveries/{_segment(delivery_id, 'delivery_id')}"
    return _get(path, DeliveryDetail.model_validate)


def retry_delivery(delivery_id: str) -> Call[DeliveryDetail]:
    path = f"/v1/deliveries/{_segment(delivery_id, 'delivery_id')}/retry"
    return Call("POST", path, DeliveryDetail.model_validate)


# -- events --------------------------------------------------------------------------------


def list_event_types() -> Call[list[EventTypeInfo]]:
    return _get("/v1/event-types", _list_of(EventTypeInfo))


def publish_event(
    event: str,
    data: Mapping[str, Any],
    *,
    account: str | None,
    idempotency_key: str | None,
) -> Call[Event]:
    body: dict[str, Any] = {"event": event, "data": dict(data)}
    if account is not None:
        body["account"] = account
    key = idempotency_key if idempotency_key is not None else new_idempotency_key()
    return Call(
        "POST",
        "/v1/events",
        Event.model_validate,
        body=body,
        headers={IDEMPOTENCY_HEADER: key},
        retry_safe=True,  # the key makes a repeated publish return the first event
    )


def publish_events(events: Sequence[BatchEvent], *, account: str | None) -> Call[PublishedBatch]:
    items = [
        {
            "event": item.event,
            "data": dict(item.data),
            "idempotencyKey": item.idempotency_key or new_idempotency_key(),
        }
        for item in events
    ]
    body: dict[str, Any] = {"events": items}
    if account is not None:
        body["account"] = account
    # Every item carries a key, so a repeated batch replays the stored events.
    return Call(
        "POST", "/v1/events/batch", PublishedBatch.model_validate, body=body, retry_safe=True
    )


def get_event(event_id: str) -> Call[Event]:
    return _get(f"/v1/events/{_segment(event_id, 'event_id')}", Event.model_validate)


# -- accounts and keys (admin) -------------------------------------------------------------


def create_account(name: str) -> Call[AccountCreated]:
    return Call("POST", "/v1/accounts", AccountCreated.model_validate, body={"name": name})


def list_accounts(limit: int | None, cursor: str | None) -> Call[Page[Account]]:
    return _get("/v1/accounts", Page[Account].model_validate, limit=limit, cursor=cursor)


def get_account(account_id: str) -> Call[Account]:
    return _get(f"/v1/accounts/{_segment(account_id, 'account_id')}", Account.model_validate)


def delete_account(account_id: str) -> Call[None]:
    path = f"/v1/accounts/{_segment(account_id, 'account_id')}"
    return Call("DELETE", path, _nothing, retry_safe=True)


def create_key(account_id: str) -> Call[ApiKey]:
    path = f"/v1/accounts/{_segment(account_id, 'account_id')}/keys"
    return Call("POST", path, ApiKey.model_validate)


def list_keys(account_id: str) -> Call[list[ApiKey]]:
    return _get(f"/v1/accounts/{_segment(account_id, 'account_id')}/keys", _list_of(ApiKey))


def delete_key(account_id: str, key_id: str) -> Call[None]:
    path = f"/v1/accounts/{_segment(account_id, 'account_id')}/keys/{_segment(key_id, 'key_id')}"
    return Call("DELETE", path, _nothing, retry_safe=True)
