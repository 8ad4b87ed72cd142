"""`GET /`, the service's front door: a browser is sent on to the dashboard, an API client gets
a JSON index of where the API, the dashboard and the reference are."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel

from promptha_webhooks import __version__
from promptha_webhooks.dashboard import MOUNT_PATH as DASHBOARD_PATH

router = APIRouter(tags=["operations"])

BROWSER_MEDIA_TYPE = "text/html"


class ServiceIndex(BaseModel):
    name: str
    version: str
    api: str
    dashboard: str
    docs: str
    openapi: str
    health: str


@router.get(
    "/",
    response_model=ServiceIndex,
    responses={307: {"description": "A browser (`Accept: text/html`): on to the dashboard"}},
)
async def index(request: Request) -> Response:
    """Where things are. Browsers, which ask for HTML, are redirected to the dashboard."""
    root = request.scope.get("root_path", "")
    # The answer depends on Accept: caches must not hand a browser the JSON, or curl the page.
    vary = {"Vary": "Accept"}
    if _wants_html(request.headers.get("accept", "")):
        return RedirectResponse(f"{root}{DASHBOARD_PATH}", status_code=307, headers=vary)
    body = ServiceIndex(
        name="Promptha Webhooks",
        version=__version__,
        api=f"{root}/v1",
        dashboard=f"{root}{DASHBOARD_PATH}",
        docs=f"{root}/docs",
        openapi=f"{root}/openapi.json",
        health=f"{root}/healthz",
    )
    return JSONResponse(body.model_dump(), headers=vary)


def _wants_html(accept: str) -> bool:
    """Whether Accept names text/html with a non-zero quality (what browsers send first)."""
    for media_range in accept.split(","):
        media_type, *params = (part.strip() for part in media_range.split(";"))
        if media_type.lower() != BROWSER_MEDIA_TYPE:
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False
