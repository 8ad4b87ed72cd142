"""The application factory: `create_app(settings)` wires database, services and dispatcher."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from promptha_webhooks import __version__
from promptha_webhooks.api import accounts, deliveries, events, listen, webhooks
from promptha_webhooks.api.body_limit import BodySizeLimit
from promptha_webhooks.api.errors import install_error_handlers
from promptha_webhooks.clock import Clock
from promptha_webhooks.config import Settings
from promptha_webhooks.dashboard import MOUNT_PATH, create_dashboard
from promptha_webhooks.destinations import ResolveFunc, system_resolve
from promptha_webhooks.dispatcher import Dispatcher
from promptha_webhooks.sender import Sender
from promptha_webhooks.services import Services
from promptha_webhooks.store import create_database

logger = logging.getLogger(__name__)

DESCRIPTION = """Manage webhook subscriptions, publish events, inspect delivery logs.

Authenticate with `Authorization: Bearer <key>`. Errors are
`{"error": {"type": "...", "message": "...", "field": "..."}}`.
"""


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    resolve: ResolveFunc = system_resolve,
) -> FastAPI:
    """Build the service. The database schema must already be migrated (`migrate`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = create_database(settings.database_url)
        sender = Sender(settings, resolve)
        await sender.start()
        dispatcher = (
            Dispatcher(settings, database, sender, clock=clock) if settings.run_dispatcher else None
        )
        services = Services(
            settings,
            database,
            sender,
            clock=clock,
            resolve=resolve,
            on_publish=dispatcher.notify if dispatcher else None,
        )
        app.state.services = services
        app.state.dispatcher = dispatcher
        if dispatcher is not None:
            await dispatcher.start()
        try:
            yield
        finally:
            if dispatcher is not None:
                await dispatcher.stop()
            await sender.close()
            await database.dispose()

    app = FastAPI(
        title="Promptha Webhooks",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, limit=settings.max_request_body_bytes)
    install_error_handlers(app)
    # Publishing is the hot path: its router is matched first.
    for module in (events, accounts, webhooks, deliveries, listen):
        app.include_router(module.router)

    def services() -> Services:
        current: Services = app.state.services
        return current

    app.mount(MOUNT_PATH, create_dashboard(settings, services))

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    return app
