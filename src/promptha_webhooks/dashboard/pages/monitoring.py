"""Monitoring: the account's last 24 hours (success rate, attempts, attempt-duration
percentiles, failures by reason, deliveries per hour), from stats_view."""

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
from promptha_webhooks.dashboard.responses import page

router = APIRouter(include_in_schema=False, dependencies=SIGNED_IN_ONLY)


@router.get("/monitoring")
async def monitoring(request: Request, user: CurrentUser, services: CurrentServices) -> Response:
    figures = await stats_view.account_monitoring(services, user.account_id)
    return page(request, "monitoring.html", {"figures": figures}, user=user)
