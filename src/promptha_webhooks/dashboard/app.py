"""`create_dashboard`: the dashboard as a FastAPI sub-application, mounted at /dashboard by
`api.create_app`. It builds the state the pages depend on (kept on `app.state.dashboard`), the
error pages, the security headers and the static files, and mounts every page group's router;
the routes themselves live in `pages/`.
"""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from promptha_webhooks.config import Mode, Settings
from promptha_webhooks.dashboard.dependencies import (
    PORTAL_RULES,
    DashboardState,
    ServicesProvider,
    dashboard_state,
)
from promptha_webhooks.dashboard.errors import add_error_pages
from promptha_webhooks.dashboard.pages import ROUTERS
from promptha_webhooks.dashboard.rendering import MOUNT_PATH, Renderer
from promptha_webhooks.dashboard.sessions import SessionCodec

logger = logging.getLogger(__name__)

SESSION_SECRET_BYTES = 32  # of the per-process secret used when none is configured


def create_dashboard(settings: Settings, services: ServicesProvider) -> FastAPI:
    """The dashboard as an ASGI app to mount at /dashboard, over the app's services (a
    provider: the API app builds them when it starts)."""
    secret = settings.session_secret
    if secret is None:
        # Tests and embedded use: sessions last as long as the process.
        logger.info("no session secret configured: dashboard sessions end with this process")
        secret = secrets.token_urlsafe(SESSION_SECRET_BYTES)
    # portal_rules on every route: portal sessions never reach operator pages, and read-only
    # ones change nothing, whatever page group a route is added to.
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, dependencies=PORTAL_RULES)
    app.state.dashboard = DashboardState(
        services=services,
        codec=SessionCodec(secret),
        renderer=Renderer(settings.portal_origins),
        secure_cookies=settings.mode is Mode.PRODUCTION,
    )
    app.mount(
        "/static",
        StaticFiles(packages=[("promptha_webhooks.dashboard", "static")]),
        name="static",
    )
    add_error_pages(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BaseHTTPMiddleware, dispatch=security_headers)
    return app


async def security_headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
    """The security headers on every answer (static files keep their own caching)."""
    response = await call_next(request)
    for name, value in dashboard_state(request).renderer.headers.items():
        if name == "Cache-Control" and request.url.path.startswith(f"{MOUNT_PATH}/static"):
            continue
        response.headers.setdefault(name, value)
    return response
