"""Delivery logs: a webhook's deliveries newest first (filtered by status, event type, time
window and "before" a time, paged with the API's cursor), one delivery with every attempt,
and Resend."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from promptha_webhooks import ids
from promptha_webhooks.catalog import EVENT_TYPES_BY_NAME
from promptha_webhooks.dashboard.dependencies import (
    SIGNED_IN_ONLY,
    CurrentServices,
    CurrentUser,
)
from promptha_webhooks.dashboard.responses import is_htmx, page, redirect
from promptha_webhooks.models import Delivery, DeliveryStatus

router = APIRouter(include_in_schema=False, dependencies=SIGNED_IN_ONLY)

DELIVERIES_PAGE_SIZE = 50
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "delivered", "failed", "skipped")
TIME_WINDOWS_S = {"1h": 3600, "24h": 24 * 3600, "7d": 7 * 24 * 3600, "30d": 30 * 24 * 3600}
TIME_WINDOW_LABELS = {"": "Any time", "1h": "Last hour", "24h": "Last 24 hours"} | {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
}
LOG_FILTERS = ("status", "event", "since", "before")


@dataclass(frozen=True, slots=True)
class LogQuery:
    """The delivery log's query string: the filters as typed (the form and the page links keep
    them), what they select, and an error for each filter that selects nothing known."""

    typed: dict[str, str]
    errors: dict[str, str]
    status: str | None
    event: str | None
    window_s: int | None
    cursor: str | None

    @classmethod
    def parse(cls, query: QueryParams) -> LogQuery:
        typed = {name: query.get(name, "") for name in LOG_FILTERS}
        errors: dict[str, str] = {}
        status = typed["status"] if typed["status"] in DELIVERY_STATUSES else None
        if typed["status"] and status is None:
            errors["status"] = "Unknown status"
        event = typed["event"] if typed["event"] in EVENT_TYPES_BY_NAME else None
        if typed["event"] and event is None:
            errors["event"] = "Unknown event type"
        cursor = query.get("cursor") or None
        if cursor is not None and not ids.has_prefix(cursor, ids.DELIVERY):
            cursor = None
        if cursor is None and typed["before"]:
            # "Before a time" is a cursor too: the smallest delivery id of that millisecond.
            try:
                before = datetime.fromisoformat(typed["before"]).replace(tzinfo=UTC)
                cursor = ids.floor_id(ids.DELIVERY, int(before.timestamp() * 1000))
            except ValueError:
                errors["before"] = "Use a date and time such as 2026-01-31T18:00"
        window_s = TIME_WINDOWS_S.get(typed["since"])
        return cls(typed, errors, status, event, window_s, cursor)

    def link(self, **extra: str) -> str:
        """The query string of a link that keeps the filters that are set."""
        return urlencode({name: value for name, value in self.typed.items() if value} | extra)

    def within_window(
        self, rows: Sequence[Delivery], has_more: bool
    ) -> tuple[Sequence[Delivery], bool]:
        """The page cut at the time window: rows come newest first, so the page ends where the
        window does, and there is nothing older to page to."""
        if self.window_s is None:
            return rows, has_more
        cutoff = time.time() - self.window_s
        kept = [d for d in rows if d.created_at.timestamp() >= cutoff]
        return kept, has_more and len(kept) == len(rows)


@router.get("/webhooks/{webhook_id}/deliveries")
async def delivery_log(
    request: Request, webhook_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    webhook = await services.get_webhook(user.account_id, webhook_id)
    query = LogQuery.parse(request.query_params)
    listing = await services.list_deliveries(
        user.account_id,
        webhook_id,
        status=query.status,
        event_type=query.event,
        limit=DELIVERIES_PAGE_SIZE,
        cursor=query.cursor,
    )
    rows, has_more = query.within_window(listing.data, listing.has_more)
    return page(
        request,
        "deliveries.html",
        {
            "webhook": webhook,
            "deliveries": rows,
            "filters": query.typed,
            "filter_errors": query.errors,
            "statuses": DELIVERY_STATUSES,
            "windows": TIME_WINDOW_LABELS,
            "next_query": query.link(cursor=rows[-1].id) if has_more and rows else None,
            "paged": query.cursor is not None and not query.typed["before"],
            "first_query": query.link(),
        },
        user=user,
    )


@router.get("/deliveries/{delivery_id}")
async def delivery_detail(
    request: Request, delivery_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    delivery = await services.get_delivery(user.account_id, delivery_id)
    name = "_delivery.html" if is_htmx(request) else "delivery.html"
    return page(request, name, {"delivery": delivery}, user=user)


@router.post("/deliveries/{delivery_id}/resend")
async def resend(
    request: Request, delivery_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    delivery = await services.resend(user.account_id, delivery_id)
    if is_htmx(request):
        return page(request, "_delivery.html", {"delivery": delivery, "resent": True}, user=user)
    return redirect(f"/deliveries/{delivery_id}")
