"""`deliveries list|show|retry`: the delivery log of a webhook, one delivery, resending."""

from __future__ import annotations

from typing import Annotated, Literal

import typer
from rich.text import Text

from promptha_webhooks.cli import render
from promptha_webhooks.cli.context import EXIT_FAILURE, open_client, output_of

PANEL = "API"
DEFAULT_LIST_LIMIT = 20

app = typer.Typer(
    help="Inspect and resend deliveries.\n\nExample: promptha-webhooks deliveries list wh_…",
    no_args_is_help=True,
)

DeliveryId = Annotated[str, typer.Argument(help="Delivery id (dlv_…)", show_default=False)]
Status = Literal["pending", "delivered", "failed", "skipped"]


@app.command("list")
def list_deliveries(
    ctx: typer.Context,
    webhook_id: Annotated[str, typer.Argument(help="Webhook id (wh_…)", show_default=False)],
    status: Annotated[Status | None, typer.Option(help="Only deliveries in this state")] = None,
    event: Annotated[str | None, typer.Option("--event", "-e", help="Only this type")] = None,
    limit: Annotated[int, typer.Option(help="How many (newest first)", min=1)] = (
        DEFAULT_LIST_LIMIT
    ),
    all_: Annotated[bool, typer.Option("--all", help="Every match, page after page")] = False,
) -> None:
    """A webhook's delivery log, newest first.

    Example: promptha-webhooks deliveries list wh_… --status failed
    """
    output = output_of(ctx)
    with open_client(ctx) as client, output.spinner("Fetching deliveries…"):
        if all_:
            deliveries = list(client.deliveries.list_all(webhook_id, status=status, event=event))
            more = False
        else:
            page = client.deliveries.list(
                webhook_id, status=status, event=event, limit=min(limit, 100)
            )
            deliveries, more = page.data, page.has_more
    if output.json_mode:
        output.json(deliveries)
        return
    if not deliveries:
        output.note("No deliveries match.")
        return
    output.show(render.deliveries_table(deliveries))
    if more:
        output.note(f"Showing the newest {len(deliveries)}; --all lists every match.")


@app.command("show")
def show_delivery(
    ctx: typer.Context,
    delivery_id: DeliveryId,
    payload: Annotated[bool, typer.Option("--payload/--no-payload", help="Print the body")] = True,
) -> None:
    """One delivery: its state, every attempt and answer, and the payload.

    Example: promptha-webhooks deliveries show dlv_…
    """
    output = output_of(ctx)
    with open_client(ctx) as client:
        delivery = client.deliveries.get(delivery_id)
    if output.json_mode:
        output.json(delivery)
    else:
        output.show(render.delivery_details(delivery, payload=payload))


@app.command("retry")
def retry_delivery(ctx: typer.Context, delivery_id: DeliveryId) -> None:
    """Resend a delivery now, whatever its state, and show the answer.

    Exit code 1 when this attempt did not deliver it.

    Example: promptha-webhooks deliveries retry dlv_…
    """
    output = output_of(ctx)
    with open_client(ctx) as client, output.spinner(f"Resending {delivery_id}…"):
        delivery = client.deliveries.retry(delivery_id)
    last = delivery.attempts[-1] if delivery.attempts else None
    delivered = last is not None and last.outcome == "delivered"
    if output.json_mode:
        output.json(delivery)
    else:
        verdict = Text("delivered", style="green") if delivered else Text("failed", style="red")
        output.show(Text.assemble(f"Attempt {last.number if last else '?'}: ", verdict))
        output.show(render.delivery_details(delivery, payload=False))
    if not delivered:
        raise typer.Exit(EXIT_FAILURE)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="deliveries", rich_help_panel=PANEL)
