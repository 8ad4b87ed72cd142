"""Events: the account's events searched by id, type (or a pattern such as `fabric.*`) and
time range, newest first and paged; one event with its deliveries to every webhook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from promptha_webhooks import ids
from promptha_webhooks.catalog import EVENT_TYPES
from promptha_webhooks.dashboard.dependencies import (
    SIGNED_IN_ONLY,
    CurrentServices,
    CurrentUser,
)
from promptha_webhooks.dashboard.forms import EVENT_PATTERNS
from promptha_webhooks.dashboard.responses import page, redirect
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.models import Event, Page
from promptha_webhooks.services.deliveries import EventQuery

router = APIRouter(include_in_schema=False, dependencies=SIGNED_IN_ONLY)

EVENTS_PAGE_SIZE = 50
EVENT_FILTERS = ("id", "type", "since", "until")
# What the type field suggests: the webhook form's patterns (`fabric.*`), then every type.
TYPE_SUGGESTIONS = tuple(p.pattern for p in EVENT_PATTERNS) + tuple(t.name for t in EVENT_TYPES)
TIME_HINT = "Use a date and time such as 2026-01-31T18:00"


def parse_time(text: str) -> datetime:
    """A datetime-local field's value, in UTC (the dashboard shows times in UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class EventSearchForm:
    """The search as typed (the form and the page links keep it) and an error per field that
    the browser can already tell is wrong; the service checks the rest."""

    typed: dict[str, str]
    errors: dict[str, str]
    query: EventQuery

    @classmethod
    def parse(cls, params: QueryParams) -> EventSearchForm:
        typed = {name: params.get(name, "").strip() for name in EVENT_FILTERS}
        errors: dict[str, str] = {}
        times: dict[str, datetime | None] = {"since": None, "until": None}
        for name in times:
            if typed[name]:
                try:
                    times[name] = parse_time(typed[name])
                except ValueError:
                    errors[name] = TIME_HINT
        cursor = params.get("cursor") or None
        if cursor is not None and not ids.has_prefix(cursor, ids.EVENT):
            cursor = None
        query = EventQuery(
            event_id=typed["id"] or None,
            type=typed["type"] or None,
            since=times["since"],
            until=times["until"],
            limit=EVENTS_PAGE_SIZE,
            cursor=cursor,
        )
        return cls(typed, errors, query)

    def link(self, **extra: str) -> str:
        return urlencode({name: value for name, value in self.typed.items() if value} | extra)


@router.get("/events")
async def events_list(request: Request, user: CurrentUser, services: CurrentServices) -> Response:
    form = EventSearchForm.parse(request.query_params)
    errors = dict(form.errors)
    listing: Page[Event] = Page(data=[], has_more=False, next_cursor=None)
    if not errors:
        try:
            listing = await services.recovery.list_events(user.account_id, form.query)
        except InvalidRequestError as exc:
            errors[exc.field if exc.field in EVENT_FILTERS else "form"] = exc.message
    rows = listing.data
    return page(
        request,
        "events.html",
        {
            "events": rows,
            "filters": form.typed,
            "filter_errors": errors,
            "type_suggestions": TYPE_SUGGESTIONS,
            "next_query": form.link(cursor=rows[-1].id) if listing.has_more and rows else None,
            "paged": form.query.cursor is not None,
            "first_query": form.link(),
        },
        user=user,
    )


@router.get("/events/{event_id}")
async def event_detail(
    request: Request, event_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    event = await services.get_event(user.account_id, event_id)
    cursor = request.query_params.get("cursor") or None
    if cursor is not None and not ids.has_prefix(cursor, ids.DELIVERY):
        cursor = None
    deliveries = await services.event_deliveries(
        user.account_id, event_id, limit=EVENTS_PAGE_SIZE, cursor=cursor
    )
    return page(
        request,
        "event.html",
        {
            "event": event,
            "deliveries": deliveries,
            "paged": cursor is not None,
            "cancellable": any(d.status == "pending" for d in deliveries.data),
        }
        | cancelled_notice(request.query_params.get("cancelled", "")),
        user=user,
    )


def cancelled_notice(value: str) -> dict[str, str]:
    """`?cancelled=N` after "Cancel pending deliveries": what the fresh page says was done."""
    if not value.isdigit():
        return {}
    count = int(value)
    return {
        "notice": f"Cancelled {count} deliver{'y' if count == 1 else 'ies'}"
        + ("." if count else ": none was pending and unclaimed any more.")
    }


@router.post("/events/{event_id}/cancel")
async def cancel_event_deliveries(
    event_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    """Cancel every delivery of the event not sent yet (DELETE /v1/events/{id}/deliveries's
    service), then the fresh event page with the count."""
    result = await services.cancel_event_deliveries(user.account_id, event_id)
    return redirect(f"/events/{event_id}", cancelled=str(result.cancelled))
