"""`accounts create`, and the key minting behind `keys create --admin` (cli/keys.py): operator
commands that work on the database directly (no API, no key needed), for bootstrapping."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from promptha_webhooks.cli.environment import (
    ensure_key_ring,
    load_settings,
    migrate_database,
)

PANEL = "Operators (direct database access)"

console = Console()
accounts_app = typer.Typer(
    help='Manage accounts (operators).\n\nExample: promptha-webhooks accounts create "Acme Inc"',
    no_args_is_help=True,
)


@accounts_app.command("create")
def accounts_create(name: str) -> None:
    """Create an account and print its first API key.

    Example: promptha-webhooks accounts create "Acme Inc"
    """
    settings = ensure_key_ring(load_settings())
    migrate_database(settings)

    async def run() -> None:
        from promptha_webhooks.delivery import AiohttpTransport
        from promptha_webhooks.services import Services
        from promptha_webhooks.store import create_database

        database = create_database(settings.database_url, settings.key_ring())
        try:
            created = await Services(settings, database, AiohttpTransport(settings)).create_account(
                name
            )
        finally:
            await database.dispose()
        console.print(f"account {created.account.id}\napi key {created.api_key.key}")

    asyncio.run(run())


def create_key_in_database(account: str | None) -> str:
    """An API key for `account`, or a platform admin key (None), made in the database directly
    (`keys create` without an API key, or with --admin): the operators' bootstrap."""
    settings = ensure_key_ring(load_settings())
    migrate_database(settings)

    async def run() -> str:
        from promptha_webhooks.delivery import AiohttpTransport
        from promptha_webhooks.services import Services
        from promptha_webhooks.store import create_database

        database = create_database(settings.database_url, settings.key_ring())
        try:
            services = Services(settings, database, AiohttpTransport(settings))
            key = (
                await services.create_admin_key()
                if account is None
                else await services.create_api_key(account)
            )
        finally:
            await database.dispose()
        return key.key or ""

    return asyncio.run(run())


def register(app: typer.Typer) -> None:
    app.add_typer(accounts_app, name="accounts", rich_help_panel=PANEL)
