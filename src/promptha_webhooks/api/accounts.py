"""/v1/accounts: the platform admin creates accounts and their API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from promptha_webhooks.api.body import StrictJSONRoute
from promptha_webhooks.api.deps import AdminDep, ServicesDep
from promptha_webhooks.api.schemas import CreateAccount
from promptha_webhooks.models import Account, AccountCreated, ApiKey, Page

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
