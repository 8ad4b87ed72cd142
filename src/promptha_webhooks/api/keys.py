"""/v1/keys: an account API key manages its own account's keys (list, create, revoke), the
same capability the dashboard's API keys page gives. The admin key does this for any account
through /v1/accounts/{id}/keys."""

from __future__ import annotations

from fastapi import APIRouter, Response

from promptha_webhooks.api.body import StrictJSONRoute
from promptha_webhooks.api.deps import AccountIdDep, ServicesDep
from promptha_webhooks.models import ApiKey

router = APIRouter(prefix="/v1/keys", tags=["keys"], route_class=StrictJSONRoute)


@router.get("", response_model=list[ApiKey])
async def list_own_keys(services: ServicesDep, account_id: AccountIdDep) -> list[ApiKey]:
    """The calling account's keys, newest first (`key` is empty: only creation shows it)."""
    return await services.list_api_keys(account_id)


@router.post("", status_code=201, response_model=ApiKey)
async def create_own_key(services: ServicesDep, account_id: AccountIdDep) -> ApiKey:
    """A new API key for the calling account (the key is shown only in this answer)."""
    return await services.create_api_key(account_id)


@router.delete("/{key_id}", status_code=204)
async def revoke_own_key(key_id: str, services: ServicesDep, account_id: AccountIdDep) -> Response:
    """Revoke one of the calling account's keys: it stops working at once, on every API
    process. Revoking the key making this call, or the account's last key, is allowed (as
    Stripe allows it); without a key, only the admin can create a new one. Another account's
    key id answers 404."""
    await services.delete_api_key(account_id, key_id)
    return Response(status_code=204)
