"""`POST /v1/events` answered as plain ASGI, in front of FastAPI's route.

Publishing is the call a platform makes per event, and FastAPI's per-request machinery
(routing through the included routers, dependency solving, the exception middleware, the body
and response plumbing) was about half of its CPU (docs/performance.md). This middleware
answers the common request itself with the same pieces the route uses:
- the parser of client JSON (`canonical_json.loads_input`) and the route's own body model
  (`PublishEvent`), so what is accepted and how it is read is unchanged;
- a key the process already knows (`Services.known_principal`: the configured admin key, or
  one looked up within the key cache's lifetime);
- `Services.publish`, with its errors answered by `exception_response`, the installed
  handlers' own mapping.

Anything else is handed to the FastAPI route, untouched (the body is replayed): a key that
needs the database, a body that does not parse or validate (the route words the 400), another
content type. The route stays the contract's definition, OpenAPI included.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from promptha_webhooks import canonical_json
from promptha_webhooks.api.body_limit import replay_receive
from promptha_webhooks.api.errors import exception_response
from promptha_webhooks.api.events import publish_target
from promptha_webhooks.api.schemas import PublishEvent
from promptha_webhooks.services import Services

PATH = "/v1/events"

_JSON_HEADERS = [(b"content-type", b"application/json")]
_REPLAYED_HEADER = (b"idempotent-replayed", b"true")


class PublishFastPath:
    """ASGI middleware: `POST /v1/events` without FastAPI's per-request machinery."""

    def __init__(self, app: ASGIApp, services: Callable[[], Services], route: BaseRoute) -> None:
        self.app = app
        self.services = services
        self.route = route  # the FastAPI route: its path labels the request's metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks = []  # one message when it comes through BodySizeLimit, which buffers it
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before the body was complete
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        answer = await self._publish(scope, body)
        if answer is None:
            whole = {"type": "http.request", "body": body, "more_body": False}
            await self.app(scope, replay_receive(whole, receive), send)
            return
        scope["route"] = self.route
        status, body, headers = answer
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _publish(
        self, scope: Scope, body: bytes
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]] | None:
        """(status, body, headers), or None to let the route answer."""
        authorization = content_type = idempotency_key = None
        for name, value in scope["headers"]:
            if name == b"authorization" and authorization is None:
                authorization = value
            elif name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"idempotency-key" and idempotency_key is None:
                idempotency_key = value
        if authorization is None or content_type is None:
            return None
        if content_type.split(b";", 1)[0].strip().lower() != b"application/json":
            return None
        scheme, _, credentials = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not credentials:
            return None
        services = self.services()
        principal = services.known_principal(credentials)
        if principal is None:
            return None
        try:
            request = PublishEvent.model_validate(canonical_json.loads_input(body))
        except (canonical_json.CanonicalJSONError, ValidationError):
            return None
        try:
            account_id = publish_target(principal, request.account, [request.event])
            event, replayed = await services.publish(
                account_id,
                request.event,
                request.data,
                idempotency_key=None
                if idempotency_key is None
                else idempotency_key.decode("latin-1"),
                deliver_at=request.deliverAt,
            )
        except Exception as exc:  # answered as the installed exception handlers answer
            error = exception_response(exc)
            return error.status_code, bytes(error.body), _error_headers(error.raw_headers)
        headers = list(_JSON_HEADERS)
        if replayed:
            headers.append(_REPLAYED_HEADER)
        return 201, event.model_dump_json().encode(), headers


def _error_headers(raw_headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    # content-length is set by the caller from the body sent
    return [(name, value) for name, value in raw_headers if name != b"content-length"]
