"""`alerts show|set`: where the account's operational alerts go (its alert contacts)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from promptha_webhooks.cli import render
from promptha_webhooks.cli.context import fail, open_client, output_of
from promptha_webhooks.cli.output import Output
from promptha_webhooks.models import AlertContacts

PANEL = "API"

app = typer.Typer(
    help=(
        "Alert contacts: the e-mail addresses and the webhook that receive the account's "
        "operational alerts.\n\nExample: promptha-webhooks alerts show"
    ),
    no_args_is_help=True,
)

AccountOption = Annotated[
    str | None, typer.Option(help="The account (acct_…), with the admin key", show_default=False)
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Machine-readable JSON output (as the global --json)")
]


def _output(ctx: typer.Context, json_output: bool) -> Output:
    return Output(json_mode=True) if json_output else output_of(ctx)


def contacts_table(contacts: AlertContacts) -> Table:
    table = Table(box=None, pad_edge=False, show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    emails = "\n".join(contacts.emails) if contacts.emails else "(none)"
    table.add_row("Account", Text(contacts.account_id))
    table.add_row("E-mails", Text(emails))
    table.add_row("Webhook", Text(contacts.webhook_id or "(none)"))
    table.add_row("Updated", Text(render.when(contacts.updated_at) or "never"))
    return table


def _show(output: Output, contacts: AlertContacts) -> None:
    if output.json_mode:
        output.json(contacts)
    else:
        output.show(contacts_table(contacts))


@app.command("show")
def show_contacts(
    ctx: typer.Context, account: AccountOption = None, json_output: JsonOption = False
) -> None:
    """Show the account's alert e-mail addresses and alert webhook.

    Example: promptha-webhooks alerts show --json
    """
    output = _output(ctx, json_output)
    with open_client(ctx) as client:
        contacts = client.alert_contacts.get(account=account)
    _show(output, contacts)


@app.command("set")
def set_contacts(
    ctx: typer.Context,
    email: Annotated[
        list[str] | None,
        typer.Option(
            "--email",
            help="An address that receives the account's alert e-mails (repeat; none: clear)",
            show_default=False,
        ),
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option(
            help="The webhook (wh_…) that receives every alert event (default: keep the "
            "current one)",
            show_default=False,
        ),
    ] = None,
    no_webhook: Annotated[bool, typer.Option(help="Clear the alert webhook")] = False,
    account: AccountOption = None,
    json_output: JsonOption = False,
) -> None:
    """Replace the account's alert e-mail addresses, and set or clear its alert webhook.

    Example:
      promptha-webhooks alerts set --email ops@acme.example --email oncall@acme.example
        --webhook wh_…
    """
    if webhook is not None and no_webhook:
        raise fail(ctx, "Give --webhook or --no-webhook, not both")
    output = _output(ctx, json_output)
    with open_client(ctx) as client:
        if webhook is None and not no_webhook:
            webhook = client.alert_contacts.get(account=account).webhook_id
        contacts = client.alert_contacts.set(email or [], webhook_id=webhook, account=account)
    _show(output, contacts)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="alerts", rich_help_panel=PANEL)
