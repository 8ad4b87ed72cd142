"""The customer portal's entry: `GET /portal?token=…` exchanges a one-time link (created by
`POST /v1/accounts/{id}/portal-sessions`) for a session cookie that third-party iframes keep,
then redirects to the webhooks without the token; and the session's theme stylesheet."""

from __future__ import annotations

import time

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from promptha_webhooks.dashboard import theme
from promptha_webhooks.dashboard.dependencies import CurrentServices, CurrentUser, dashboard_state
from promptha_webhooks.dashboard.rendering import MOUNT_PATH
from promptha_webhooks.dashboard.responses import set_portal_cookie
from promptha_webhooks.errors import NotFoundError
from promptha_webhooks.portal import PORTAL_ENTRY_PATH, PORTAL_TOKEN_PARAM

router = APIRouter(include_in_schema=False)


@router.get(PORTAL_ENTRY_PATH)
async def enter(request: Request, services: CurrentServices) -> Response:
    """Open a portal link, once: a used, expired or unknown token → 410 page, no session."""
    token = request.query_params.get(PORTAL_TOKEN_PARAM, "")
    portal = await services.open_portal_session(token)
    codec = dashboard_state(request).codec
    expires_at_s = portal.expires_at_ms // 1000
    cookie = codec.issue(portal.account_id, portal.id, expires_at=expires_at_s)
    response = RedirectResponse(
        f"{MOUNT_PATH}/webhooks", status_code=303, headers={"Cache-Control": "no-store"}
    )
    set_portal_cookie(response, cookie, max(expires_at_s - int(time.time()), 1))
    return response


@router.get(f"{PORTAL_ENTRY_PATH}/theme.css")
async def theme_css(user: CurrentUser) -> Response:
    """The portal session's theme (colours): a stylesheet, as the CSP allows no inline style."""
    if user.portal is None:
        raise NotFoundError("Not a portal session")
    return Response(
        theme.stylesheet(user.portal.theme),
        media_type="text/css",
        headers={"Cache-Control": "no-store"},
    )
