"""/v1/deliveries: one delivery with every attempt, and resending it."""

from __future__ import annotations

from fastapi import APIRouter

from promptha_webhooks.api.body import StrictJSONRoute
from promptha_webhooks.api.deps import AccountIdDep, ServicesDep
from promptha_webhooks.models import DeliveryDetail

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"], route_class=StrictJSONRoute)


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
