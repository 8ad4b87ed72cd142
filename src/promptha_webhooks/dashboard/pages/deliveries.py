"""Delivery logs: a webhook's deliveries newest first (filtered by status, event type, time
window and "before" a time, paged with the API's cursor), one delivery with every attempt,
Resend, Cancel (a pending delivery), and bulk resend: the failed deliveries selected, or all
failed in the log's time range (a batch per request, htmx asking for the next with the count
so far), then the fresh log."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from promptha_webhooks.dashboard.forms import read_form
from promptha_webhooks.dashboard.rendering import MOUNT_PATH
from promptha_webhooks.dashboard.responses import is_htmx, page, redirect
from promptha_webhooks.errors import ConflictError, InvalidRequestError
from promptha_webhooks.models import Delivery, DeliveryStatus
from promptha_webhooks.services.deliveries import MAX_RESEND_IDS, ResendRequest

router = APIRouter(include_in_schema=False, dependencies=SIGNED_IN_ONLY)

DELIVERIES_PAGE_SIZE = 50
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = (
    "pending",
    "delivered",
    "failed",
    "skipped",
    "cancelled",
)
TIME_WINDOWS_S = {"1h": 3600, "24h": 24 * 3600, "7d": 7 * 24 * 3600, "30d": 30 * 24 * 3600}
TIME_WINDOW_LABELS = {"": "Any time", "1h": "Last hour", "24h": "Last 24 hours"} | {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
}
LOG_FILTERS = ("status", "event", "since", "before")
# "Resend all failed in this time range": deliveries re-queued per request (htmx shows the
# count after each), and the most requests a form without htmx makes in one go.
RESEND_BATCH = 25
MAX_RESEND_BATCHES = 400
RESENDABLE: tuple[DeliveryStatus, ...] = ("failed", "skipped")


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
    notice = resent_notice(request.query_params)
    context = {"notice": notice} if notice else {}
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
            "resendable": RESENDABLE,
            "range_label": TIME_WINDOW_LABELS.get(query.typed["since"], "Any time"),
        }
        | context,
        user=user,
    )


def resent_notice(params: QueryParams) -> str:
    """`?resent=N&of=M` after a bulk resend: what the fresh log says was done."""
    try:
        resent, total = int(params.get("resent", "")), int(params.get("of", ""))
    except ValueError:
        return ""
    skipped = total - resent
    note = f" ({skipped} could not be: not failed any more, or gone)" if skipped > 0 else ""
    return f"Resent {resent} of {total}{note}. They are queued with a fresh retry schedule."


def log_path(webhook_id: str, typed: dict[str, str], **extra: str) -> str:
    """The delivery log's path inside the dashboard with the filters as typed, and `extra`."""
    query = urlencode({k: v for k, v in typed.items() if v and k in LOG_FILTERS} | extra)
    return f"/webhooks/{webhook_id}/deliveries?{query}"


def after_resend(request: Request, path: str) -> Response:
    """The fresh delivery log: htmx loads it whole (HX-Redirect), a plain form is redirected."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": MOUNT_PATH + path})
    return redirect(path)


@router.post("/webhooks/{webhook_id}/deliveries/resend")
async def resend_selected(
    request: Request, webhook_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    """Re-queue the deliveries ticked in the log (those still failed or skipped)."""
    await services.get_webhook(user.account_id, webhook_id)
    form = await read_form(request)
    chosen = list(dict.fromkeys(form.get_all("delivery")))
    if not chosen:
        raise InvalidRequestError("Select at least one failed delivery to resend")
    if len(chosen) > MAX_RESEND_IDS:
        raise InvalidRequestError(f"Select at most {MAX_RESEND_IDS} deliveries")
    result = await services.recovery.resend_many(
        user.account_id, ResendRequest(delivery_ids=chosen)
    )
    typed = {name: form.get(name, "") for name in LOG_FILTERS}
    path = log_path(webhook_id, typed, resent=str(result.resent), of=str(len(chosen)))
    return after_resend(request, path)


@dataclass(frozen=True, slots=True)
class RangeResend:
    """A "resend all failed in this time range" under way: the range fixed when it started
    (its end is that moment, so deliveries failing meanwhile are left for later), and the
    count so far."""

    typed: dict[str, str]
    started: datetime
    since: datetime | None
    until: datetime
    done: int
    total: int

    @classmethod
    def parse(cls, form: dict[str, str], now: datetime) -> RangeResend:
        typed = {name: form.get(name, "") for name in LOG_FILTERS}
        try:
            started = datetime.fromisoformat(form.get("started") or now.isoformat())
            done, total = int(form.get("done") or 0), int(form.get("total") or 0)
        except ValueError:
            raise InvalidRequestError("This form is out of date: reload the page") from None
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        until = started
        if typed["before"]:
            try:
                until = min(until, datetime.fromisoformat(typed["before"]).replace(tzinfo=UTC))
            except ValueError:
                raise InvalidRequestError("Use a date and time such as 2026-01-31T18:00") from None
        window_s = TIME_WINDOWS_S.get(typed["since"])
        since = started - timedelta(seconds=window_s) if window_s is not None else None
        return cls(typed, started, since, until, max(done, 0), max(total, 0))


@router.post("/webhooks/{webhook_id}/deliveries/resend-failed")
async def resend_failed_in_range(
    request: Request, webhook_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    """One batch of the webhook's failed deliveries in the log's time range; with htmx, a
    progress count that asks for the next batch, else every batch, then the fresh log."""
    await services.get_webhook(user.account_id, webhook_id)
    form = await read_form(request)
    state = RangeResend.parse(
        {key: form.get(key, "") for key in (*LOG_FILTERS, "started", "done", "total")},
        datetime.now(tz=UTC),
    )
    request_of = ResendRequest(
        since=state.since, until=state.until, webhook_id=webhook_id, limit=RESEND_BATCH
    )
    done, total = state.done, state.total
    for _ in range(1 if is_htmx(request) else MAX_RESEND_BATCHES):
        result = await services.recovery.resend_many(user.account_id, request_of)
        done += result.resent
        total = max(total, done + result.remaining)
        if not result.more or not result.resent:
            break
    if is_htmx(request) and result.more and result.resent:
        return page(
            request,
            "_bulk_progress.html",
            {
                "webhook_id": webhook_id,
                "filters": state.typed,
                "started": state.started.isoformat(),
                "done": done,
                "total": total,
            },
            user=user,
        )
    return after_resend(request, log_path(webhook_id, state.typed, resent=str(done), of=str(total)))


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


@router.post("/deliveries/{delivery_id}/cancel")
async def cancel(
    request: Request, delivery_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    """Cancel a pending delivery (`POST /v1/deliveries/{id}/cancel`'s service). One that is
    final or in flight by now is shown as it is, with why it was not cancelled."""
    try:
        delivery = await services.cancel_delivery(user.account_id, delivery_id)
        outcome: dict[str, object] = {"cancelled": True}
    except ConflictError as exc:
        delivery = await services.get_delivery(user.account_id, delivery_id)
        outcome = {"not_cancelled": exc.message}
    if is_htmx(request):
        return page(request, "_delivery.html", {"delivery": delivery} | outcome, user=user)
    return redirect(f"/deliveries/{delivery_id}")
