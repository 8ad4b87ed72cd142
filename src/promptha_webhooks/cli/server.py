"""`serve`, `worker` and `migrate`: run the service and keep its schema current."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from promptha_webhooks import __version__
from promptha_webhooks.cli.environment import (
    configure_logging,
    ensure_session_secret,
    install_uvloop,
    load_settings,
    migrate_database,
)
from promptha_webhooks.config import Mode, Settings
from promptha_webhooks.gc_tuning import tune_for_service

PANEL = "Service"

console = Console()


async def _bootstrap(settings: Settings) -> tuple[str | None, str | None]:
    """First-start set-up: an admin key, and in development a first account with its key."""
    from promptha_webhooks.sender import Sender
    from promptha_webhooks.services import Services
    from promptha_webhooks.store import create_database

    database = create_database(settings.database_url)
    try:
        services = Services(settings, database, Sender(settings))
        admin_key = await services.ensure_admin_key()
        account_key = None
        if settings.mode is Mode.DEVELOPMENT:
            page = await services.list_accounts(1, None)
            if not page.data:
                created = await services.create_account("Development")
                account_key = created.api_key.key
        return admin_key, account_key
    finally:
        await database.dispose()


def migrate() -> None:
    """Create or upgrade the database schema (PROMPTHA_WEBHOOKS_DATABASE_URL).

    Example:
      export PROMPTHA_WEBHOOKS_DATABASE_URL=postgresql://postgres@127.0.0.1/test
      promptha-webhooks migrate
    """
    settings = load_settings()
    migrate_database(settings)
    console.print(f"Schema is current on {settings.database_url.split('@')[-1]}")


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port (PROMPTHA_WEBHOOKS_PORT)")] = None,
    dispatcher: Annotated[
        bool, typer.Option("--dispatcher/--no-dispatcher", help="Run the dispatcher in-process")
    ] = True,
) -> None:
    """Serve the API (and, by default, run the dispatcher) in one process.

    Example: PROMPTHA_WEBHOOKS_MODE=development promptha-webhooks serve --port 8000
    """
    import uvicorn

    from promptha_webhooks.api import create_app

    settings = load_settings(host=host, port=port, run_dispatcher=dispatcher)
    configure_logging(settings)
    migrate_database(settings)
    settings = ensure_session_secret(settings)
    admin_key, account_key = asyncio.run(_bootstrap(settings))
    url = f"http://{settings.host}:{settings.port}"
    lines = [
        f"Promptha Webhooks {__version__} ({settings.mode.value} mode)",
        f"API:       {url}/v1",
        f"Dashboard: {url}/dashboard",
        f"Docs:      {url}/docs",
        f"Database:  {settings.database_url.split('@')[-1]}",
    ]
    console.print(Panel("\n".join(lines), title="ready", expand=False))
    # Keys go on lines of their own, never wrapped, so they can be copied whole.
    if admin_key:
        console.print(f"Admin key (shown once): {admin_key}", soft_wrap=True)
    elif settings.admin_key:
        console.print("Admin key: the one in PROMPTHA_WEBHOOKS_ADMIN_KEY", soft_wrap=True)
    else:
        console.print(
            "Admin key: shown on first start; mint another with "
            "`promptha-webhooks keys create --admin`",
            soft_wrap=True,
        )
    if account_key:
        console.print(
            f"API key of account 'Development' (shown once): {account_key}", soft_wrap=True
        )
    console.print(f"Listening on {url}", soft_wrap=True)
    install_uvloop()
    app = create_app(settings)
    tune_for_service()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,  # keep our handlers (JSON or text) for uvicorn's loggers too
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
        access_log=False,
    )


def worker() -> None:
    """Run only the dispatcher (scale-out: any number of workers on one PostgreSQL database).

    Example:
      export PROMPTHA_WEBHOOKS_DATABASE_URL=postgresql://postgres@127.0.0.1/test
      promptha-webhooks worker
    """
    settings = load_settings()
    configure_logging(settings)
    migrate_database(settings)
    install_uvloop()
    asyncio.run(_run_worker(settings))


async def _run_worker(settings: Settings) -> None:
    from prometheus_client import start_http_server

    from promptha_webhooks.dispatcher import Dispatcher
    from promptha_webhooks.metrics import Metrics
    from promptha_webhooks.observe import Observer
    from promptha_webhooks.retention import RetentionJob
    from promptha_webhooks.sender import Sender
    from promptha_webhooks.store import create_database

    tune_for_service()
    database = create_database(settings.database_url)
    sender = Sender(settings)
    metrics = Metrics()
    observer = Observer(settings, database.backend, metrics)
    dispatcher = Dispatcher(settings, database, sender, observer=observer)
    retention = RetentionJob(settings, database, metrics=metrics)
    if settings.metrics_port:
        # The worker's own counters and histograms; database gauges are on the API's /metrics.
        start_http_server(settings.metrics_port, addr=settings.host, registry=metrics.registry)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await dispatcher.start()
    retention.start()
    logging.getLogger(__name__).info("worker %s running", dispatcher.token)
    await stop.wait()
    await retention.stop()
    await dispatcher.stop()
    await observer.sink.drain()
    await sender.close()
    await database.dispose()


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel=PANEL)(migrate)
    app.command(rich_help_panel=PANEL)(serve)
    app.command(rich_help_panel=PANEL)(worker)
