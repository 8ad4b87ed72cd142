"""The `promptha-webhooks` command: serve, worker, migrate, and operator commands.

This is the only module that reads the process environment (through Settings.from_env).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from promptha_webhooks import __version__
from promptha_webhooks.config import ConfigError, Mode, Settings

app = typer.Typer(
    name="promptha-webhooks",
    help="Promptha Webhooks: the webhook service, its dispatcher and operator tools.",
    no_args_is_help=True,
    add_completion=False,
)
accounts_app = typer.Typer(help="Manage accounts (operators).", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys (operators).", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")

console = Console()
err_console = Console(stderr=True)


def _settings(**overrides: object) -> Settings:
    try:
        return Settings.from_env(None, **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        err_console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        return
    uvloop.install()


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


def _migrate(settings: Settings) -> None:
    from promptha_webhooks.store.database import migrate_sync

    migrate_sync(settings.database_url)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (PROMPTHA_WEBHOOKS_DATABASE_URL).

    Example:
      export PROMPTHA_WEBHOOKS_DATABASE_URL=postgresql://postgres@127.0.0.1/test
      promptha-webhooks migrate
    """
    settings = _settings()
    _migrate(settings)
    console.print(f"Schema is current on {settings.database_url.split('@')[-1]}")


@app.command()
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

    _configure_logging()
    settings = _settings(host=host, port=port, run_dispatcher=dispatcher)
    _migrate(settings)
    admin_key, account_key = asyncio.run(_bootstrap(settings))
    url = f"http://{settings.host}:{settings.port}"
    lines = [
        f"Promptha Webhooks {__version__} ({settings.mode.value} mode)",
        f"API:      {url}/v1",
        f"Docs:     {url}/docs",
        f"Database: {settings.database_url.split('@')[-1]}",
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
    _install_uvloop()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
        access_log=False,
    )


@app.command()
def worker() -> None:
    """Run only the dispatcher (scale-out: any number of workers on one PostgreSQL database).

    Example:
      export PROMPTHA_WEBHOOKS_DATABASE_URL=postgresql://postgres@127.0.0.1/test
      promptha-webhooks worker
    """
    _configure_logging()
    settings = _settings()
    _migrate(settings)
    _install_uvloop()
    asyncio.run(_run_worker(settings))


async def _run_worker(settings: Settings) -> None:
    from promptha_webhooks.dispatcher import Dispatcher
    from promptha_webhooks.sender import Sender
    from promptha_webhooks.store import create_database

    database = create_database(settings.database_url)
    sender = Sender(settings)
    dispatcher = Dispatcher(settings, database, sender)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await dispatcher.start()
    logging.getLogger(__name__).info("worker %s running", dispatcher.token)
    await stop.wait()
    await dispatcher.stop()
    await sender.close()
    await database.dispose()


@accounts_app.command("create")
def accounts_create(name: str) -> None:
    """Create an account and print its first API key.

    Example: promptha-webhooks accounts create "Acme Inc"
    """
    settings = _settings()
    _migrate(settings)

    async def run() -> None:
        from promptha_webhooks.sender import Sender
        from promptha_webhooks.services import Services
        from promptha_webhooks.store import create_database

        database = create_database(settings.database_url)
        try:
            created = await Services(settings, database, Sender(settings)).create_account(name)
        finally:
            await database.dispose()
        console.print(f"account {created.account.id}\napi key {created.api_key.key}")

    asyncio.run(run())


@keys_app.command("create")
def keys_create(
    account: Annotated[str | None, typer.Option(help="Account id (acct_…)")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="A platform admin key")] = False,
) -> None:
    """Create an API key for an account, or a platform admin key, and print it once.

    Example: promptha-webhooks keys create --admin
    """
    if admin == (account is not None):
        err_console.print("Give exactly one of --account ACCT_ID or --admin")
        raise typer.Exit(2)
    settings = _settings()
    _migrate(settings)

    async def run() -> None:
        from promptha_webhooks.sender import Sender
        from promptha_webhooks.services import Services
        from promptha_webhooks.store import create_database

        database = create_database(settings.database_url)
        try:
            services = Services(settings, database, Sender(settings))
            key = (
                await services.create_admin_key()
                if admin
                else await services.create_api_key(account or "")
            )
        finally:
            await database.dispose()
        console.print(key.key)

    asyncio.run(run())


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
