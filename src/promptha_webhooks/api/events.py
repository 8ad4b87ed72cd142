"""/v1/events and /v1/event-types: publishing events and the event catalogue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from promptha_webhooks.api.body import StrictJSONRoute
from promptha_webhooks.api.deps import AccountIdDep, PrincipalDep, ServicesDep
from promptha_webhooks.api.responses import model_response
from promptha_webhooks.api.schemas import PublishBatch, PublishEvent
from promptha_webhooks.catalog import OPERATIONAL_EVENT_NAMES
from promptha_webhooks.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from promptha_webhooks.models import (
    CancelledDeliveries,
    Event,
    EventDelivery,
    EventTypeInfo,
    Page,
    PublishedBatch,
)
from promptha_webhooks.services import Principal
from promptha_webhooks.services.deliveries import EventQuery
from promptha_webhooks.services.publishing import PublishRequest

router = APIRouter(tags=["events"], route_class=StrictJSONRoute)

# Its body has a limit of its own (Settings.max_batch_body_bytes), each event the usual one.
BATCH_PATH = "/v1/events/batch"


@router.get("/v1/event-types", response_model=list[EventTypeInfo])
async def list_event_types(services: ServicesDep, _: PrincipalDep) -> list[EventTypeInfo]:
    """The nine event types with descriptions, payload JSON Schemas and samples."""
    return services.event_types()


@router.post("/v1/events", status_code=201, response_model=Event)
async def publish_event(
    body: PublishEvent,
    services: ServicesDep,
    principal: PrincipalDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Publish an event: stored with one delivery per matching webhook before the answer.

    The admin key names the `account`; an account key publishes to its own account, any type
    but the operational ones (`webhook.*`, `delivery.failed`: the platform's, 403). The same
    `Idempotency-Key` within 24 h returns the first event and sends nothing again.
    `deliverAt` (RFC 3339 with an offset, at most 30 days ahead) holds the deliveries until
    that time; `DELETE /v1/events/{id}/deliveries` cancels them meanwhile.
    """
    account_id = publish_target(principal, body.account, [body.event])
    event, replayed = await services.publish(
        account_id,
        body.event,
        body.data,
        idempotency_key=idempotency_key,
        deliver_at=body.deliverAt,
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return model_response(event, 201, headers)


@router.post(BATCH_PATH, status_code=201, response_model=PublishedBatch)
async def publish_events(
    body: PublishBatch, services: ServicesDep, principal: PrincipalDep
) -> Response:
    """Publish up to 1,000 events in one transaction (all stored, or none and a 400 naming
    the first bad event). Each event may carry its own `idempotencyKey`. Each event's body
    may be up to 256 KiB (413 naming `events[i]`), the whole request up to 16 MiB (413)."""
    account_id = publish_target(
        principal, body.account, [item.event for item in body.events], batch=True
    )
    results = await services.publish_batch(
        account_id,
        [
            PublishRequest(item.event, item.data, item.idempotencyKey, item.deliverAt)
            for item in body.events
        ],
    )
    batch = PublishedBatch(
        data=[event for event, _ in results], replayed=sum(1 for _, r in results if r)
    )
    return model_response(batch, 201)


def publish_target(
    principal: Principal, account: str | None, events: list[str], *, batch: bool = False
) -> str:
    """The account a publish goes to, once the key may publish these event types there.

    The operational types (`webhook.failing`, `webhook.disabled`, `webhook.recovered`,
    `delivery.failed`) are the platform's alerts about an account's endpoints: an account key
    that could publish them could forge alerts to whatever consumes them (an alert endpoint, a
    pager). The admin key may (the platform replaying or testing an alert); test events to the
    account's own webhook (`POST /v1/webhooks/test`) may carry them too, marked as tests.
    """
    account_id = target_account(principal, account)
    if not principal.is_admin:
        for index, name in enumerate(events):
            if name in OPERATIONAL_EVENT_NAMES:
                raise PermissionDeniedError(
                    f"{name} is an operational alert the platform publishes; an account key "
                    "may publish the other event types",
                    field=f"events[{index}].event" if batch else "event",
                )
    return account_id


def target_account(principal: Principal, account: str | None) -> str:
    """The account a publish goes to: the admin key names it, an account key is its own."""
    if principal.is_admin:
        if not account:
            raise InvalidRequestError("account is required with the admin key", field="account")
        return account
    account_id = principal.require_account()
    if account is not None and account != account_id:
        raise NotFoundError(f"No account {account}", field="account")
    return account_id


@router.get("/v1/events", response_model=Page[Event])
async def list_events(
    services: ServicesDep,
    account_id: AccountIdDep,
    id: Annotated[str | None, Query(description="Only this event (evt_…)")] = None,
    type: Annotated[
        str | None, Query(description="An event type, or a pattern such as fabric.* or *")
    ] = None,
    since: Annotated[
        datetime | None,
        Query(description="ISO 8601 or Unix seconds (default: 24 h before until, unless id)"),
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Created before this time (default: now)")
    ] = None,
    undelivered: Annotated[
        bool, Query(description="Only events some endpoint never received (failed/skipped)")
    ] = False,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: str | None = None,
) -> Page[Event]:
    """The account's events, newest first, searched by id, type or pattern and time range;
    `undelivered=true`: what some endpoint never received."""
    query = EventQuery(
        event_id=id,
        type=type,
        since=since,
        until=until,
        undelivered=undelivered,
        limit=limit,
        cursor=cursor,
    )
    return await services.recovery.list_events(account_id, query)


@router.get("/v1/events/{event_id}", response_model=Event)
async def get_event(event_id: str, services: ServicesDep, account_id: AccountIdDep) -> Event:
    return await services.get_event(account_id, event_id)


@router.get("/v1/events/{event_id}/deliveries", response_model=Page[EventDelivery])
async def list_event_deliveries(
    event_id: str,
    services: ServicesDep,
    account_id: AccountIdDep,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: str | None = None,
) -> Page[EventDelivery]:
    """The event's deliveries, one per webhook it went to (newest first): status, attempts,
    last response status, last error and the webhook's URL."""
    return await services.event_deliveries(account_id, event_id, limit=limit, cursor=cursor)


@router.delete("/v1/events/{event_id}/deliveries", response_model=CancelledDeliveries)
async def cancel_event_deliveries(
    event_id: str, services: ServicesDep, account_id: AccountIdDep
) -> CancelledDeliveries:
    """Cancel every delivery of the event not sent yet: pending ones no worker holds (waiting
    for `deliverAt`, for a worker, or for a retry). A delivery in flight, delivered or failed
    keeps its status. `cancelled`: how many ended; `deliveries`: all of the event's, now."""
    return await services.cancel_event_deliveries(account_id, event_id)
