"""Request body size limits as pure ASGI middleware: 413 in the API's JSON error shape.

One limit for every request (256 KiB), and larger ones for named paths: a batch publish
carries up to 1,000 events, each held to the per-event limit by the publisher, so its whole
body has a limit of its own (`MAX_BATCH_BODY_BYTES`).

Starlette's own RequestBodyLimitMiddleware (which FastAPI's `max_body_size` uses) answers a
declared oversize body with a plain-text 413; the contract wants every error as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from promptha_webhooks.api.errors import error_body


class BodySizeLimit:
    """413 for a body over `limit` bytes (or over `path_limits[path]` on those paths), whether
    declared (Content-Length) or streamed."""

    def __init__(
        self, app: ASGIApp, limit: int, path_limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"], self.limit)
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._reject(send, limit)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, replay_receive(message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._reject(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        await self.app(
            scope,
            replay_receive({"type": "http.request", "body": body, "more_body": False}, receive),
            send,
        )

    async def _reject(self, send: Send, limit: int) -> None:
        payload = orjson.dumps(
            error_body("payload_too_large", f"The request body is larger than {limit} bytes")
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def replay_receive(first: Message, receive: Receive) -> Receive:
    """`receive` that answers `first` once, then reads on from the original."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay
