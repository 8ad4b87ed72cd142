"""FastAPI and Starlette: a route, or an APIRouter, that hands deliveries to a router.

app.include_router(webhook_router(hooks))                    # FastAPI
Starlette(routes=[webhook_route(hooks)])                     # Starlette
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route

from promptha_webhooks.receiver.adapters import DEFAULT_PATH, forbidden_unless_allowed
from promptha_webhooks.receiver.ip import IPAllowList
from promptha_webhooks.receiver.router import Response, Webhooks

__all__ = ["webhook_endpoint", "webhook_route", "webhook_router"]


def _to_starlette(response: Response) -> StarletteResponse:
    return StarletteResponse(response.body, status_code=response.status, headers=response.headers)


def webhook_endpoint(
    hooks: Webhooks, *, allow: IPAllowList | None = None
) -> Callable[[Request], Awaitable[StarletteResponse]]:
    """An ASGI endpoint ``async (request) -> response`` for any Starlette-based route."""

    async def promptha_webhook(request: Request) -> StarletteResponse:
        remote = request.client.host if request.client is not None else None
        refused = forbidden_unless_allowed(allow, remote, request.headers.get("x-forwarded-for"))
        if refused is not None:
            return _to_starlette(refused)
        return _to_starlette(await hooks.handle(await request.body(), request.headers))

    return promptha_webhook


def webhook_route(
    hooks: Webhooks,
    path: str = DEFAULT_PATH,
    *,
    allow: IPAllowList | None = None,
    name: str = "promptha_webhooks",
) -> Route:
    """A Starlette ``Route`` accepting POST at ``path``."""
    return Route(path, webhook_endpoint(hooks, allow=allow), methods=["POST"], name=name)


def webhook_router(
    hooks: Webhooks,
    path: str = DEFAULT_PATH,
    *,
    allow: IPAllowList | None = None,
    include_in_schema: bool = False,
) -> APIRouter:
    """A FastAPI ``APIRouter`` with one POST route at ``path``; ``app.include_router`` it."""
    router = APIRouter()
    router.add_api_route(
        path,
        webhook_endpoint(hooks, allow=allow),
        methods=["POST"],
        include_in_schema=include_in_schema,
        name="promptha_webhooks",
    )
    return router
