"""Every /v1 call as data: method, path, query, body, and how to read the answer.

This is the one definition of the client's API: each function here has the signature and the
docstring of the client method it becomes (`resources.py` names them per resource), and the
blocking and the async client only differ in how they send a `Call`. Nothing here does I/O.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from promptha_webhooks.models import (
    Account,
    AccountCreated,
    AccountStats,
    AlertContacts,
    ApiKey,
    BulkResendResult,
    CancelledDeliveries,
    Delivery,
    DeliveryDetail,
    DeliveryStatus,
    EgressAddresses,
    Event,
    EventDelivery,
    EventTypeInfo,
    FilterTest,
    Page,
    PortalSessionCreated,
    PublishedBatch,
    RecoveryResult,
    SecretRotation,
    StatsWindow,
    TestResult,
    Webhook,
    WebhookHeaders,
    WebhookPublicKey,
    WebhookSecret,
    WebhookStats,
    WebhookWithSecret,
)
from promptha_webhooks.pacing import Ordering
from promptha_webhooks.signature_headers import SignatureAlgorithm, SignatureFormat

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
# A webhook's signatureFormat and signatureAlgorithm: signature_headers.py's enums or their values.
SignatureFormatName = Literal["promptha", "standard"] | SignatureFormat
SignatureAlgorithmName = Literal["hmac-sha256", "ed25519"] | SignatureAlgorithm
# A webhook's ordering: pacing.Ordering or its values.
OrderingName = Literal["none", "fifo"] | Ordering
# A webhook's destination type: "http" or a broker's kind (docs/contract.md).
DestinationTypeName = Literal["http", "rabbitmq", "nats", "redis-stream"]


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
class Pages(Generic[T]):
    """Every item of a paginated list: `page(cursor)` is the call for the page after `cursor`
    (None: the first). The pages are asked for as the iteration goes."""

    page: Callable[[str | None], Call[Page[T]]]

    def first(self) -> Call[Page[T]]:
        return self.page(None)

    def after(self, page: Page[T]) -> Call[Page[T]] | None:
        """The call for the next page, or None after the last."""
        if not page.has_more or page.next_cursor is None:
            return None
        return self.page(page.next_cursor)


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """One event of `events.publish_batch`; a key is generated when `idempotency_key` is None."""

    event: str
    data: Mapping[str, Any]
    idempotency_key: str | None = None
    # When to deliver it (at most 30 days ahead; a naive time is UTC); None: now
    deliver_at: datetime | None = None


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
    url: str | None,
    events: Sequence[str],
    *,
    type: DestinationTypeName | None = None,
    config: Mapping[str, Any] | None = None,
    secret: str | None = None,
    filters: Mapping[str, Any] | None = None,
    description: str = "",
    enabled: bool = True,
    max_concurrency: int | None = None,
    signature_format: SignatureFormatName | None = None,
    signature_algorithm: SignatureAlgorithmName | None = None,
    rate_limit: int | None = None,
    ordering: OrderingName | None = None,
    headers: Mapping[str, str] | None = None,
    retry_schedule: Sequence[float] | None = None,
    timeout_seconds: int | None = None,
    proxy_url: str | None = None,
) -> Call[WebhookWithSecret]:
    """Subscribe `url` to `events`; the answer carries the secret (`whsec_…` if omitted).
    `type`: "http" (default), or a broker — "rabbitmq", "nats", "redis-stream" — with its
    `config` (`url` None then), e.g. {"url": "nats://host:4222", "subject": "orders"}.
    `max_concurrency`: requests sent to it at once (None: the server's default).
    `headers`: static headers sent on every attempt (e.g. a gateway key; stored encrypted,
    read back with `headers`); `retry_schedule`: the delays in seconds before each retry (at
    most 9, 3 days in all; None: the server's); `timeout_seconds`: per attempt, 1-30.
    `proxy_url`: an HTTP CONNECT proxy every delivery goes through,
    `http://[user:password@]host:port` (stored encrypted, shown with its password masked;
    None: the server's proxy, if any).
    `rate_limit`: deliveries started per second, across every worker (None: no limit).
    `ordering`: "fifo" (one at a time, in publish order) or "none" (default).
    `signature_format`: "promptha" (default) or "standard" (Standard Webhooks);
    `signature_algorithm`: "hmac-sha256" (default) or "ed25519" (standard only: the secret is
    then a `whsk_` signing key, receivers verify with `public_key`)."""
    body: dict[str, Any] = {
        "events": list(events),
        "description": description,
        "enabled": enabled,
    }
    if url is not None:
        body["url"] = url
    if type is not None:
        body["type"] = str(type)
    if config is not None:
        body["config"] = dict(config)
    if secret is not None:
        body["secret"] = secret
    if filters is not None:
        body["filters"] = _filters(filters)
    if max_concurrency is not None:
        body["maxConcurrency"] = max_concurrency
    if signature_format is not None:
        body["signatureFormat"] = str(signature_format)
    if signature_algorithm is not None:
        body["signatureAlgorithm"] = str(signature_algorithm)
    if rate_limit is not None:
        body["rateLimit"] = rate_limit
    if ordering is not None:
        body["ordering"] = str(ordering)
    if headers is not None:
        body["headers"] = dict(headers)
    if retry_schedule is not None:
        body["retrySchedule"] = list(retry_schedule)
    if timeout_seconds is not None:
        body["timeoutSeconds"] = timeout_seconds
    if proxy_url is not None:
        body["proxyUrl"] = proxy_url
    return Call("POST", "/v1/webhooks", WebhookWithSecret.model_validate, body=body)


def list_webhooks(*, limit: int | None = None, cursor: str | None = None) -> Call[Page[Webhook]]:
    """One page, newest first; pass `page.next_cursor` as `cursor` for the next."""
    return _get("/v1/webhooks", _webhook_page, limit=limit, cursor=cursor)


def all_webhooks(*, page_size: int = MAX_PAGE_SIZE) -> Pages[Webhook]:
    """Every webhook, newest first, fetching pages as the iteration goes."""
    return Pages(lambda cursor: list_webhooks(limit=page_size, cursor=cursor))


def get_webhook(webhook_id: str) -> Call[Webhook]:
    """The webhook, without its secret (see `secret`)."""
    return _get(f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}", _webhook)


def update_webhook(
    webhook_id: str,
    *,
    type: DestinationTypeName | NotGiven = NOT_GIVEN,
    url: str | NotGiven = NOT_GIVEN,
    config: Mapping[str, Any] | NotGiven = NOT_GIVEN,
    events: Sequence[str] | NotGiven = NOT_GIVEN,
    secret: str | NotGiven | None = NOT_GIVEN,
    filters: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
    description: str | NotGiven = NOT_GIVEN,
    enabled: bool | NotGiven = NOT_GIVEN,
    max_concurrency: int | NotGiven | None = NOT_GIVEN,
    signature_format: SignatureFormatName | NotGiven = NOT_GIVEN,
    signature_algorithm: SignatureAlgorithmName | NotGiven = NOT_GIVEN,
    rate_limit: int | NotGiven | None = NOT_GIVEN,
    ordering: OrderingName | NotGiven = NOT_GIVEN,
    headers: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
    retry_schedule: Sequence[float] | NotGiven | None = NOT_GIVEN,
    timeout_seconds: int | NotGiven | None = NOT_GIVEN,
    proxy_url: str | NotGiven | None = NOT_GIVEN,
) -> Call[Webhook]:
    """Change the given fields only; `secret=None` replaces it at once (`rotate_secret` keeps
    the old one signing for a grace period), `filters=None` clears,
    `max_concurrency=None` goes back to the server's default. A new `signature_format` or
    `signature_algorithm` keeps the secret if it fits, else pass `secret` (None: generate).
    `headers` replaces the whole set (None or {}: none); `retry_schedule=None` and
    `timeout_seconds=None` go back to the server's; `rate_limit=None` removes the limit;
    `proxy_url=None` goes back to the server's proxy, if any. A new `type` needs its
    destination in the same call: `config` for a broker, `url` for http; `config` replaces a
    broker's whole config."""
    body: dict[str, Any] = {}
    if type is not NOT_GIVEN:
        body["type"] = str(type)
    if url is not NOT_GIVEN:
        body["url"] = url
    if config is not NOT_GIVEN:
        body["config"] = dict(config)
    if events is not NOT_GIVEN:
        body["events"] = list(events)
    if secret is not NOT_GIVEN:
        body["secret"] = secret
    if filters is not NOT_GIVEN:
        body["filters"] = None if filters is None else _filters(filters)
    if description is not NOT_GIVEN:
        body["description"] = description
    if enabled is not NOT_GIVEN:
        body["enabled"] = enabled
    if max_concurrency is not NOT_GIVEN:
        body["maxConcurrency"] = max_concurrency
    if signature_format is not NOT_GIVEN:
        body["signatureFormat"] = str(signature_format)
    if signature_algorithm is not NOT_GIVEN:
        body["signatureAlgorithm"] = str(signature_algorithm)
    if rate_limit is not NOT_GIVEN:
        body["rateLimit"] = rate_limit
    if ordering is not NOT_GIVEN:
        body["ordering"] = str(ordering)
    if headers is not NOT_GIVEN:
        body["headers"] = None if headers is None else dict(headers)
    if retry_schedule is not NOT_GIVEN:
        body["retrySchedule"] = None if retry_schedule is None else list(retry_schedule)
    if timeout_seconds is not NOT_GIVEN:
        body["timeoutSeconds"] = timeout_seconds
    if proxy_url is not NOT_GIVEN:
        body["proxyUrl"] = proxy_url
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}"
    return Call("PATCH", path, _webhook, body=body)


def delete_webhook(webhook_id: str) -> Call[None]:
    """Delete the webhook."""
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}"
    return Call("DELETE", path, _nothing, retry_safe=True)


def get_webhook_secret(webhook_id: str) -> Call[WebhookSecret]:
    """Reveal the signing secret."""
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}/secret"
    return _get(path, WebhookSecret.model_validate)


def get_webhook_headers(webhook_id: str) -> Call[WebhookHeaders]:
    """Reveal the static headers' values (the webhook lists only their names)."""
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}/headers"
    return _get(path, WebhookHeaders.model_validate)


def rotate_webhook_secret(
    webhook_id: str, *, secret: str | None = None, grace_period_s: int | None = None
) -> Call[SecretRotation]:
    """Replace the signing secret (generated when None); the old one keeps signing too for
    `grace_period_s` (None: 24 h; at most 7 days; 0: not at all). The answer holds the new
    secret and when the old one stops."""
    body: dict[str, Any] = {}
    if secret is not None:
        body["secret"] = secret
    if grace_period_s is not None:
        body["gracePeriodSeconds"] = grace_period_s
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}/rotate-secret"
    return Call("POST", path, SecretRotation.model_validate, body=body)


def complete_secret_rotation(webhook_id: str) -> Call[Webhook]:
    """End the grace period now: the previous secret stops signing."""
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}/rotate-secret/complete"
    return Call("POST", path, _webhook, retry_safe=True)


def get_webhook_public_key(webhook_id: str) -> Call[WebhookPublicKey]:
    """The `whpk_` public key(s) an ed25519 webhook's signatures verify with (a conflict error
    for an hmac-sha256 webhook)."""
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}/public-key"
    return _get(path, WebhookPublicKey.model_validate)


def send_test_event(
    webhook_id: str, event: str, data: Mapping[str, Any] | None = None
) -> Call[TestResult]:
    """Send a test event to this webhook now; fields left out of `data` come from the
    event type's sample. Answers once the receiver did, with the attempt."""
    body: dict[str, Any] = {"webhookId": webhook_id, "event": event}
    if data is not None:
        body["data"] = dict(data)
    return Call("POST", "/v1/webhooks/test", TestResult.model_validate, body=body)


def test_filter(
    event: str,
    filters: Mapping[str, Any] | None,
    *,
    data: Mapping[str, Any] | None = None,
    events: Sequence[str] | None = None,
) -> Call[FilterTest]:
    """Would a webhook with these `events` (types or patterns; None: any) and `filters`
    receive this event (`data` None: the type's sample)? `matches`, and `failed_clause` when
    not. Stores nothing; a filter the API would refuse on create is refused the same way."""
    body: dict[str, Any] = {
        "event": event,
        "filters": None if filters is None else _filters(filters),
    }
    if data is not None:
        body["data"] = dict(data)
    if events is not None:
        body["events"] = list(events)
    return Call("POST", "/v1/webhooks/test-filter", FilterTest.model_validate, body=body)


def get_webhook_stats(webhook_id: str) -> Call[WebhookStats]:
    """Success rate and attempt-latency percentiles over 1 h, 24 h and 7 d, with the
    webhook's failure streak (`health`)."""
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}/stats"
    return _get(path, WebhookStats.model_validate)


def get_account_stats(*, window: StatsWindow = "24h") -> Call[AccountStats]:
    """Every webhook of the key's account together over `window` ("1h", "24h" or "7d"):
    success rate, latency percentiles and failures by reason."""
    return _get("/v1/stats", AccountStats.model_validate, window=window)


def recover_webhook(
    webhook_id: str, since: datetime, *, until: datetime | None = None, dry_run: bool = False
) -> Call[RecoveryResult]:
    """Re-queue every failed or skipped delivery of the webhook created in [since, until)
    (None: now), due now with a fresh retry schedule; `dry_run` only counts them. The times
    must carry a time zone."""
    body: dict[str, Any] = {"since": _instant(since, "since"), "dryRun": dry_run}
    if until is not None:
        body["until"] = _instant(until, "until")
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}/recover"
    return Call("POST", path, RecoveryResult.model_validate, body=body)


def _instant(value: datetime, name: str) -> str:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{name} must be a datetime with a time zone, got {value!r}")
    return value.isoformat()


def _filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """A filter document as JSON: lists and tuples as lists, mappings as objects, all the way
    down (the original form's values may be any sequence)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        return value

    return {key: plain(value) for key, value in filters.items()}


# -- deliveries ----------------------------------------------------------------------------


def list_deliveries(
    webhook_id: str,
    *,
    status: DeliveryStatus | None = None,
    event: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[Delivery]]:
    """One page of the webhook's deliveries, newest first, optionally filtered."""
    path = f"/v1/webhooks/{_segment(webhook_id, 'webhook_id')}/deliveries"
    return _get(
        path,
        Page[Delivery].model_validate,
        status=status,
        event=event,
        limit=limit,
        cursor=cursor,
    )


def all_deliveries(
    webhook_id: str,
    *,
    status: DeliveryStatus | None = None,
    event: str | None = None,
    page_size: int = MAX_PAGE_SIZE,
) -> Pages[Delivery]:
    """Every delivery of the webhook, newest first, optionally filtered, fetching pages as
    the iteration goes."""
    return Pages(
        lambda cursor: list_deliveries(
            webhook_id, status=status, event=event, limit=page_size, cursor=cursor
        )
    )


def get_delivery(delivery_id: str) -> Call[DeliveryDetail]:
    """The delivery with its payload and every attempt."""
    path = f"/v1/deliveries/{_segment(delivery_id, 'delivery_id')}"
    return _get(path, DeliveryDetail.model_validate)


def cancel_delivery(delivery_id: str) -> Call[DeliveryDetail]:
    """Cancel a delivery not sent yet; ConflictError (409) when it is final or in flight."""
    path = f"/v1/deliveries/{_segment(delivery_id, 'delivery_id')}/cancel"
    return Call("POST", path, DeliveryDetail.model_validate)


def retry_delivery(delivery_id: str) -> Call[DeliveryDetail]:
    """Resend now, whatever the state; the answer includes the new attempt."""
    path = f"/v1/deliveries/{_segment(delivery_id, 'delivery_id')}/retry"
    return Call("POST", path, DeliveryDetail.model_validate)


def resend_deliveries(
    delivery_ids: Sequence[str] | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    webhook_id: str | None = None,
    limit: int | None = None,
) -> Call[BulkResendResult]:
    """Re-queue failed (or skipped) deliveries: those named (at most 1,000; each left alone is
    in `skipped` with why), or else up to `limit` (1-1000, default 100) of the account's
    created in [`since`, `until`), of `webhook_id` only if given. Re-queued ones no longer
    match: call again while `more` (`remaining` says how many are left)."""
    body: dict[str, Any] = {}
    if delivery_ids is not None:
        body["deliveryIds"] = list(delivery_ids)
    else:
        body["status"] = "failed"
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            body[name] = _time(value)
    if webhook_id is not None:
        body["webhookId"] = webhook_id
    if limit is not None:
        body["limit"] = limit
    return Call("POST", "/v1/deliveries/resend", BulkResendResult.model_validate, body=body)


def _time(value: datetime) -> str:
    """An aware time as ISO 8601; a naive one is taken as UTC."""
    return value.isoformat() if value.tzinfo is not None else value.isoformat() + "Z"


# -- events --------------------------------------------------------------------------------


def list_event_types() -> Call[list[EventTypeInfo]]:
    """The catalogue: every event type with its description, JSON schema and sample."""
    return _get("/v1/event-types", _list_of(EventTypeInfo))


def publish_event(
    event: str,
    data: Mapping[str, Any],
    *,
    account: str | None = None,
    idempotency_key: str | None = None,
    deliver_at: datetime | None = None,
) -> Call[Event]:
    """Publish an event. `account` is needed with the admin key. Without an
    `idempotency_key` one is generated, so a retried publish is never sent twice.
    `deliver_at`: hold the deliveries until then (at most 30 days ahead; a naive time is
    UTC; a past one means now)."""
    body: dict[str, Any] = {"event": event, "data": dict(data)}
    if account is not None:
        body["account"] = account
    if deliver_at is not None:
        body["deliverAt"] = _time(deliver_at)
    key = idempotency_key if idempotency_key is not None else new_idempotency_key()
    return Call(
        "POST",
        "/v1/events",
        Event.model_validate,
        body=body,
        headers={IDEMPOTENCY_HEADER: key},
        retry_safe=True,  # the key makes a repeated publish return the first event
    )


def publish_events(
    events: Sequence[BatchEvent], *, account: str | None = None
) -> Call[PublishedBatch]:
    """Publish up to 1,000 events in one transaction (all or none)."""
    items = [
        {
            "event": item.event,
            "data": dict(item.data),
            "idempotencyKey": item.idempotency_key or new_idempotency_key(),
        }
        | ({} if item.deliver_at is None else {"deliverAt": _time(item.deliver_at)})
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
    """The event as published, with the number of its deliveries."""
    return _get(f"/v1/events/{_segment(event_id, 'event_id')}", Event.model_validate)


def list_events(
    *,
    id: str | None = None,
    type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    undelivered: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[Event]]:
    """One page of the account's events, newest first: of one `id`, a `type` or a pattern
    (`fabric.*`), created in [`since`, `until`) (no `id` nor `since`: the 24 h before);
    `undelivered`: only those some endpoint never received."""
    return _get(
        "/v1/events",
        Page[Event].model_validate,
        id=id,
        type=type,
        since=_time(since) if since is not None else None,
        until=_time(until) if until is not None else None,
        undelivered="true" if undelivered else None,
        limit=limit,
        cursor=cursor,
    )


def all_events(
    *,
    type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    undelivered: bool = False,
    page_size: int = MAX_PAGE_SIZE,
) -> Pages[Event]:
    """Every event the search selects, newest first, fetching pages as the iteration goes."""
    return Pages(
        lambda cursor: list_events(
            type=type,
            since=since,
            until=until,
            undelivered=undelivered,
            limit=page_size,
            cursor=cursor,
        )
    )


def list_event_deliveries(
    event_id: str, *, limit: int | None = None, cursor: str | None = None
) -> Call[Page[EventDelivery]]:
    """The event's deliveries, one per webhook it went to, with each webhook's URL."""
    path = f"/v1/events/{_segment(event_id, 'event_id')}/deliveries"
    return _get(path, Page[EventDelivery].model_validate, limit=limit, cursor=cursor)


def cancel_event_deliveries(event_id: str) -> Call[CancelledDeliveries]:
    """Cancel every delivery of the event not sent yet (scheduled, waiting for a worker or for
    a retry; not one in flight); the answer counts them and lists all of the event's."""
    path = f"/v1/events/{_segment(event_id, 'event_id')}/deliveries"
    return Call("DELETE", path, CancelledDeliveries.model_validate, retry_safe=True)


# -- accounts and keys (admin) -------------------------------------------------------------


def create_account(name: str) -> Call[AccountCreated]:
    """A new account and its first API key (shown only in this answer)."""
    return Call("POST", "/v1/accounts", AccountCreated.model_validate, body={"name": name})


def list_accounts(*, limit: int | None = None, cursor: str | None = None) -> Call[Page[Account]]:
    """One page of accounts; pass `page.next_cursor` as `cursor` for the next."""
    return _get("/v1/accounts", Page[Account].model_validate, limit=limit, cursor=cursor)


def all_accounts(*, page_size: int = MAX_PAGE_SIZE) -> Pages[Account]:
    """Every account, fetching pages as the iteration goes."""
    return Pages(lambda cursor: list_accounts(limit=page_size, cursor=cursor))


def get_account(account_id: str) -> Call[Account]:
    """The account."""
    return _get(f"/v1/accounts/{_segment(account_id, 'account_id')}", Account.model_validate)


def delete_account(account_id: str) -> Call[None]:
    """Delete the account with its keys, webhooks, events and delivery logs."""
    path = f"/v1/accounts/{_segment(account_id, 'account_id')}"
    return Call("DELETE", path, _nothing, retry_safe=True)


def create_key(account_id: str) -> Call[ApiKey]:
    """A new API key for the account (`key` is shown only in this answer)."""
    path = f"/v1/accounts/{_segment(account_id, 'account_id')}/keys"
    return Call("POST", path, ApiKey.model_validate)


def list_keys(account_id: str) -> Call[list[ApiKey]]:
    """The account's keys; `key` is empty (only `create` shows it)."""
    return _get(f"/v1/accounts/{_segment(account_id, 'account_id')}/keys", _list_of(ApiKey))


def delete_key(account_id: str, key_id: str) -> Call[None]:
    """Revoke the key."""
    path = f"/v1/accounts/{_segment(account_id, 'account_id')}/keys/{_segment(key_id, 'key_id')}"
    return Call("DELETE", path, _nothing, retry_safe=True)


def create_portal_session(
    account_id: str,
    *,
    ttl_seconds: int | None = None,
    read_only: bool = False,
    return_url: str | None = None,
    primary_color: str | None = None,
    logo_url: str | None = None,
    dark_mode: bool = False,
) -> Call[PortalSessionCreated]:
    """A one-time URL that opens the dashboard as the account (the customer portal), to
    embed in an iframe. `ttl_seconds`: 60-86400 (None: 3600); `read_only`: it can look but not
    change; `return_url`: where Sign out leads (https); theme: `primary_color` (#rrggbb),
    `logo_url` (https), `dark_mode`. Open the URL once, before `expires_at`."""
    body: dict[str, Any] = {"readOnly": read_only}
    if ttl_seconds is not None:
        body["ttlSeconds"] = ttl_seconds
    if return_url is not None:
        body["returnUrl"] = return_url
    theme: dict[str, Any] = {}
    if primary_color is not None:
        theme["primaryColor"] = primary_color
    if logo_url is not None:
        theme["logoUrl"] = logo_url
    if dark_mode:
        theme["darkMode"] = True
    if theme:
        body["theme"] = theme
    path = f"/v1/accounts/{_segment(account_id, 'account_id')}/portal-sessions"
    return Call("POST", path, PortalSessionCreated.model_validate, body=body)


# -- the calling account's own keys (account key) -------------------------------------------


def create_own_key() -> Call[ApiKey]:
    """A new API key for the calling account (`key` is shown only in this answer)."""
    return Call("POST", "/v1/keys", ApiKey.model_validate)


def list_own_keys() -> Call[list[ApiKey]]:
    """The calling account's keys, newest first; `key` is empty (only creation shows it)."""
    return _get("/v1/keys", _list_of(ApiKey))


def delete_own_key(key_id: str) -> Call[None]:
    """Revoke one of the calling account's keys (even the one in use, or the last one)."""
    return Call("DELETE", f"/v1/keys/{_segment(key_id, 'key_id')}", _nothing, retry_safe=True)


# -- alert contacts ------------------------------------------------------------------------


def get_alert_contacts(*, account: str | None = None) -> Call[AlertContacts]:
    """The account's alert e-mail addresses and alert webhook. `account` is needed with the
    admin key."""
    return _get("/v1/alert-contacts", AlertContacts.model_validate, account=account)


def set_alert_contacts(
    emails: Sequence[str], *, webhook_id: str | None = None, account: str | None = None
) -> Call[AlertContacts]:
    """Replace the account's alert contacts: the addresses that receive its alert e-mails
    (at most 20), and the webhook (`webhook_id`, None: none) that receives every operational
    event about its other webhooks. `account` is needed with the admin key."""
    body: dict[str, Any] = {"emails": list(emails), "webhookId": webhook_id}
    if account is not None:
        body["account"] = account
    return Call(
        "PUT", "/v1/alert-contacts", AlertContacts.model_validate, body=body, retry_safe=True
    )


# -- egress addresses (public) --------------------------------------------------------------


def get_ips() -> Call[EgressAddresses]:
    """The addresses and CIDRs deliveries come from (`GET /v1/ips`, public), with the list's
    `version` and `updated_at`: what a receiver allow-lists."""
    return _get("/v1/ips", EgressAddresses.model_validate)
