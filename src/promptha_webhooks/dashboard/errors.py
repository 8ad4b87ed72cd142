"""The dashboard's answers to errors: no session → the sign-in page, a missing CSRF token →
"Form expired", the package's errors and unknown addresses → an error page with their status,
driver errors → translated in store/errors.py, anything else → 500 with a trace id in the log.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from promptha_webhooks.dashboard.dependencies import CsrfRejected, PortalRefused, SignInRequired
from promptha_webhooks.dashboard.rendering import MOUNT_PATH
from promptha_webhooks.dashboard.responses import delete_cookie, is_htmx, page, safe_next
from promptha_webhooks.dashboard.sessions import SESSION_COOKIE
from promptha_webhooks.errors import NotFoundError, PrompthaError, ServiceUnavailableError
from promptha_webhooks.store.errors import DRIVER_ERRORS, translate_driver_error

logger = logging.getLogger(__name__)


def error_page(request: Request, title: str, message: str, status_code: int) -> Response:
    return page(
        request, "error.html", {"title": title, "message": message}, status_code=status_code
    )


async def on_sign_in_required(request: Request, _exc: Exception) -> Response:
    query = f"?{request.url.query}" if request.url.query else ""
    target = safe_next(request.url.path + query)
    login = f"{MOUNT_PATH}/login?{urlencode({'next': target})}"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": login})
    response = RedirectResponse(login, status_code=303)
    delete_cookie(response, SESSION_COOKIE)
    return response


async def on_csrf(request: Request, _exc: Exception) -> Response:
    return error_page(
        request,
        "Form expired",
        "This form is out of date or did not come from this dashboard. "
        "Reload the page and try again.",
        403,
    )


async def on_portal_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PortalRefused)
    return error_page(request, "Not available here", exc.message, 403)


async def on_promptha_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PrompthaError)
    if isinstance(exc, NotFoundError):
        title, message = "Not found", "There is nothing here, or it belongs to another account."
    else:
        title, message = "Something went wrong", exc.message
    return error_page(request, title, message, exc.status_code)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    title = "Not found" if exc.status_code == 404 else "Request failed"
    return error_page(request, title, "There is no page at this address.", exc.status_code)


async def on_database_error(request: Request, exc: Exception) -> Response:
    translated = translate_driver_error(exc)
    if translated is None:
        return await on_unexpected(request, exc)
    if isinstance(translated, ServiceUnavailableError):
        logger.warning("database unavailable: %s", exc)
        return error_page(
            request, "Unavailable", "The database is unavailable; retry shortly.", 503
        )
    return await on_promptha_error(request, translated)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    trace_id = secrets.token_hex(8)
    logger.exception("dashboard internal error %s", trace_id, exc_info=exc)
    return error_page(request, "Internal error", f"Internal error (trace id {trace_id}).", 500)


ErrorPage = Callable[[Request, Exception], Awaitable[Response]]
# Starlette picks the handler of the nearest class in the exception's MRO; `Exception` is
# answered by its outermost middleware, after everything else failed.
ERROR_PAGES: tuple[tuple[type[Exception], ErrorPage], ...] = (
    (SignInRequired, on_sign_in_required),
    (CsrfRejected, on_csrf),
    (PortalRefused, on_portal_refused),
    (PrompthaError, on_promptha_error),
    (StarletteHTTPException, on_http_error),
    *((driver_error, on_database_error) for driver_error in DRIVER_ERRORS),
    (Exception, on_unexpected),
)


def add_error_pages(app: FastAPI) -> None:
    for exception_class, handler in ERROR_PAGES:
        app.add_exception_handler(exception_class, handler)
