"""Request dependencies: the services object and the caller's identity from the Bearer key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from promptha_webhooks.services import Principal, Services

_bearer = HTTPBearer(auto_error=False, description="An account API key or the admin key")


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a plain `def` dependency in its thread pool, once per request.
    services: Services = request.app.state.services
    return services


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    services: Services = request.app.state.services
    return await services.authenticate(credentials.credentials if credentials else None)


async def get_account_id(principal: Annotated[Principal, Depends(get_principal)]) -> str:
    return principal.require_account()


async def require_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    principal.require_admin()
    return principal


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
AccountIdDep = Annotated[str, Depends(get_account_id)]
AdminDep = Annotated[Principal, Depends(require_admin)]
