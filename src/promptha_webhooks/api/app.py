"""The application factory: `create_app(settings)` wires database, services and dispatcher."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from fastapi_offline import FastAPIOffline
from starlette.routing import BaseRoute

from promptha_webhooks import __version__
from promptha_webhooks.api import (
    accounts,
    alert_contacts,
    deliveries,
    egress,
    events,
    listen,
    monitoring,
    operations,
    root,
    webhooks,
)
from promptha_webhooks.api import keys as own_keys
from promptha_webhooks.api.body_limit import BodySizeLimit
from promptha_webhooks.api.errors import install_error_handlers
from promptha_webhooks.api.publish_fast_path import PATH as PUBLISH_PATH
from promptha_webhooks.api.publish_fast_path import PublishFastPath
from promptha_webhooks.clock import Clock
from promptha_webhooks.config import Settings
from promptha_webhooks.dashboard import MOUNT_PATH, create_dashboard
from promptha_webhooks.delivery import DestinationTransport, Dispatcher, Observer
from promptha_webhooks.destinations import ResolveFunc, system_resolve
from promptha_webhooks.egress import EgressList, egress_list
from promptha_webhooks.metrics import Metrics
from promptha_webhooks.retention import RetentionJob
from promptha_webhooks.services import Services
from promptha_webhooks.store import create_database
from promptha_webhooks.store.database import schema_head
from promptha_webhooks.tracing import opentelemetry_configured

logger = logging.getLogger(__name__)

DESCRIPTION = """Manage webhook subscriptions, publish events, inspect delivery logs.

Authenticate with `Authorization: Bearer <key>`. Errors are
`{"error": {"type": "...", "message": "...", "field": "..."}}`.
"""


# Where /docs loads Swagger UI's files from (fastapi-offline's copies).
DOCS_STATIC_PATH = "/docs-static"


# FastAPI's own OpenTelemetry request telemetry asks the global providers whether they are
# set up on every request (≈5 % of a publish's CPU here). It stays on when our tracing is on or
# a provider is set up when the app is made (opentelemetry-instrument, or the application's own
# SDK set-up, come first); with neither, there is nothing to report to, so it is turned off.
_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    resolve: ResolveFunc = system_resolve,
) -> FastAPI:
    """Build the service. The database schema must already be migrated (`migrate`).
    KeyRingError at once when `settings` has no encryption key ring (production refusal)."""
    metrics = Metrics()
    keys = settings.key_ring()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = create_database(settings.database_url, keys)
        # HTTP webhooks through aiohttp, broker destinations through their publishers.
        transport = DestinationTransport.build(settings, resolve)
        await transport.start()
        observer = Observer(settings, database, metrics)
        dispatcher = (
            Dispatcher(settings, database, transport, clock=clock, observer=observer)
            if settings.run_dispatcher
            else None
        )
        # Retention runs beside the dispatcher (API-only nodes leave it to the workers).
        retention = (
            RetentionJob(settings, database, clock=clock, metrics=metrics)
            if settings.run_dispatcher
            else None
        )
        services = Services(
            settings,
            database,
            transport,
            clock=clock,
            resolve=resolve,
            on_publish=dispatcher.notify if dispatcher else None,
            observer=observer,
            # New deliveries go straight to the dispatcher of this process (handoff.py).
            handoff=dispatcher if settings.handoff else None,
        )
        app.state.services = services
        services.listen_for_revocations()  # PostgreSQL: revoked keys stop at once everywhere
        app.state.dispatcher = dispatcher
        app.state.retention = retention
        app.state.metrics = metrics
        app.state.schema_head = schema_head(settings.database_url)
        if dispatcher is not None:
            await dispatcher.start()
        if retention is not None:
            retention.start()
        try:
            yield
        finally:
            if retention is not None:
                await retention.stop()
            if dispatcher is not None:
                await dispatcher.stop()
            await services.stop_listening()
            await observer.sink.drain()
            await transport.close()
            await database.dispose()

    telemetry = settings.tracing or opentelemetry_configured()
    # /docs (Swagger UI) loads its script, styles and icon from the installed fastapi-offline
    # package, not from a CDN: the reference works offline and behind firewalls. No /redoc:
    # ReDoc 2 always fetches its maker's logo from a CDN.
    app = FastAPIOffline(
        title="Promptha Webhooks",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        telemetry=None if telemetry else _NO_TELEMETRY,
        static_url=DOCS_STATIC_PATH,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.state.egress = _published_egress(settings)
    # Publishing is the hot path: its router is matched first.
    routers = (
        events,
        accounts,
        own_keys,
        webhooks,
        monitoring,
        deliveries,
        listen,
        alert_contacts,
        operations,
        egress,
    )
    for module in (*routers, root):
        app.include_router(module.router)

    def services() -> Services:
        current: Services = app.state.services
        return current

    # Middleware: the last added runs first. The publish fast path runs inside the body limit
    # and the metrics; with telemetry on, FastAPI's route-level spans need the route itself.
    if not telemetry:
        app.add_middleware(PublishFastPath, services=services, route=_publish_route(events.router))
    app.add_middleware(
        BodySizeLimit,
        limit=settings.max_request_body_bytes,
        path_limits={events.BATCH_PATH: settings.max_batch_body_bytes},
    )
    app.add_middleware(operations.HttpMetrics, metrics=metrics)
    app.mount(MOUNT_PATH, create_dashboard(settings, services))
    return app


def _published_egress(settings: Settings) -> EgressList:
    """GET /v1/ips's list. Its updatedAt is PROMPTHA_WEBHOOKS_EGRESS_UPDATED_AT, or when this
    data directory first saw the list (`serve` keeps that: cli/environment.py), else now."""
    updated_at = settings.egress_updated_at or datetime.now(UTC).replace(microsecond=0)
    return egress_list(settings.egress_cidrs, settings.source_addresses, updated_at)


def _publish_route(router: APIRouter) -> BaseRoute:
    for route in router.routes:
        if (
            isinstance(route, APIRoute)
            and route.path == PUBLISH_PATH
            and "POST" in (route.methods or ())
        ):
            return route
    raise LookupError(f"no POST {PUBLISH_PATH} route")
