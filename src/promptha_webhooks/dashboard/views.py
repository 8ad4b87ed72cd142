"""The dashboard's pages: sign-in, Settings > Webhooks, webhook detail, delivery logs, monitoring.

Thin views over the same `Services` the API uses (no SQL, no private shortcuts): each view
reads the session, parses the form or query, calls the services, renders a template. htmx
requests (`HX-Request`) get the fragment they swap in; plain requests get whole pages, so
every action also works without JavaScript.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from promptha_webhooks import ids
from promptha_webhooks.catalog import EVENT_TYPES_BY_NAME, sample_payload
from promptha_webhooks.config import Mode, Settings
from promptha_webhooks.dashboard import stats_view
from promptha_webhooks.dashboard.forms import WebhookForm, parse_payload, read_form
from promptha_webhooks.dashboard.rendering import (
    MOUNT_PATH,
    SECURITY_HEADERS,
    Renderer,
    pretty_json,
)
from promptha_webhooks.dashboard.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    LOGIN_CSRF_TTL_S,
    SESSION_COOKIE,
    DashboardSession,
    SessionCodec,
    check_login_token,
    new_login_token,
)
from promptha_webhooks.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PrompthaError,
    ServiceUnavailableError,
)
from promptha_webhooks.models import Account, DeliveryStatus, TestResult
from promptha_webhooks.services import Services
from promptha_webhooks.store.errors import DRIVER_ERRORS, translate_driver_error

logger = logging.getLogger(__name__)

WEBHOOKS_PAGE_SIZE = 50
DELIVERIES_PAGE_SIZE = 50
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "delivered", "failed", "skipped")
TIME_WINDOWS_S = {"1h": 3600, "24h": 24 * 3600, "7d": 7 * 24 * 3600, "30d": 30 * 24 * 3600}
TIME_WINDOW_LABELS = {"": "Any time", "1h": "Last hour", "24h": "Last 24 hours"} | {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
}
NOTICES = {
    "enabled": "Webhook enabled.",
    "disabled": "Webhook disabled: no new deliveries are made to it.",
    "saved": "Changes saved.",
    "deleted": "Webhook deleted.",
    "signed-out": "You are signed out.",
}


class SignInRequired(Exception):
    """No valid session: send the browser to the sign-in page."""


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token."""


ServicesProvider = Callable[[], Services]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def safe_next(value: str | None) -> str:
    """Where to go after sign-in: only a path inside the dashboard (no open redirect)."""
    if (
        value
        and value.startswith(MOUNT_PATH + "/")
        and "\\" not in value
        and "://" not in value
        and "//" not in value
    ):
        return value
    return f"{MOUNT_PATH}/webhooks"


def redirect(path: str, **query: str) -> RedirectResponse:
    url = MOUNT_PATH + path + (f"?{urlencode(query)}" if query else "")
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def create_dashboard(settings: Settings, get_services: ServicesProvider) -> FastAPI:
    """The dashboard as an ASGI app to mount at /dashboard, over the app's services."""
    secret = settings.session_secret
    if secret is None:
        # Tests and embedded use: sessions last as long as the process.
        logger.info("no session secret configured: dashboard sessions end with this process")
        secret = secrets.token_urlsafe(32)
    codec = SessionCodec(secret)
    renderer = Renderer()
    secure_cookies = settings.mode is Mode.PRODUCTION
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.mount(
        "/static",
        StaticFiles(packages=[("promptha_webhooks.dashboard", "static")]),
        name="static",
    )

    # -- plumbing ------------------------------------------------------------------------

    def page(
        request: Request,
        name: str,
        context: dict[str, Any],
        *,
        session: DashboardSession | None = None,
        account: Account | None = None,
        status_code: int = 200,
    ) -> Response:
        full = {
            "request_path": request.url.path,
            "session": session,
            "account": account,
            "csrf": codec.csrf_token(session) if session else "",
            "csrf_field": CSRF_FIELD,
            "notice": NOTICES.get(request.query_params.get("done", ""), ""),
            "htmx": is_htmx(request),
        } | context
        return renderer.render(name, full, status_code=status_code)

    async def current_session(request: Request) -> DashboardSession | None:
        """The cookie's session, if its signature and expiry hold and it was not signed out."""
        session = codec.load(request.cookies.get(SESSION_COOKIE))
        if session is None or await get_services().dashboard_session_revoked(session.session_hash):
            return None
        return session

    async def signed_in(request: Request) -> tuple[DashboardSession, Account]:
        """The session, checked: signature, expiry, not signed out, the key still exists; and
        CSRF on POST."""
        session = await current_session(request)
        if session is None:
            raise SignInRequired()
        services = get_services()
        try:
            keys = await services.list_api_keys(session.account_id)
            account = await services.get_account(session.account_id)
        except NotFoundError:
            raise SignInRequired() from None
        if not any(key.id == session.key_id for key in keys):
            raise SignInRequired()
        if request.method not in ("GET", "HEAD"):
            token = request.headers.get(CSRF_HEADER)
            if token is None:
                token = (await read_form(request)).get(CSRF_FIELD)
            if not codec.check_csrf(session, token):
                raise CsrfRejected()
        return session, account

    def cookie_args() -> dict[str, Any]:
        return {"httponly": True, "samesite": "lax", "secure": secure_cookies, "path": MOUNT_PATH}

    # -- errors ----------------------------------------------------------------------------

    async def on_sign_in_required(request: Request, _exc: Exception) -> Response:
        query = f"?{request.url.query}" if request.url.query else ""
        target = safe_next(request.url.path + query)
        login = f"{MOUNT_PATH}/login?{urlencode({'next': target})}"
        if is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": login})
        response = RedirectResponse(login, status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=MOUNT_PATH)
        return response

    async def on_csrf(request: Request, _exc: Exception) -> Response:
        return page(
            request,
            "error.html",
            {
                "title": "Form expired",
                "message": "This form is out of date or did not come from this dashboard. "
                "Reload the page and try again.",
            },
            status_code=403,
        )

    async def on_promptha_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PrompthaError)
        title = "Not found" if isinstance(exc, NotFoundError) else "Something went wrong"
        message = (
            "There is nothing here, or it belongs to another account."
            if isinstance(exc, NotFoundError)
            else exc.message
        )
        return page(
            request, "error.html", {"title": title, "message": message}, status_code=exc.status_code
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        title = "Not found" if exc.status_code == 404 else "Request failed"
        return page(
            request,
            "error.html",
            {"title": title, "message": "There is no page at this address."},
            status_code=exc.status_code,
        )

    async def on_database_error(request: Request, exc: Exception) -> Response:
        translated = translate_driver_error(exc)
        if translated is None:
            return await on_unexpected(request, exc)
        if isinstance(translated, ServiceUnavailableError):
            logger.warning("database unavailable: %s", exc)
            return page(
                request,
                "error.html",
                {"title": "Unavailable", "message": "The database is unavailable; retry shortly."},
                status_code=503,
            )
        return await on_promptha_error(request, translated)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        trace_id = secrets.token_hex(8)
        logger.exception("dashboard internal error %s", trace_id, exc_info=exc)
        return page(
            request,
            "error.html",
            {"title": "Internal error", "message": f"Internal error (trace id {trace_id})."},
            status_code=500,
        )

    app.add_exception_handler(SignInRequired, on_sign_in_required)
    app.add_exception_handler(CsrfRejected, on_csrf)
    app.add_exception_handler(PrompthaError, on_promptha_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for driver_error in DRIVER_ERRORS:
        app.add_exception_handler(driver_error, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)

    # -- sign in / out ---------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return redirect("/webhooks")

    def login_page(request: Request, *, error: str = "", status_code: int = 200) -> Response:
        token = new_login_token()
        response = page(
            request,
            "login.html",
            {
                "error": error,
                "login_token": token,
                "next": safe_next(request.query_params.get("next")),
            },
            status_code=status_code,
        )
        response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=LOGIN_CSRF_TTL_S, **cookie_args())
        return response

    @app.get("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        if await current_session(request) is not None:
            return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
        return login_page(request)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await read_form(request)
        if not check_login_token(request.cookies.get(LOGIN_CSRF_COOKIE), form.get(CSRF_FIELD)):
            return login_page(
                request, error="The sign-in form expired; try again.", status_code=403
            )
        raw_key = form.get("api_key").strip()
        try:
            principal = await get_services().authenticate(raw_key)
        except AuthenticationError:
            return login_page(request, error="That API key is not valid.", status_code=401)
        if principal.account_id is None:
            return login_page(
                request,
                error="Admin keys cannot sign in here; use an account API key (pwk_…).",
                status_code=403,
            )
        response = RedirectResponse(safe_next(form.get("next")), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            codec.issue(principal.account_id, principal.key_id),
            max_age=codec.ttl_s,
            **cookie_args(),
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=MOUNT_PATH)
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        session, _account = await signed_in(request)
        await get_services().revoke_dashboard_session(session.session_hash, session.expires_at)
        response = redirect("/login", done="signed-out")
        response.delete_cookie(SESSION_COOKIE, path=MOUNT_PATH)
        return response

    # -- Settings > Webhooks ---------------------------------------------------------------

    @app.get("/webhooks", include_in_schema=False)
    async def webhook_list(request: Request) -> Response:
        session, account = await signed_in(request)
        services = get_services()
        cursor = request.query_params.get("cursor") or None
        try:
            listing = await services.list_webhooks(session.account_id, WEBHOOKS_PAGE_SIZE, cursor)
        except InvalidRequestError:
            return redirect("/webhooks")
        stats = await stats_view.webhook_stats(services, session.account_id, listing.data)
        return page(
            request,
            "webhooks.html",
            {"webhooks": listing, "stats": stats, "cursor": cursor},
            session=session,
            account=account,
        )

    @app.get("/webhooks/new", include_in_schema=False)
    async def new_webhook(request: Request) -> Response:
        session, account = await signed_in(request)
        return page(
            request,
            "webhook_new.html",
            {"form": WebhookForm(events=["fabric.completed"])},
            session=session,
            account=account,
        )

    @app.post("/webhooks/new", include_in_schema=False)
    async def create_webhook(request: Request) -> Response:
        session, account = await signed_in(request)
        services = get_services()
        form_data = await read_form(request)
        form = WebhookForm.from_form(form_data)
        created = None
        if await form.validate(services):
            try:
                created = await services.create_webhook(
                    session.account_id,
                    url=form.url,
                    events=form.events,
                    secret=None,
                    filters=form.filters(),
                    description=form.description,
                )
            except InvalidRequestError as exc:
                form.add_error(exc)
        if created is None:
            return page(
                request,
                "webhook_new.html",
                {"form": form},
                session=session,
                account=account,
                status_code=400,
            )
        test: TestResult | None = None
        if form_data.get("action") == "save_test":
            test = await services.send_test(session.account_id, created.id, created.events[0], {})
        return page(
            request,
            "webhook_created.html",
            {"webhook": created, "secret": created.secret_value(), "test": test},
            session=session,
            account=account,
            status_code=201,
        )

    async def detail_page(
        request: Request,
        session: DashboardSession,
        account: Account,
        webhook_id: str,
        *,
        form: WebhookForm | None = None,
        secret: str | None = None,
        test: TestResult | None = None,
        test_event: str | None = None,
        test_payload: str | None = None,
        test_error: str = "",
        status_code: int = 200,
    ) -> Response:
        services = get_services()
        webhook = await services.get_webhook(session.account_id, webhook_id)
        if form is None:
            form = WebhookForm.from_webhook(
                webhook.url, webhook.events, webhook.filters, webhook.description
            )
        event = test_event or webhook.events[0]
        if test_payload is None:
            test_payload = sample_text(event)
        recent = await services.list_deliveries(
            session.account_id, webhook_id, status=None, event_type=None, limit=5, cursor=None
        )
        return page(
            request,
            "webhook_detail.html",
            {
                "webhook": webhook,
                "form": form,
                "secret": secret,
                "test": test,
                "test_event": event,
                "test_payload": test_payload,
                "test_error": test_error,
                "recent": recent.data,
            },
            session=session,
            account=account,
            status_code=status_code,
        )

    @app.get("/webhooks/{webhook_id}", include_in_schema=False)
    async def webhook_detail(request: Request, webhook_id: str) -> Response:
        session, account = await signed_in(request)
        return await detail_page(request, session, account, webhook_id)

    @app.post("/webhooks/{webhook_id}", include_in_schema=False)
    async def update_webhook(request: Request, webhook_id: str) -> Response:
        session, account = await signed_in(request)
        services = get_services()
        await services.get_webhook(session.account_id, webhook_id)  # 404 before validating
        form = WebhookForm.from_form(await read_form(request))
        if await form.validate(services):
            try:
                await services.update_webhook(
                    session.account_id,
                    webhook_id,
                    {
                        "url": form.url,
                        "events": form.events,
                        "filters": form.filters(),
                        "description": form.description,
                    },
                )
            except InvalidRequestError as exc:
                form.add_error(exc)
            else:
                return redirect(f"/webhooks/{webhook_id}", done="saved")
        return await detail_page(request, session, account, webhook_id, form=form, status_code=400)

    @app.post("/webhooks/{webhook_id}/enabled", include_in_schema=False)
    async def set_enabled(request: Request, webhook_id: str) -> Response:
        session, _account = await signed_in(request)
        enable = (await read_form(request)).get("enabled") == "true"
        await get_services().update_webhook(session.account_id, webhook_id, {"enabled": enable})
        return redirect(f"/webhooks/{webhook_id}", done="enabled" if enable else "disabled")

    @app.post("/webhooks/{webhook_id}/delete", include_in_schema=False)
    async def delete_webhook(request: Request, webhook_id: str) -> Response:
        session, _account = await signed_in(request)
        await get_services().delete_webhook(session.account_id, webhook_id)
        return redirect("/webhooks", done="deleted")

    @app.post("/webhooks/{webhook_id}/secret", include_in_schema=False)
    async def reveal_secret(request: Request, webhook_id: str) -> Response:
        """Reveal (or rotate, then reveal) the signing secret: only ever in a POST answer."""
        session, account = await signed_in(request)
        services = get_services()
        action = (await read_form(request)).get("action")
        if action == "rotate":
            await services.update_webhook(session.account_id, webhook_id, {"secret": None})
        revealed = await services.get_webhook_secret(session.account_id, webhook_id)
        if is_htmx(request):
            return page(
                request,
                "_secret.html",
                {
                    "webhook_id": webhook_id,
                    "secret": revealed.secret,
                    "rotated": action == "rotate",
                },
                session=session,
                account=account,
            )
        return await detail_page(request, session, account, webhook_id, secret=revealed.secret)

    @app.get("/webhooks/{webhook_id}/test-sample", include_in_schema=False)
    async def test_sample(request: Request, webhook_id: str) -> Response:
        session, account = await signed_in(request)
        await get_services().get_webhook(session.account_id, webhook_id)
        event = request.query_params.get("event", "")
        if event not in EVENT_TYPES_BY_NAME:
            raise InvalidRequestError(f"Unknown event type {event!r}", field="event")
        return page(
            request,
            "_test_payload.html",
            {"test_payload": sample_text(event), "test_error": ""},
            session=session,
            account=account,
        )

    @app.post("/webhooks/{webhook_id}/test", include_in_schema=False)
    async def send_test(request: Request, webhook_id: str) -> Response:
        session, account = await signed_in(request)
        services = get_services()
        form = await read_form(request)
        event, text = form.get("event"), form.get("payload")
        payload, error = parse_payload(text)
        result: TestResult | None = None
        if payload is not None:
            try:
                result = await services.send_test(session.account_id, webhook_id, event, payload)
            except InvalidRequestError as exc:
                error = exc.message
        if is_htmx(request):
            return page(
                request,
                "_test_result.html",
                {"test": result, "test_error": error or ""},
                session=session,
                account=account,
            )
        return await detail_page(
            request,
            session,
            account,
            webhook_id,
            test=result,
            test_event=event if event in EVENT_TYPES_BY_NAME else None,
            test_payload=text,
            test_error=error or "",
            status_code=200 if error is None else 400,
        )

    # -- delivery logs -----------------------------------------------------------------------

    @app.get("/webhooks/{webhook_id}/deliveries", include_in_schema=False)
    async def delivery_log(request: Request, webhook_id: str) -> Response:
        session, account = await signed_in(request)
        services = get_services()
        webhook = await services.get_webhook(session.account_id, webhook_id)
        query = request.query_params
        filters = {
            "status": query.get("status", ""),
            "event": query.get("event", ""),
            "since": query.get("since", ""),
            "before": query.get("before", ""),
        }
        errors: dict[str, str] = {}
        status = filters["status"] if filters["status"] in DELIVERY_STATUSES else None
        if filters["status"] and status is None:
            errors["status"] = "Unknown status"
        event = filters["event"] if filters["event"] in EVENT_TYPES_BY_NAME else None
        if filters["event"] and event is None:
            errors["event"] = "Unknown event type"
        window = TIME_WINDOWS_S.get(filters["since"])
        cursor = query.get("cursor") or None
        if cursor is not None and not ids.has_prefix(cursor, ids.DELIVERY):
            cursor = None
        if cursor is None and filters["before"]:
            try:
                before = datetime.fromisoformat(filters["before"]).replace(tzinfo=UTC)
                cursor = ids.floor_id(ids.DELIVERY, int(before.timestamp() * 1000))
            except ValueError:
                errors["before"] = "Use a date and time such as 2026-01-31T18:00"
        listing = await services.list_deliveries(
            session.account_id,
            webhook_id,
            status=status,
            event_type=event,
            limit=DELIVERIES_PAGE_SIZE,
            cursor=cursor,
        )
        rows, has_more = listing.data, listing.has_more
        if window is not None:
            # Newest first: the page ends where the window does.
            cutoff = time.time() - window
            kept = [d for d in rows if d.created_at.timestamp() >= cutoff]
            has_more = has_more and len(kept) == len(rows)
            rows = kept
        next_query = None
        if has_more and rows:
            kept_filters = {k: v for k, v in filters.items() if v}
            next_query = urlencode(kept_filters | {"cursor": rows[-1].id})
        return page(
            request,
            "deliveries.html",
            {
                "webhook": webhook,
                "deliveries": rows,
                "filters": filters,
                "filter_errors": errors,
                "statuses": DELIVERY_STATUSES,
                "windows": TIME_WINDOW_LABELS,
                "next_query": next_query,
                "paged": cursor is not None and not filters["before"],
                "first_query": urlencode({k: v for k, v in filters.items() if v}),
            },
            session=session,
            account=account,
        )

    @app.get("/deliveries/{delivery_id}", include_in_schema=False)
    async def delivery_detail(request: Request, delivery_id: str) -> Response:
        session, account = await signed_in(request)
        delivery = await get_services().get_delivery(session.account_id, delivery_id)
        name = "_delivery.html" if is_htmx(request) else "delivery.html"
        return page(request, name, {"delivery": delivery}, session=session, account=account)

    @app.post("/deliveries/{delivery_id}/resend", include_in_schema=False)
    async def resend(request: Request, delivery_id: str) -> Response:
        session, account = await signed_in(request)
        delivery = await get_services().resend(session.account_id, delivery_id)
        if is_htmx(request):
            return page(
                request,
                "_delivery.html",
                {"delivery": delivery, "resent": True},
                session=session,
                account=account,
            )
        return redirect(f"/deliveries/{delivery_id}")

    # -- monitoring ------------------------------------------------------------------------

    @app.get("/monitoring", include_in_schema=False)
    async def monitoring(request: Request) -> Response:
        session, account = await signed_in(request)
        figures = await stats_view.account_monitoring(get_services(), session.account_id)
        return page(
            request, "monitoring.html", {"figures": figures}, session=session, account=account
        )

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            if name == "Cache-Control" and request.url.path.startswith(f"{MOUNT_PATH}/static"):
                continue
            response.headers.setdefault(name, value)
        return response

    return app


def sample_text(event: str) -> str:
    """The editable sample payload of an event type, pretty-printed."""
    event_type = EVENT_TYPES_BY_NAME.get(event)
    return pretty_json(sample_payload(event_type)) if event_type else "{}"
