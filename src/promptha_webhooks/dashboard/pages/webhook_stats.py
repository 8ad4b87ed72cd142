"""A webhook's Stats page: success rate, attempts and latency p50/p95/p99 over 1 h, 24 h or
7 d (`?window=`), with two inline SVG charts (attempts per bucket, latency per bucket) and
the same buckets as a table; figures from stats_view."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from promptha_webhooks.dashboard import stats_view
from promptha_webhooks.dashboard.dependencies import (
    SIGNED_IN_ONLY,
    CurrentServices,
    CurrentUser,
)
from promptha_webhooks.dashboard.responses import page, redirect

router = APIRouter(include_in_schema=False, dependencies=SIGNED_IN_ONLY)


@router.get("/webhooks/{webhook_id}/stats")
async def webhook_stats(
    request: Request, webhook_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    webhook = await services.get_webhook(user.account_id, webhook_id)  # 404 first
    asked = request.query_params.get("window")
    window = stats_view.stats_window(asked)
    if window is None:
        if asked is not None:  # an unknown window: the default one, at its own address
            return redirect(f"/webhooks/{webhook.id}/stats")
        window = stats_view.DEFAULT_STATS_WINDOW
    figures = await stats_view.webhook_stats_page(services, user.account_id, webhook.id, window)
    return page(
        request,
        "webhook_stats.html",
        {
            "webhook": webhook,
            "stats": figures,
            "windows": stats_view.STATS_WINDOW_CHOICES,
        },
        user=user,
    )
