"""/v1/accounts: the platform admin creates accounts and their API keys."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from promptha_webhooks.api.body import StrictJSONRoute
from promptha_webhooks.api.deps import AdminDep, ServicesDep
from promptha_webhooks.api.schemas import CreateAccount, CreatePortalSession
from promptha_webhooks.dashboard import MOUNT_PATH
from promptha_webhooks.models import Account, AccountCreated, ApiKey, Page, PortalSessionCreated
from promptha_webhooks.models import from_ms as datetime_of
from promptha_webhooks.portal import PORTAL_ENTRY_PATH, PORTAL_TOKEN_PARAM

router = APIRouter(prefix="/v1/accounts", tags=["accounts (admin)"], route_class=StrictJSONRoute)


@router.post("", status_code=201, response_model=AccountCreated)
async def create_account(body: CreateAccount, services: ServicesDep, _: AdminDep) -> AccountCreated:
    """Create an account and its first API key (the key is shown only in this answer)."""
    return await services.create_account(body.name)


@router.get("", response_model=Page[Account])
async def list_accounts(
    services: ServicesDep,
    _: AdminDep,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: str | None = None,
) -> Page[Account]:
    return await services.list_accounts(limit, cursor)


@router.get("/{account_id}", response_model=Account)
async def get_account(account_id: str, services: ServicesDep, _: AdminDep) -> Account:
    return await services.get_account(account_id)


@router.delete("/{account_id}", status_code=204)
async def delete_account(account_id: str, services: ServicesDep, _: AdminDep) -> Response:
    """Delete the account with its keys, webhooks, events and delivery logs."""
    await services.delete_account(account_id)
    return Response(status_code=204)


@router.post("/{account_id}/keys", status_code=201, response_model=ApiKey)
async def create_api_key(account_id: str, services: ServicesDep, _: AdminDep) -> ApiKey:
    """A new API key for the account (shown only in this answer)."""
    return await services.create_api_key(account_id)


@router.get("/{account_id}/keys", response_model=list[ApiKey])
async def list_api_keys(account_id: str, services: ServicesDep, _: AdminDep) -> list[ApiKey]:
    return await services.list_api_keys(account_id)


@router.delete("/{account_id}/keys/{key_id}", status_code=204)
async def delete_api_key(
    account_id: str, key_id: str, services: ServicesDep, _: AdminDep
) -> Response:
    await services.delete_api_key(account_id, key_id)
    return Response(status_code=204)


@router.post("/{account_id}/portal-sessions", status_code=201, response_model=PortalSessionCreated)
async def create_portal_session(
    account_id: str,
    body: CreatePortalSession,
    request: Request,
    services: ServicesDep,
    _: AdminDep,
) -> PortalSessionCreated:
    """A one-time URL that opens the dashboard signed in as the account, to embed in an iframe
    (the customer portal). Open it once, before `expiresAt`; the session lasts until then."""
    link = await services.create_portal_session(account_id, body.options())
    query = urlencode({PORTAL_TOKEN_PARAM: link.token})
    base = str(request.base_url).rstrip("/")
    expires_at = datetime_of(link.session.expires_at_ms)
    assert expires_at is not None
    return PortalSessionCreated(
        url=f"{base}{MOUNT_PATH}{PORTAL_ENTRY_PATH}?{query}",
        expires_at=expires_at,
        read_only=link.session.read_only,
    )
