"""Django: view functions for ``urls.py`` that hand deliveries to a router.

    path("webhooks/promptha", webhook_view(hooks))          # WSGI (or ASGI)
    path("webhooks/promptha", async_webhook_view(hooks))    # ASGI, on the server's own loop

Both are CSRF-exempt (the signature authenticates the sender) and accept POST only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from promptha_webhooks.receiver.adapters import forbidden_unless_allowed
from promptha_webhooks.receiver.ip import IPAllowList
from promptha_webhooks.receiver.router import Response, Webhooks

__all__ = ["async_webhook_view", "webhook_view"]


def _to_django(response: Response) -> HttpResponse:
    return HttpResponse(response.body, status=response.status, headers=response.headers)


def _refusal(request: HttpRequest, allow: IPAllowList | None) -> HttpResponse | None:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    refused = forbidden_unless_allowed(
        allow, request.META.get("REMOTE_ADDR"), request.headers.get("X-Forwarded-For")
    )
    return None if refused is None else _to_django(refused)


def webhook_view(
    hooks: Webhooks, *, allow: IPAllowList | None = None
) -> Callable[[HttpRequest], HttpResponse]:
    """A sync view; runs the router on its loop thread (``handle_sync``)."""

    @csrf_exempt
    def promptha_webhook(request: HttpRequest) -> HttpResponse:
        refused = _refusal(request, allow)
        if refused is not None:
            return refused
        return _to_django(hooks.handle_sync(request.body, dict(request.headers)))

    return promptha_webhook


def async_webhook_view(
    hooks: Webhooks, *, allow: IPAllowList | None = None
) -> Callable[[HttpRequest], Awaitable[HttpResponse]]:
    """An async view for Django under ASGI: the router runs on the server's event loop."""

    @csrf_exempt
    async def promptha_webhook(request: HttpRequest) -> HttpResponse:
        refused = _refusal(request, allow)
        if refused is not None:
            return refused
        return _to_django(await hooks.handle(request.body, dict(request.headers)))

    return promptha_webhook
