"""Sign-in and sign-out: the only pages open without a session (`/` and `/login`).

Signing in takes an account API key (admin keys are refused) and sets the session cookie; the
sign-in form carries a double-submit token instead of the session's CSRF token. Signing out
records the session as revoked, so a copy of the cookie stops working too.

In a frame (the embedded customer portal, whose users have no API key), the sign-in page is a
"Session ended" page instead: a portal session that expired sends its frame here.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from promptha_webhooks.dashboard.dependencies import (
    CurrentServices,
    CurrentUser,
    current_session,
    dashboard_state,
)
from promptha_webhooks.dashboard.forms import read_form
from promptha_webhooks.dashboard.repost import CREATED_COOKIE
from promptha_webhooks.dashboard.responses import (
    delete_cookie,
    page,
    redirect,
    safe_next,
    set_cookie,
)
from promptha_webhooks.dashboard.sessions import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    LOGIN_CSRF_TTL_S,
    SESSION_COOKIE,
    check_login_token,
    new_login_token,
)
from promptha_webhooks.errors import AuthenticationError

router = APIRouter(include_in_schema=False)


def login_page(request: Request, *, error: str = "", status_code: int = 200) -> Response:
    """The sign-in form with a fresh double-submit token (in the form and in a cookie)."""
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
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, LOGIN_CSRF_TTL_S)
    return response


@router.get("/")
async def home() -> Response:
    return redirect("/webhooks")


# A page loaded in a frame: the embedded customer portal (only the portal's origins may frame
# the dashboard, PROMPTHA_WEBHOOKS_PORTAL_ORIGINS). Browsers send it on every navigation.
FRAMED = frozenset({"iframe", "frame"})
PORTAL_ENDED = "This session has ended. Reload the page you opened it from to start a new one."


@router.get("/login")
async def login_form(request: Request) -> Response:
    if await current_session(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    if request.headers.get("sec-fetch-dest") in FRAMED:
        # An expired portal session, not a person with an API key: no sign-in form.
        return page(
            request,
            "error.html",
            {"title": "Session ended", "message": PORTAL_ENDED, "back": False, "sign_in": True},
            status_code=401,
        )
    return login_page(request)


@router.post("/login")
async def login(request: Request, services: CurrentServices) -> Response:
    form = await read_form(request)
    if not check_login_token(request.cookies.get(LOGIN_CSRF_COOKIE), form.get(CSRF_FIELD)):
        return login_page(request, error="The sign-in form expired; try again.", status_code=403)
    try:
        principal = await services.authenticate(form.get("api_key").strip())
    except AuthenticationError:
        return login_page(request, error="That API key is not valid.", status_code=401)
    if principal.account_id is None:
        return login_page(
            request,
            error="Admin keys cannot sign in here; use an account API key (pwk_…).",
            status_code=403,
        )
    codec = dashboard_state(request).codec
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    cookie = codec.issue(principal.account_id, principal.key_id)
    set_cookie(request, response, SESSION_COOKIE, cookie, codec.ttl_s)
    delete_cookie(response, LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(user: CurrentUser, services: CurrentServices) -> Response:
    """Sign out; a portal session goes to its return URL if it has one (the form targets the
    top window), else to the sign-in page like any other."""
    await services.revoke_dashboard_session(user.session.session_hash, user.session.expires_at)
    portal = user.portal
    if portal is not None and portal.return_url:
        response: Response = RedirectResponse(portal.return_url, status_code=303)
    else:
        response = redirect("/login", done="signed-out")
    delete_cookie(response, SESSION_COOKIE, portal=portal is not None)
    delete_cookie(response, CREATED_COOKIE, portal=portal is not None)
    return response
