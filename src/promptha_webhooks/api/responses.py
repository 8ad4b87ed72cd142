"""Answers serialised by Pydantic's own JSON encoder.

A handler that returns a model makes FastAPI validate it against `response_model` again and
encode it through `jsonable_encoder` + `json.dumps`; on the publish path that was a fifth of
the request's CPU. Handlers that return `model_response(...)` keep `response_model` for the
OpenAPI schema and send the model's `model_dump_json()` as is.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Response
from pydantic import BaseModel


def model_response(
    model: BaseModel, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        content=model.model_dump_json(),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )
