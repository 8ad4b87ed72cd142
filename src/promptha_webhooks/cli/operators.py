"""`accounts create` and `keys create`: operator commands that work on the database directly
(no API, no key needed), for bootstrapping a deployment."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from promptha_webhooks.cli.environment import (
    ensure_key_ring,
    err_console,
    load_settings,
    migrate_database,
)

PANEL = "Operators (direct database access)"

console = Console()
accounts_app = typer.Typer(
    help='Manage accounts (operators).\n\nExample: promptha-webhooks accounts create "Acme Inc"',
    no_args_is_help=True,
)
keys_app = typer.Typer(
    help="Manage API keys (operators).\n\nExample: promptha-webhooks keys create --admin",
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
    settings = ensure_key_ring(load_settings())
    migrate_database(settings)

    async def run() -> None:
        from promptha_webhooks.delivery import AiohttpTransport
        from promptha_webhooks.services import Services
        from promptha_webhooks.store import create_database

        database = create_database(settings.database_url, settings.key_ring())
        try:
            services = Services(settings, database, AiohttpTransport(settings))
            key = (
                await services.create_admin_key()
                if admin
                else await services.create_api_key(account or "")
            )
        finally:
            await database.dispose()
        console.print(key.key)

    asyncio.run(run())


def register(app: typer.Typer) -> None:
    app.add_typer(accounts_app, name="accounts", rich_help_panel=PANEL)
    app.add_typer(keys_app, name="keys", rich_help_panel=PANEL)
