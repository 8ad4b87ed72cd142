"""Error responses: every failure is `{"error": {"type", "message", "field"?}}` with a 4xx/503.

Internal errors are logged with a trace id and answered with that id only; database driver
errors are answered as `store.errors.translate_driver_error` says (400 for a value the
database refuses, 409, 503 for an unreachable database so clients retry).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from promptha_webhooks.api.body import BodyJSONError
from promptha_webhooks.errors import PrompthaError, ServiceUnavailableError
from promptha_webhooks.store.errors import DRIVER_ERRORS, translate_driver_error

logger = logging.getLogger(__name__)

_HTTP_ERROR_TYPES = {
    400: "invalid_request",
    401: "authentication_failed",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "invalid_request",
    415: "unsupported_media_type",
}


def error_body(error_type: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


def error_response(exc: PrompthaError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(
        error_body(exc.error_type, exc.message, exc.field),
        status_code=exc.status_code,
        headers=headers,
    )


def _field_of(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    field = ""
    for part in parts:
        field += f"[{part}]" if part.isdigit() else (f".{part}" if field else part)
    return field or None


async def _on_promptha_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PrompthaError)
    return error_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "Invalid request", "type": ""}
    if first.get("type") == "json_invalid":
        ctx = first.get("ctx")
        reason = ctx.get("error", "") if isinstance(ctx, dict) else ""
        # A body the strict parser refused names the culprit's path (api/body.py).
        cause = exc.__cause__
        located = cause.field if isinstance(cause, BodyJSONError) else None
        message = f"Malformed JSON body: {reason}" if located is None else str(reason)
        return JSONResponse(error_body("invalid_request", message, located), 400)
    field = _field_of(tuple(first.get("loc", ())))
    message = str(first.get("msg", "Invalid request"))
    if first.get("type") == "missing":
        message = f"{field} is required" if field else "A required field is missing"
    elif first.get("type") == "extra_forbidden":
        message = f"Unknown field {field}"
    elif field:
        message = f"{field}: {message}"
    if first.get("loc", ("",))[0] == "body" and len(first.get("loc", ())) == 1:
        message = "The request body must be a JSON object (send Content-Type: application/json)"
    return JSONResponse(error_body("invalid_request", message, field), status_code=400)


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error_type = _HTTP_ERROR_TYPES.get(exc.status_code, "invalid_request")
    message = exc.detail if isinstance(exc.detail, str) else "Request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = "No such route"
    return JSONResponse(
        error_body(error_type, message), status_code=exc.status_code, headers=exc.headers
    )


def _database_error(exc: Exception) -> JSONResponse:
    """A driver's exception, as store.errors translates it; untranslated, it is a bug (500)."""
    translated = translate_driver_error(exc)
    if translated is None:
        return _internal_error(exc)
    if isinstance(translated, ServiceUnavailableError):
        logger.warning("database unavailable: %s", exc)
    return error_response(translated)


def _internal_error(exc: Exception) -> JSONResponse:
    trace_id = secrets.token_hex(8)
    logger.exception("internal error %s", trace_id, exc_info=exc)
    return JSONResponse(
        error_body("internal_error", f"Internal error (trace id {trace_id})"), status_code=500
    )


def exception_response(exc: Exception) -> JSONResponse:
    """The answer the installed handlers give for an exception raised by a service call."""
    if isinstance(exc, PrompthaError):
        return error_response(exc)
    if isinstance(exc, DRIVER_ERRORS):
        return _database_error(exc)
    return _internal_error(exc)


async def _on_database_error(_request: Request, exc: Exception) -> JSONResponse:
    return _database_error(exc)


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    return _internal_error(exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PrompthaError, _on_promptha_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for database_error in DRIVER_ERRORS:
        app.add_exception_handler(database_error, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)
