"""`accounts list|show|delete`: the platform's accounts through the API with the admin key
(`accounts create` works on the database directly, in operators.py)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from promptha_webhooks.cli import operators, render
from promptha_webhooks.cli.context import open_client, output_of

AccountArgument = Annotated[str, typer.Argument(help="Account id (acct_…)", show_default=False)]


def list_accounts(ctx: typer.Context) -> None:
    """List every account (admin key), oldest first.

    Example: promptha-webhooks --api-key pwa_… accounts list
    """
    output = output_of(ctx)
    with open_client(ctx) as client, output.spinner("Fetching accounts…"):
        accounts = list(client.accounts.list_all())
    if output.json_mode:
        output.json(accounts)
        return
    output.show(render.accounts_table(accounts))


def show_account(ctx: typer.Context, account_id: AccountArgument) -> None:
    """Show one account (admin key).

    Example: promptha-webhooks --api-key pwa_… accounts show acct_…
    """
    output = output_of(ctx)
    with open_client(ctx) as client:
        account = client.accounts.get(account_id)
    if output.json_mode:
        output.json(account)
        return
    output.show(render.accounts_table([account]))


def delete_account(
    ctx: typer.Context,
    account_id: AccountArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete an account with its keys, webhooks, events and delivery logs (admin key).

    Example: promptha-webhooks --api-key pwa_… accounts delete acct_… --yes
    """
    output = output_of(ctx)
    if not yes:
        typer.confirm(
            f"Delete {account_id} with its keys, webhooks, events and logs? This cannot be undone.",
            abort=True,
        )
    with open_client(ctx) as client:
        client.accounts.delete(account_id)
    if output.json_mode:
        output.json({"deleted": account_id})
    else:
        output.show(Text.assemble("Deleted ", account_id))


def register(app: typer.Typer) -> None:
    """Commands of the `accounts` group (operators.py) that go through the API."""
    del app
    operators.accounts_app.command("list")(list_accounts)
    operators.accounts_app.command("show")(show_account)
    operators.accounts_app.command("delete")(delete_account)
