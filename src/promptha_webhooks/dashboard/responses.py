"""How the dashboard answers: a page rendered with the session's CSRF token and the notice of
the action just done, the redirect after a form, cookies, and where sign-in may lead."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from promptha_webhooks.dashboard.dependencies import SignedIn, dashboard_state
from promptha_webhooks.dashboard.rendering import MOUNT_PATH, security_headers
from promptha_webhooks.dashboard.sessions import CSRF_FIELD, SESSION_COOKIE

# `?done=…` after a redirect: what the next page says was done.
NOTICES = {
    "enabled": "Webhook enabled.",
    "disabled": "Webhook disabled: no new deliveries are made to it.",
    "saved": "Changes saved.",
    "saved-new-secret": "Changes saved. A new signing secret signs from now on: reveal it below "
    "and give it to your receiver.",
    "deleted": "Webhook deleted.",
    "signed-out": "You are signed out.",
    "already-created": "This form had already created this webhook, so nothing new was "
    "created (the page was reloaded or the form sent again). Its signing secret can be "
    "revealed here.",
    "already-created-deleted": "This form had already created a webhook, since deleted, so "
    "nothing new was created. Add Webhook opens a fresh form.",
    "already-rotated": "This form had already rotated the signing secret, so it was not "
    "rotated again (the page was reloaded or the form sent again). Reveal shows the new "
    "secret.",
    "key-already-created": "This form had already created an API key, so no new key was made "
    "(the page was reloaded or the form sent again). A key is shown only once: if it was not "
    "copied, revoke it and create another.",
    "key-revoked": "API key revoked: it no longer works, in the API or here.",
    "key-revoked-signed-out": "You revoked the API key this session signed in with, so you "
    "are signed out. Sign in with another key of the account.",
}


def _origin(url: str | None) -> tuple[str, ...]:
    """The origin of a URL the services checked (portal logo or return URL), for the CSP."""
    if not url:
        return ()
    parts = urlsplit(url)
    return (f"{parts.scheme}://{parts.netloc}",)


def portal_headers(request: Request, user: SignedIn | None) -> dict[str, str] | None:
    """A portal page's CSP: its logo's origin may be loaded and Sign out may lead to its
    return URL's origin."""
    portal = user.portal if user else None
    if portal is None or not (portal.theme.logo_url or portal.return_url):
        return None
    state = dashboard_state(request)
    frame = state.renderer.frame_origins
    return security_headers(
        frame,
        img_origins=_origin(portal.theme.logo_url),
        form_origins=_origin(portal.return_url),
    )


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
    """303 to a dashboard path (after a form, so reloading does not post it again)."""
    url = MOUNT_PATH + path + (f"?{urlencode(query)}" if query else "")
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    user: SignedIn | None = None,
    status_code: int = 200,
) -> Response:
    """A template rendered with what every page shows: the account, the CSRF token of its
    forms, the notice of the action just done, and whether htmx asked for a fragment."""
    state = dashboard_state(request)
    session = user.session if user else None
    full = {
        "request_path": request.url.path,
        "session": session,
        "account": user.account if user else None,
        "csrf": state.codec.csrf_token(session) if session else "",
        "csrf_field": CSRF_FIELD,
        "notice": NOTICES.get(request.query_params.get("done", ""), ""),
        "htmx": is_htmx(request),
        "portal": user.portal if user else None,
        "read_only": user.read_only if user else False,
        "operator_pages": not (user and user.portal),
    } | context
    headers = portal_headers(request, user)
    return state.renderer.render(name, full, status_code=status_code, headers=headers)


def set_cookie(request: Request, response: Response, name: str, value: str, max_age_s: int) -> None:
    """A dashboard cookie: HttpOnly, SameSite=Lax, only under the mount path, Secure in
    production mode."""
    response.set_cookie(
        name,
        value,
        max_age=max_age_s,
        httponly=True,
        samesite="lax",
        secure=dashboard_state(request).secure_cookies,
        path=MOUNT_PATH,
    )


def set_portal_cookie(
    response: Response, value: str, max_age_s: int, *, name: str = SESSION_COOKIE
) -> None:
    """A portal session's cookie: what a third-party iframe needs (SameSite=None; Secure;
    Partitioned, so browsers that block third-party cookies still keep it, for the embedding
    site); the session's CSRF token still guards every change. Written by hand: the standard
    library's cookie module knows `Partitioned` only from Python 3.14."""
    response.headers.append(
        "set-cookie",
        f"{name}={value}; Max-Age={max_age_s}; Path={MOUNT_PATH}; HttpOnly; Secure; "
        "SameSite=None; Partitioned",
    )


def set_session_cookie(
    request: Request, response: Response, user: SignedIn, name: str, value: str, max_age_s: int
) -> None:
    """A cookie that goes with the signed-in session: a portal session's kind in the portal
    (its iframe would not send a SameSite=Lax one), else a dashboard one."""
    if user.portal is not None:
        set_portal_cookie(response, value, max_age_s, name=name)
    else:
        set_cookie(request, response, name, value, max_age_s)


def delete_cookie(response: Response, name: str, *, portal: bool = False) -> None:
    if portal:  # a partitioned cookie is only replaced by one with the same attributes
        set_portal_cookie(response, "", 0, name=name)
        return
    response.delete_cookie(name, path=MOUNT_PATH)
