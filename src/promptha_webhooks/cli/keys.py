"""`keys list|create|revoke`: an account's API keys through the API (the admin key with
`--account`, or the account's own key on `/v1/keys`), and `keys create` on the database
directly for operators bootstrapping a deployment (`--admin`, or no API key given)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.text import Text

from promptha_webhooks.cli import render
from promptha_webhooks.cli.context import fail, open_client, output_of, state_of
from promptha_webhooks.cli.operators import create_key_in_database
from promptha_webhooks.client import Client
from promptha_webhooks.models import ApiKey

PANEL = "API"

app = typer.Typer(
    help=(
        "Manage API keys: list, create (shown once), revoke.\n\n"
        "Example: promptha-webhooks --api-key pwa_… keys list --account acct_…"
    ),
    no_args_is_help=True,
)

AccountOption = Annotated[
    str | None,
    typer.Option(
        "--account",
        help=(
            "The account (acct_…) whose keys these are, with the admin key "
            "(default: the API key's own account)"
        ),
        show_default=False,
    ),
]


@dataclass(frozen=True, slots=True)
class KeyCalls:
    """The key calls of one account, bound to a client."""

    list: Callable[[], list[ApiKey]]
    create: Callable[[], ApiKey]
    revoke: Callable[[str], None]


def _admin_routes(client: Client, account: str) -> KeyCalls:
    """/v1/accounts/{account}/keys: the admin key manages any account's keys."""
    return KeyCalls(
        list=lambda: client.keys.list(account),
        create=lambda: client.keys.create(account),
        revoke=lambda key_id: client.keys.delete(account, key_id),
    )


def _own_routes(client: Client) -> KeyCalls:
    """/v1/keys: an account key manages its own account's keys (no --account)."""
    return KeyCalls(
        list=client.keys.list_own, create=client.keys.create_own, revoke=client.keys.delete_own
    )


def _calls(ctx: typer.Context, client: Client, account: str | None) -> KeyCalls:
    if account is not None:
        return _admin_routes(client, account)
    return _own_routes(client)


@app.command("list")
def list_keys(ctx: typer.Context, account: AccountOption = None) -> None:
    """List an account's API keys (their prefixes: a key is shown only when created).

    Example: promptha-webhooks --api-key pwa_… keys list --account acct_…
    """
    output = output_of(ctx)
    with open_client(ctx) as client:
        keys = _calls(ctx, client, account).list()
    if output.json_mode:
        output.json(keys)
    elif not keys:
        output.note("No API keys: the account cannot use the API (keys create makes one).")
    else:
        output.show(render.keys_table(keys, state_of(ctx).api_key))


@app.command("create")
def create_key(
    ctx: typer.Context,
    account: AccountOption = None,
    admin: Annotated[
        bool,
        typer.Option(
            "--admin", help="A platform admin key, made in the database directly (operators)"
        ),
    ] = False,
) -> None:
    """Create an API key and print it, once: only its hash is kept.

    With an API key (--api-key or PROMPTHA_WEBHOOKS_API_KEY) this calls the API; without
    one, and always with --admin, it works on the database directly
    (PROMPTHA_WEBHOOKS_DATABASE_URL), as an operator bootstrapping a deployment does.

    Example:
      promptha-webhooks --api-key pwa_… keys create --account acct_…
      promptha-webhooks keys create --admin
    """
    output = output_of(ctx)
    if admin and account is not None:
        raise fail(ctx, "Give --account ACCT_ID or --admin, not both")
    if admin or state_of(ctx).api_key is None:
        if not admin and account is None:
            raise fail(ctx, "Give exactly one of --account ACCT_ID or --admin")
        secret = create_key_in_database(account)
        if output.json_mode:
            output.json({"key": secret})
        else:
            typer.echo(secret)
        return
    with open_client(ctx) as client:
        key = _calls(ctx, client, account).create()
    if output.json_mode:
        output.json(key)
        return
    typer.echo(key.key)
    output.note(f"{key.id}: shown once, only its hash is kept. Store it now.")


@app.command("revoke")
def revoke_key(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="Key id (key_…)", show_default=False)],
    account: AccountOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
) -> None:
    """Revoke an API key: every API process refuses it within milliseconds.

    Example: promptha-webhooks --api-key pwa_… keys revoke key_… --account acct_… --yes
    """
    output = output_of(ctx)
    if not yes:
        typer.confirm(f"Revoke {key_id}? Programs using it stop working.", abort=True)
    with open_client(ctx) as client:
        _calls(ctx, client, account).revoke(key_id)
    if output.json_mode:
        output.json({"revoked": key_id})
    else:
        output.show(Text.assemble("Revoked ", key_id))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="keys", rich_help_panel=PANEL)
