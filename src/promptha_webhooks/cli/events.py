"""`events publish|show|types`: publishing events, reading one back, the catalogue."""

from __future__ import annotations

from typing import Annotated

import typer

from promptha_webhooks.cli import inputs, render
from promptha_webhooks.cli.context import fail, open_client, output_of

PANEL = "API"

app = typer.Typer(
    help="Publish and inspect events.\n\nExample: promptha-webhooks events types",
    no_args_is_help=True,
)


@app.command("publish")
def publish_event(
    ctx: typer.Context,
    event: Annotated[str, typer.Argument(help="Event type", show_default=False)],
    data: Annotated[
        str | None,
        typer.Option(help="The payload: JSON, @file or - (stdin)", show_default=False),
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="Target account (acct_…), with the admin key")
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="Publish at most once under this key within 24 h (default: new key)"),
    ] = None,
) -> None:
    """Publish an event to every webhook of the account subscribed to it.

    Example:
      promptha-webhooks events publish credits.low
        --data '{"remaining": 120, "threshold": 500, "userId": "user_7d2f"}'
    """
    output = output_of(ctx)
    payload = inputs.json_object(data)
    if payload is None:
        raise fail(ctx, "Give the payload with --data (or use `trigger` for a sample)")
    with open_client(ctx) as client:
        published = client.events.publish(
            event, payload, account=account, idempotency_key=idempotency_key
        )
    if output.json_mode:
        output.json(published)
        return
    output.show(render.event_details(published))


@app.command("show")
def show_event(
    ctx: typer.Context,
    event_id: Annotated[str, typer.Argument(help="Event id (evt_…)", show_default=False)],
) -> None:
    """Show an event and how many deliveries it made.

    Example: promptha-webhooks events show evt_…
    """
    output = output_of(ctx)
    with open_client(ctx) as client:
        event = client.events.get(event_id)
    if output.json_mode:
        output.json(event)
    else:
        output.show(render.event_details(event))


@app.command("types")
def list_event_types(ctx: typer.Context) -> None:
    """The event types webhooks can subscribe to, and their payload fields.

    Example: promptha-webhooks --json events types
    """
    output = output_of(ctx)
    with open_client(ctx) as client:
        types = client.event_types.list()
    if output.json_mode:
        output.json(types)
    else:
        output.show(render.event_types_table(types))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="events", rich_help_panel=PANEL)
