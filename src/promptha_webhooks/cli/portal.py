"""`accounts portal-session`: a one-time customer-portal URL for an account, through the API
with the admin key (the URL is the service's own, as the API sees it)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from promptha_webhooks.cli import operators
from promptha_webhooks.cli.context import open_client, output_of
from promptha_webhooks.cli.inputs import duration_seconds

DEFAULT_TTL = "1h"


def portal_session(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(help="Account id (acct_…)", show_default=False)],
    ttl: Annotated[
        str, typer.Option("--ttl", help="How long the session lasts: 60s to 24h, e.g. 1h, 30m")
    ] = DEFAULT_TTL,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="The portal can look but not change")
    ] = False,
    return_url: Annotated[
        str | None, typer.Option("--return-url", help="Where Sign out leads (https)")
    ] = None,
    primary_color: Annotated[
        str | None, typer.Option("--primary-color", help="Theme colour, #rrggbb")
    ] = None,
    logo_url: Annotated[
        str | None, typer.Option("--logo-url", help="Logo in the top bar (https)")
    ] = None,
    dark: Annotated[bool, typer.Option("--dark", help="Dark mode")] = False,
) -> None:
    """Print a one-time customer-portal URL for an account (admin key).

    The URL opens the dashboard signed in as the account, to embed in an iframe; it works
    once, before it expires. Needs the admin key (--api-key pwa_…).

    Example: promptha-webhooks --api-key pwa_… accounts portal-session acct_… --ttl 2h --read-only
    """
    ttl_seconds = duration_seconds(ttl, "--ttl")
    output = output_of(ctx)
    with open_client(ctx) as client, output.spinner("Creating the portal session…"):
        created = client.accounts.create_portal_session(
            account_id,
            ttl_seconds=ttl_seconds,
            read_only=read_only,
            return_url=return_url,
            primary_color=primary_color,
            logo_url=logo_url,
            dark_mode=dark,
        )
    if output.json_mode:
        output.json(created)
        return
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("URL", created.url)
    table.add_row("Expires", created.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC"))
    table.add_row("Read-only", "yes" if created.read_only else "no")
    output.show(table)
    output.note("The URL works once: embed it in an iframe or open it now.")


def register(app: typer.Typer) -> None:
    """A command of the `accounts` group (operators.py) that goes through the API."""
    del app
    operators.accounts_app.command("portal-session")(portal_session)
