"""/v1/listen: the stream behind `promptha-webhooks listen` (Server-Sent Events), and the
call that reports what the developer's local endpoint answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import Field

from promptha_webhooks.api.body import StrictJSONRoute
from promptha_webhooks.api.deps import AccountIdDep, ServicesDep
from promptha_webhooks.api.schemas import RequestModel
from promptha_webhooks.models import DeliveryDetail
from promptha_webhooks.services.listen import (
    ListenRequest,
    ListenService,
    ListenSession,
    LocalAnswer,
    SessionEnded,
)

router = APIRouter(prefix="/v1/listen", tags=["listen"], route_class=StrictJSONRoute)

POLL_INTERVAL_S = 0.1
# A local answer reported as taking longer than a day is no answer this stream waited for.
MAX_REPORTED_DURATION_MS = 24 * 3600 * 1000


class ReportedAnswer(RequestModel):
    status: int | None = Field(default=None, ge=100, le=599)
    headers: dict[str, str] | None = None
    body: str | None = None
    durationMs: float = Field(ge=0, le=MAX_REPORTED_DURATION_MS)
    error: str | None = Field(default=None, max_length=1000)
    requestHeaders: dict[str, str] = Field(default_factory=dict)


async def listen_session(
    services: ServicesDep,
    account_id: AccountIdDep,
    device: Annotated[str, Query(description="Names this machine's session")] = "default",
    events: Annotated[
        str | None, Query(description="Comma-separated event types (default: all)")
    ] = None,
    resume: Annotated[
        str | None,
        Query(description="The `session` of this client's previous stream, when reconnecting"),
    ] = None,
) -> AsyncIterator[ListenSession]:
    """The session, opened before the stream starts (so bad input is a 4xx answer, not a
    broken stream) and closed when the stream ends, however it ends."""
    listen_service = ListenService(services)
    names = [e.strip() for e in events.split(",") if e.strip()] if events else None
    session = await listen_service.open(account_id, ListenRequest.parse(device, names, resume))
    try:
        yield session
    finally:
        await asyncio.shield(listen_service.close(session))


@router.get("", response_class=EventSourceResponse)
async def listen(
    request: Request,
    services: ServicesDep,
    session: Annotated[ListenSession, Depends(listen_session)],
) -> AsyncIterator[ServerSentEvent]:
    """Open a listen session: the account's events stream here as signed attempts (event
    `delivery`) until the connection closes. The first event (`ready`) carries the session's
    id, webhook id and signing secret, and `replaced`: the session it took the device's stream
    from, if one held it. That session gets a `closed` event (`reason`: `replaced`) and its
    stream ends; so does this one if its webhook is deleted (`webhook_deleted`)."""
    listen_service = ListenService(services)
    yield ServerSentEvent(
        event="ready",
        data={
            "session": session.token,
            "webhookId": session.webhook_id,
            "secret": session.secret,
            "events": session.events,
            "device": session.device,
            "replaced": session.replaced,
        },
    )
    while not await request.is_disconnected():
        try:
            deliveries = await listen_service.take(session)
        except SessionEnded as ended:
            yield ServerSentEvent(
                event="closed", data={"reason": ended.reason.value, "message": str(ended)}
            )
            return
        for delivery in deliveries:
            yield ServerSentEvent(
                event="delivery", id=delivery.delivery_id, data=delivery.as_json()
            )
        await asyncio.sleep(POLL_INTERVAL_S)


@router.post("/deliveries/{delivery_id}", response_model=DeliveryDetail)
async def report_answer(
    delivery_id: str, body: ReportedAnswer, services: ServicesDep, account_id: AccountIdDep
) -> DeliveryDetail:
    """Record what the local endpoint answered for a streamed delivery."""
    answer = LocalAnswer(body.status, body.headers, body.body, body.durationMs, body.error)
    return await ListenService(services).report(
        account_id, delivery_id, answer, body.requestHeaders
    )
