"""Strict JSON request bodies: the contract's canonical JSON (no NaN/Infinity, integers within
±(2^53−1), valid UTF-8). Failures surface as FastAPI's `json_invalid` validation error, which
the error handlers turn into a 400 that quotes the reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from promptha_webhooks import canonical_json


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = canonical_json.loads(body)
            except canonical_json.CanonicalJSONError as exc:
                raise json.JSONDecodeError(str(exc), body.decode("utf-8", "replace"), 0) from None
        return self._json


class StrictJSONRoute(APIRoute):
    """Routes whose JSON bodies are parsed by the strict parser."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler
