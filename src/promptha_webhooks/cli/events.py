"""`events publish|list|show|cancel|types`: publishing events (now or at a time), searching
them, reading one back with its deliveries, cancelling what it has not sent yet, the
catalogue."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from promptha_webhooks.cli import inputs, render
from promptha_webhooks.cli.context import fail, open_client, output_of
from promptha_webhooks.cli.output import jsonable

PANEL = "API"
DEFAULT_LIST_LIMIT = 20

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
    deliver_at: Annotated[
        str | None,
        typer.Option(
            help="Deliver later: in 30m, 2h, 7d, or at a time (2026-12-24T09:00:00Z; UTC "
            "unless it has an offset); at most 30 days ahead",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Publish an event to every webhook of the account subscribed to it.

    Examples:
      promptha-webhooks events publish credits.low
        --data '{"remaining": 120, "threshold": 500, "userId": "user_7d2f"}'
      promptha-webhooks events publish credits.low --data @event.json --deliver-at 2h
    """
    output = output_of(ctx)
    payload = inputs.json_object(data)
    if payload is None:
        raise fail(ctx, "Give the payload with --data (or use `trigger` for a sample)")
    at = inputs.time_ahead(deliver_at, "--deliver-at") if deliver_at is not None else None
    with open_client(ctx) as client:
        published = client.events.publish(
            event, payload, account=account, idempotency_key=idempotency_key, deliver_at=at
        )
    if output.json_mode:
        output.json(published)
        return
    output.show(render.event_details(published))


@app.command("list")
def list_events(
    ctx: typer.Context,
    type_: Annotated[
        str | None,
        typer.Option("--type", "-t", help="An event type, or a pattern such as fabric.*"),
    ] = None,
    event_id: Annotated[str | None, typer.Option("--id", help="Only this event (evt_…)")] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Created at or after: ISO 8601 (UTC) or a duration ago (24h, 7d)"),
    ] = None,
    until: Annotated[str | None, typer.Option(help="Created before (as --since)")] = None,
    limit: Annotated[int, typer.Option(help="How many (newest first)", min=1)] = (
        DEFAULT_LIST_LIMIT
    ),
    all_: Annotated[bool, typer.Option("--all", help="Every match, page after page")] = False,
) -> None:
    """The account's events, newest first (default: the last 24 h, unless --id or --since).

    Example: promptha-webhooks events list --type 'fabric.*' --since 7d
    """
    output = output_of(ctx)
    start = inputs.time_point(since, "--since") if since else None
    end = inputs.time_point(until, "--until") if until else None
    with open_client(ctx) as client, output.spinner("Fetching events…"):
        if all_ and event_id is None:
            events = list(client.events.list_all(type=type_, since=start, until=end))
            more = False
        else:
            page = client.events.list(
                id=event_id, type=type_, since=start, until=end, limit=min(limit, 100)
            )
            events, more = page.data, page.has_more
    if output.json_mode:
        output.json(events)
        return
    if not events:
        output.note("No events match.")
        return
    output.show(render.events_table(events))
    if more:
        output.note(f"Showing the newest {len(events)}; --all lists every match.")


@app.command("show")
def show_event(
    ctx: typer.Context,
    event_id: Annotated[str, typer.Argument(help="Event id (evt_…)", show_default=False)],
) -> None:
    """Show an event and its deliveries to every webhook (with --json: the event with a
    `deliveries` list).

    Example: promptha-webhooks events show evt_…
    """
    output = output_of(ctx)
    with open_client(ctx) as client:
        event = client.events.get(event_id)
        pages = client.events.deliveries(event_id, limit=100)
        deliveries = list(pages.data)
        while pages.has_more and pages.next_cursor:
            pages = client.events.deliveries(event_id, limit=100, cursor=pages.next_cursor)
            deliveries.extend(pages.data)
    if output.json_mode:
        output.json(jsonable(event) | {"deliveries": jsonable(deliveries)})
        return
    output.show(render.event_details(event))
    if deliveries:
        output.show(render.event_deliveries_table(deliveries))
    else:
        output.note("No webhook was subscribed to it: no deliveries.")


@app.command("cancel")
def cancel_event(
    ctx: typer.Context,
    event_id: Annotated[str, typer.Argument(help="Event id (evt_…)", show_default=False)],
) -> None:
    """Cancel every delivery of the event not sent yet (scheduled, or waiting for a worker or
    a retry); those in flight or already sent keep their status.

    Example: promptha-webhooks events cancel evt_…
    """
    output = output_of(ctx)
    with open_client(ctx) as client:
        result = client.events.cancel(event_id)
    if output.json_mode:
        output.json(result)
        return
    output.show(Text(f"Cancelled {result.cancelled} of {len(result.deliveries)} deliveries."))
    if result.deliveries:
        output.show(render.event_deliveries_table(result.deliveries))


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
