"""Strict JSON request bodies: every body goes through `canonical_json.loads_input`, the one
parser of client JSON (canonical JSON: no NaN/Infinity, integers within ±(2^53−1), valid
UTF-8; no lone surrogates, nesting at most MAX_NESTING_DEPTH). Failures surface as FastAPI's
`json_invalid` validation error, caused by a `BodyJSONError` that carries the offending
field's path; the error handlers turn it into a 400 naming that field."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from promptha_webhooks import canonical_json


class BodyJSONError(json.JSONDecodeError):
    """A body `loads_input` refused; `field` is the path of the culprit (None: the whole body)."""

    def __init__(self, error: canonical_json.CanonicalJSONError, body: bytes) -> None:
        located = error.path != "$"
        super().__init__(
            f"{error.path}: {error.reason}" if located else error.reason,
            body.decode("utf-8", "replace"),
            0,
        )
        self.field = error.path if located else None


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = canonical_json.loads_input(body)
            except canonical_json.CanonicalJSONError as exc:
                raise BodyJSONError(exc, body) from None
        return self._json


class StrictJSONRoute(APIRoute):
    """Routes whose JSON bodies are parsed by the strict parser."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler
