"""Endpoint statistics and recovery: /v1/webhooks/{id}/stats, …/stats/hourly,
…/stats/series, /v1/stats and
POST /v1/webhooks/{id}/recover."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from promptha_webhooks.api.body import StrictJSONRoute
from promptha_webhooks.api.deps import AccountIdDep, ServicesDep
from promptha_webhooks.api.schemas import RecoverWebhook
from promptha_webhooks.models import (
    AccountStats,
    RecoveryResult,
    WebhookHourly,
    WebhookSeries,
    WebhookStats,
)

router = APIRouter(tags=["monitoring"], route_class=StrictJSONRoute)


@router.get("/v1/webhooks/{webhook_id}/stats", response_model=WebhookStats)
async def webhook_stats(
    webhook_id: str, services: ServicesDep, account_id: AccountIdDep
) -> WebhookStats:
    """Success rate and attempt-latency percentiles over 1 h, 24 h and 7 d, the consecutive
    failure count, last success and last failure reason."""
    return await services.stats.webhook_stats(account_id, webhook_id)


@router.get("/v1/webhooks/{webhook_id}/stats/hourly", response_model=WebhookHourly)
async def webhook_hourly(
    webhook_id: str,
    services: ServicesDep,
    account_id: AccountIdDep,
    hours: Annotated[int, Query(ge=1, le=168, description="How many hours back")] = 24,
) -> WebhookHourly:
    """Successful and failed attempts per hour, oldest first (for a small chart)."""
    return await services.stats.webhook_hourly(account_id, webhook_id, hours)


@router.get("/v1/webhooks/{webhook_id}/stats/series", response_model=WebhookSeries)
async def webhook_series(
    webhook_id: str,
    services: ServicesDep,
    account_id: AccountIdDep,
    window: Literal["1h", "24h", "7d"] = "24h",
) -> WebhookSeries:
    """The window in buckets (1h: 12 × 5 min, 24h: 24 × 1 h, 7d: 28 × 6 h), oldest first,
    each with its attempts, success rate and latency percentiles (for a chart)."""
    return await services.stats.webhook_series(account_id, webhook_id, window)


@router.get("/v1/stats", response_model=AccountStats)
async def account_stats(
    services: ServicesDep,
    account_id: AccountIdDep,
    window: Literal["1h", "24h", "7d"] = "24h",
) -> AccountStats:
    """Every webhook of the account together: success rate, latency, failures by reason."""
    return await services.stats.account_stats(account_id, window)


@router.post("/v1/webhooks/{webhook_id}/recover", response_model=RecoveryResult)
async def recover_webhook(
    webhook_id: str, body: RecoverWebhook, services: ServicesDep, account_id: AccountIdDep
) -> RecoveryResult:
    """Re-queue every failed or skipped delivery of the webhook created in [since, until),
    due now with a fresh retry schedule. `dryRun: true` only counts them."""
    return await services.recovery.recover(
        account_id, webhook_id, since=body.since, until=body.until, dry_run=body.dryRun
    )
