"""The service's side of the command: Settings from the environment, migrations, logging.

Only the commands that run the service or touch its database directly (serve, worker, migrate,
accounts create, keys create) use this; this is where the process environment is read for them.
"""

from __future__ import annotations

import logging

import typer
from rich.console import Console

from promptha_webhooks.config import ConfigError, Settings

err_console = Console(stderr=True)


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings.from_env(None, **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        err_console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def configure_logging(settings: Settings) -> None:
    """JSON lines in production, readable lines in development (PROMPTHA_WEBHOOKS_LOG_FORMAT)."""
    from promptha_webhooks import logs

    logs.configure(settings.effective_log_format, logging.INFO)


def install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        return
    uvloop.install()


def migrate_database(settings: Settings) -> None:
    from promptha_webhooks.store.database import migrate_sync

    migrate_sync(settings.database_url)
