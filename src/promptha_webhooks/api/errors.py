"""Error responses: every failure is `{"error": {"type", "message", "field"?}}` with a 4xx/503.

Internal errors are logged with a trace id and answered with that id only; driver errors that
mean the database is unreachable become 503 so clients retry.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from promptha_webhooks.errors import InvalidRequestError, PrompthaError, ServiceUnavailableError

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
        return JSONResponse(error_body("invalid_request", f"Malformed JSON body: {reason}"), 400)
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


def _unstorable_value(exc: Exception) -> JSONResponse | None:
    """A value PostgreSQL cannot store (SQLSTATE class 22: a NUL character in text, a number
    out of range): the client's to fix, so 400, not the 503 of an unreachable database, which
    clients retry. None for any other error."""
    seen: BaseException | None = exc
    for _ in range(5):  # the driver's error, as SQLAlchemy wraps it
        if seen is None or isinstance(seen, asyncpg.PostgresError):
            break
        seen = getattr(seen, "orig", None) or seen.__cause__
    if not isinstance(seen, asyncpg.DataError):
        return None
    return error_response(
        InvalidRequestError(f"The request holds a value that cannot be stored: {seen}")
    )


def _database_unavailable(exc: Exception) -> JSONResponse:
    logger.warning("database unavailable: %s", exc)
    return error_response(ServiceUnavailableError("The database is unavailable; retry shortly"))


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
    if isinstance(exc, _DATABASE_ERRORS):
        return _database_error(exc)
    return _internal_error(exc)


def _database_error(exc: Exception) -> JSONResponse:
    return _unstorable_value(exc) or _database_unavailable(exc)


async def _on_database_error(_request: Request, exc: Exception) -> JSONResponse:
    return _database_error(exc)


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    return _internal_error(exc)


# Through SQLAlchemy, or from asyncpg directly (the hot statements run on asyncpg's own
# connections, whose lost connections surface as ConnectionError).
_DATABASE_ERRORS = (DBAPIError, PoolTimeoutError, ConnectionError, asyncpg.DataError)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PrompthaError, _on_promptha_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for database_error in _DATABASE_ERRORS:
        app.add_exception_handler(database_error, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)
