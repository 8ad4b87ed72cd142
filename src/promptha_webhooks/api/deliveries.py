"""/v1/deliveries: one delivery with every attempt, resending it, and bulk resend."""

from __future__ import annotations

from fastapi import APIRouter

from promptha_webhooks.api.body import StrictJSONRoute
from promptha_webhooks.api.deps import AccountIdDep, ServicesDep
from promptha_webhooks.api.schemas import ResendDeliveries
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.models import BulkResendResult, DeliveryDetail
from promptha_webhooks.services.deliveries import ResendRequest

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"], route_class=StrictJSONRoute)


@router.post("/resend", response_model=BulkResendResult)
async def resend_deliveries(
    body: ResendDeliveries, services: ServicesDep, account_id: AccountIdDep
) -> BulkResendResult:
    """Re-queue failed (or skipped) deliveries of the account in one transaction, each due now
    with a fresh retry schedule: those named by `deliveryIds` (each one left alone is listed in
    `skipped` with its reason: `not_found`, `delivered`, `pending`, `test`,
    `webhook_disabled`), or, with `status: "failed"`, up to `limit` of those created in
    [`since`, `until`) (of `webhookId` only, if given; disabled webhooks' are left). `more`:
    some remain (`remaining`), call again."""
    if body.deliveryIds is None and body.status is None:
        raise InvalidRequestError(
            'give deliveryIds, or status "failed" with an optional time range', field="status"
        )
    if body.deliveryIds is not None and body.limit is not None:
        raise InvalidRequestError("limit applies to a time range only", field="limit")
    request = ResendRequest(
        delivery_ids=body.deliveryIds,
        since=body.since,
        until=body.until,
        webhook_id=body.webhookId,
        limit=body.limit,
    )
    return await services.recovery.resend_many(account_id, request)


@router.get("/{delivery_id}", response_model=DeliveryDetail)
async def get_delivery(
    delivery_id: str, services: ServicesDep, account_id: AccountIdDep
) -> DeliveryDetail:
    """The delivery, its payload and every attempt: request headers and body, response
    status, headers and body (first 64 KiB), duration, error and timestamps."""
    return await services.get_delivery(account_id, delivery_id)


@router.post("/{delivery_id}/retry", response_model=DeliveryDetail)
async def retry_delivery(
    delivery_id: str, services: ServicesDep, account_id: AccountIdDep
) -> DeliveryDetail:
    """Resend now, whatever the delivery's state; the answer includes the new attempt."""
    return await services.resend(account_id, delivery_id)


@router.post("/{delivery_id}/cancel", response_model=DeliveryDetail)
async def cancel_delivery(
    delivery_id: str, services: ServicesDep, account_id: AccountIdDep
) -> DeliveryDetail:
    """Cancel the delivery if it was not sent yet (pending, held by no worker): it ends as
    `cancelled` and is never sent unless resent. 409 when it is final (delivered, failed,
    skipped, cancelled) or in flight."""
    return await services.cancel_delivery(account_id, delivery_id)
