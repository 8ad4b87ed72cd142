"""Operations endpoints — /healthz (process up), /readyz (database reachable, migrations
current, dispatcher loop alive), /metrics (Prometheus) — and the API latency middleware."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from promptha_webhooks.clock import ms
from promptha_webhooks.delivery import Dispatcher
from promptha_webhooks.metrics import CONTENT_TYPE_LATEST, Metrics
from promptha_webhooks.services import Services
from promptha_webhooks.store.errors import StoreFailure, store_failures

router = APIRouter(tags=["operations"])

# The claim loop runs at least every poll interval; a loop silent this long is stuck (unless
# it waits for slots because every one is busy).
DISPATCHER_STALE_S = 30.0
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers, its schema is at the code's migration head, and
    the dispatcher's loop (when this process runs one) is alive. 503 names what is not."""
    services: Services = request.app.state.services
    dispatcher: Dispatcher | None = request.app.state.dispatcher
    head: str | None = request.app.state.schema_head
    checks: dict[str, Any] = {}
    try:
        with store_failures():
            async with services.db.transaction() as conn:
                await services.observer.queries.ping(conn)
                version = await services.observer.queries.schema_version(conn)
        checks["database"] = "ok"
        checks["migrations"] = (
            "ok" if version == head else f"schema at {version}, code expects {head}"
        )
    except StoreFailure as exc:
        checks["database"] = f"unreachable: {exc.kind}"
        checks["migrations"] = "unknown"
    except OSError as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    if dispatcher is None:
        checks["dispatcher"] = "not run by this process"
    else:
        age = time.monotonic() - dispatcher.last_loop_monotonic
        busy = dispatcher.in_flight >= services.settings.max_in_flight
        checks["dispatcher"] = (
            "ok" if age < DISPATCHER_STALE_S or busy else f"claim loop silent for {age:.0f} s"
        )
    ready = all(v in ("ok", "not run by this process") for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text format. Gauges read from the database (queue depth, oldest due
    delivery, disabled webhooks) are refreshed at each scrape."""
    services: Services = request.app.state.services
    dispatcher: Dispatcher | None = request.app.state.dispatcher
    registry: Metrics = request.app.state.metrics
    now = services.clock.now()
    try:
        with store_failures():
            async with services.db.transaction() as conn:
                depth, oldest = await services.observer.queries.queue_gauges(conn, ms(now))
                disabled = await services.observer.queries.disabled_webhooks(conn)
        registry.queue_depth.set(depth)
        registry.oldest_due_age.set(max(0.0, now - oldest / 1000) if oldest is not None else 0)
        registry.disabled_webhooks.clear()
        for reason, count in disabled.items():
            registry.disabled_webhooks.labels(reason).set(count)
    except (StoreFailure, OSError):
        pass  # the process's own counters are still worth scraping
    if dispatcher is not None:
        registry.dispatcher_up.set(time.monotonic() - dispatcher.last_loop_monotonic)
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)


class HttpMetrics:
    """ASGI middleware: API latency by method, route template (bounded) and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in HTTP_METHODS else "OTHER"
            self.metrics.http_duration.labels(method, path, str(status)).observe(
                time.perf_counter() - started
            )
