"""`serve`, `worker` and `migrate`: run the service and keep its schema current."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from promptha_webhooks import __version__
from promptha_webhooks.cli.environment import (
    check_source_addresses,
    configure_logging,
    ensure_egress_updated_at,
    ensure_key_ring,
    ensure_session_secret,
    err_console,
    install_uvloop,
    load_settings,
    migrate_database,
    seal_plaintext_secrets,
)
from promptha_webhooks.config import Mode, Settings
from promptha_webhooks.gc_tuning import tune_for_service

if TYPE_CHECKING:
    import uvicorn

PANEL = "Service"
COMMAND = "promptha-webhooks"
# The accounts a development restart names in the banner (the rest: GET /v1/accounts).
BANNER_ACCOUNTS = 3
# Pending connections the kernel queues while the service migrates and starts.
LISTEN_BACKLOG = 2048
# 128 + SIGINT, as a shell reports a process ended by Ctrl-C.
EXIT_INTERRUPTED = 130

console = Console()
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AccountLine:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """What the banner shows about keys: those minted now (shown once, never again: only
    their hashes are stored), and in development the accounts, to mint more for."""

    admin_key: str | None
    account_key: str | None
    accounts: tuple[AccountLine, ...]
    more_accounts: bool


async def _bootstrap(settings: Settings) -> Bootstrap:
    """First-start set-up: an admin key, and in development a first account with its key."""
    from promptha_webhooks.delivery import AiohttpTransport
    from promptha_webhooks.services import Services
    from promptha_webhooks.store import create_database

    database = create_database(settings.database_url, settings.key_ring())
    try:
        await seal_plaintext_secrets(database)
        services = Services(settings, database, AiohttpTransport(settings))
        admin_key = await services.ensure_admin_key()
        if settings.mode is not Mode.DEVELOPMENT:
            return Bootstrap(admin_key, None, (), more_accounts=False)
        account_key = None
        page = await services.list_accounts(BANNER_ACCOUNTS, None)
        if not page.data:
            created = await services.create_account("Development")
            account_key = created.api_key.key
            page = await services.list_accounts(BANNER_ACCOUNTS, None)
        accounts = tuple(AccountLine(a.id, a.name) for a in page.data)
        return Bootstrap(admin_key, account_key, accounts, page.has_more)
    finally:
        await database.dispose()


def _command() -> str:
    """This command as it was started, so that the commands the banner prints run as printed
    (`.venv/bin/promptha-webhooks` under `make run`)."""
    started_as = sys.argv[0]
    if Path(started_as).name != COMMAND or shutil.which(COMMAND) == started_as:
        return COMMAND
    return started_as


class ListenError(Exception):
    """The port cannot be had; the message says why and what to do, in one line."""


def bind_listener(host: str, port: int) -> list[socket.socket]:
    """Bind and listen on host:port (each address the name resolves to) before anything else
    happens, so that a taken port is reported first and alone, with nothing set up."""
    where = f"{host}:{port}"
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenError(f"Cannot listen on {where}: {host} does not resolve ({exc})") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(addresses):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            # As uvicorn does: a restart may rebind while old connections are in TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(
                f"Port {port} is already in use on {host}: stop the process that holds it "
                f"(another `{COMMAND} serve`?) or choose another port with --port or "
                "PROMPTHA_WEBHOOKS_PORT"
            ) from None
        if exc.errno == errno.EACCES:
            raise ListenError(
                f"Not allowed to listen on {where} (ports below 1024 need privileges): "
                "choose another port with --port or PROMPTHA_WEBHOOKS_PORT"
            ) from None
        raise ListenError(f"Cannot listen on {where}: {exc.strerror or exc}") from None
    return sockets


def _force_exit() -> None:
    """The second Ctrl-C: leave now. Nothing is lost: a delivery whose attempt was cut off is
    due again when its lease ends, like after a crash (at least once)."""
    logger.warning("Second Ctrl-C: exiting now, without waiting for attempts in flight")
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def _announce_shutdown(settings: Settings) -> None:
    logger.warning(
        "Shutting down: attempts in flight get up to %g s to finish (Ctrl-C again to exit now)",
        settings.shutdown_grace_s,
    )


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
    if dispatcher:
        check_source_addresses(settings)
    try:
        listeners = bind_listener(settings.host, settings.port)
    except ListenError as exc:
        err_console.print(str(exc), soft_wrap=True, markup=False, highlight=False)
        raise typer.Exit(1) from None
    configure_logging(settings)
    settings = ensure_key_ring(settings)
    migrate_database(settings)
    settings = ensure_session_secret(settings)
    settings = ensure_egress_updated_at(settings)
    started = asyncio.run(_bootstrap(settings))
    url = f"http://{settings.host}:{settings.port}"
    lines = [
        f"Promptha Webhooks {__version__} ({settings.mode.value} mode)",
        f"API:       {url}/v1",
        f"Dashboard: {url}/dashboard",
        f"Docs:      {url}/docs",
    ]
    console.print(Panel("\n".join(lines), title="ready", expand=False))
    # Paths can be long: on lines of their own, never wrapped, so they can be copied whole.
    console.print(f"Database:  {settings.database_url.split('@')[-1]}", soft_wrap=True)
    console.print(f"Data dir:  {settings.data_dir}", soft_wrap=True)
    _print_keys(settings, started)
    console.print(f"Listening on {url}", soft_wrap=True)
    install_uvloop()
    app = create_app(settings)
    tune_for_service()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,  # keep our handlers (JSON or text) for uvicorn's loggers too
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
        access_log=False,
    )
    _server(config, settings).run(sockets=listeners)


def _print_keys(settings: Settings, started: Bootstrap) -> None:
    # Keys and commands go on lines of their own, never wrapped, so they can be copied whole.
    command = _command()
    if started.admin_key:
        console.print(f"Admin key (shown once): {started.admin_key}", soft_wrap=True)
    elif settings.admin_key:
        console.print("Admin key: the one in PROMPTHA_WEBHOOKS_ADMIN_KEY", soft_wrap=True)
    else:
        console.print(
            f"Admin key: shown on first start; mint another with `{command} keys create --admin`",
            soft_wrap=True,
        )
    if started.account_key:
        console.print(
            f"API key of account 'Development' (shown once): {started.account_key}",
            soft_wrap=True,
        )
    for account in started.accounts:
        line = f"Account {account.name!r}: {account.id}"
        if not started.account_key:
            # A restart: its keys were shown once, and only their hashes are stored.
            line += f" (a new API key: {command} keys create --account {account.id})"
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    if started.more_accounts:
        console.print("More accounts: GET /v1/accounts with the admin key", soft_wrap=True)


def _server(config: uvicorn.Config, settings: Settings) -> uvicorn.Server:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, where a second Ctrl-C exits at once (uvicorn's own second Ctrl-C
        skips the wait for open connections, not the dispatcher's grace period)."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if sig == signal.SIGINT and self.should_exit:
                _force_exit()
            if not self.should_exit:
                _announce_shutdown(settings)
            super().handle_exit(sig, frame)

    return Server(config)


def worker() -> None:
    """Run only the dispatcher (scale-out: any number of workers on one PostgreSQL database).

    Example:
      export PROMPTHA_WEBHOOKS_DATABASE_URL=postgresql://postgres@127.0.0.1/test
      promptha-webhooks worker
    """
    settings = load_settings()
    check_source_addresses(settings)
    configure_logging(settings)
    settings = ensure_key_ring(settings)
    migrate_database(settings)
    install_uvloop()
    asyncio.run(_run_worker(settings))


async def _run_worker(settings: Settings) -> None:
    from prometheus_client import start_http_server

    from promptha_webhooks.delivery import DestinationTransport, Dispatcher, Observer
    from promptha_webhooks.metrics import Metrics
    from promptha_webhooks.retention import RetentionJob
    from promptha_webhooks.store import create_database

    tune_for_service()
    database = create_database(settings.database_url, settings.key_ring())
    await seal_plaintext_secrets(database)
    # The worker's one aiohttp session and one BrokerPublishers, closed on shutdown.
    transport = DestinationTransport.build(settings)
    metrics = Metrics()
    observer = Observer(settings, database, metrics)
    dispatcher = Dispatcher(settings, database, transport, observer=observer)
    retention = RetentionJob(settings, database, metrics=metrics)
    if settings.metrics_port:
        # The worker's own counters and histograms; database gauges are on the API's /metrics.
        start_http_server(settings.metrics_port, addr=settings.host, registry=metrics.registry)
    stop = asyncio.Event()

    def on_signal(sig: signal.Signals) -> None:
        if sig is signal.SIGINT and stop.is_set():
            _force_exit()
        if not stop.is_set():
            _announce_shutdown(settings)
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    await dispatcher.start()
    retention.start()
    logging.getLogger(__name__).info("worker %s running", dispatcher.token)
    await stop.wait()
    await retention.stop()
    await dispatcher.stop()
    await observer.sink.drain()
    await transport.close()
    await database.dispose()


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel=PANEL)(migrate)
    app.command(rich_help_panel=PANEL)(serve)
    app.command(rich_help_panel=PANEL)(worker)
