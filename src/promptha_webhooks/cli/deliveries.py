"""`deliveries list|show|retry|resend|cancel`: the delivery log of a webhook, one delivery,
resending one now, re-queuing failed ones in bulk, cancelling one not sent yet."""

from __future__ import annotations

from typing import Annotated, Literal

import typer
from rich.text import Text

from promptha_webhooks.cli import inputs, render
from promptha_webhooks.cli.context import EXIT_FAILURE, fail, open_client, output_of
from promptha_webhooks.models import SkippedDelivery

PANEL = "API"
DEFAULT_LIST_LIMIT = 20
# Deliveries re-queued per call of a time-range resend (the progress bar moves per call), and
# the most calls one command makes (each re-queued delivery stops matching, so the count
# shrinks; this bounds a range that keeps failing again faster than it is resent).
RESEND_BATCH = 100
MAX_RESEND_CALLS = 10_000

app = typer.Typer(
    help="Inspect and resend deliveries.\n\nExample: promptha-webhooks deliveries list wh_…",
    no_args_is_help=True,
)

DeliveryId = Annotated[str, typer.Argument(help="Delivery id (dlv_…)", show_default=False)]
Status = Literal["pending", "delivered", "failed", "skipped", "cancelled"]


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


@app.command("cancel")
def cancel_delivery(ctx: typer.Context, delivery_id: DeliveryId) -> None:
    """Cancel a delivery not sent yet: it is never sent unless resent (`deliveries retry`).

    Exit code 1 (the API's 409) when it is already final or in flight.

    Example: promptha-webhooks deliveries cancel dlv_…
    """
    output = output_of(ctx)
    with open_client(ctx) as client:
        delivery = client.deliveries.cancel(delivery_id)
    if output.json_mode:
        output.json(delivery)
    else:
        output.show(Text(f"Cancelled {delivery.id}.", style="green"))
        output.show(render.delivery_details(delivery, payload=False))


@app.command("resend")
def resend_deliveries(
    ctx: typer.Context,
    delivery_ids: Annotated[
        list[str] | None,
        typer.Argument(help="Delivery ids (dlv_…), instead of --failed", show_default=False),
    ] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Every failed (or skipped) delivery in the range")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(help="Created at or after: ISO 8601 (UTC) or a duration ago (24h, 7d)"),
    ] = None,
    until: Annotated[str | None, typer.Option(help="Created before (as --since)")] = None,
    webhook: Annotated[
        str | None, typer.Option("--webhook", "-w", help="Only this webhook's (wh_…)")
    ] = None,
) -> None:
    """Re-queue failed deliveries: due now, with a fresh retry schedule.

    Exit code 1 when some named delivery could not be re-queued.

    Examples:
      promptha-webhooks deliveries resend --failed --since 24h
      promptha-webhooks deliveries resend --failed --since 2026-12-01 --until 2026-12-02 -w wh_…
      promptha-webhooks deliveries resend dlv_… dlv_…
    """
    output = output_of(ctx)
    if bool(delivery_ids) == failed:
        raise fail(ctx, "Give delivery ids, or --failed with --since/--until (not both)")
    if delivery_ids and (since or until or webhook):
        raise fail(ctx, "--since, --until and --webhook go with --failed")
    start = inputs.time_point(since, "--since") if since else None
    end = inputs.time_point(until, "--until") if until else None
    skipped: list[SkippedDelivery] = []
    with open_client(ctx) as client:
        if delivery_ids:
            with output.spinner(f"Re-queuing {len(delivery_ids)} deliveries…"):
                result = client.deliveries.resend(delivery_ids)
            resent, total, skipped = result.resent, len(delivery_ids), result.skipped
        else:
            resent = total = 0
            with output.counter("Re-queuing failed deliveries") as show:
                for _ in range(MAX_RESEND_CALLS):
                    result = client.deliveries.resend(
                        since=start, until=end, webhook_id=webhook, limit=RESEND_BATCH
                    )
                    resent += result.resent
                    total = max(total, resent + result.remaining)
                    show(resent, total)
                    if not result.more or not result.resent:
                        break
    if output.json_mode:
        output.json({"resent": resent, "total": total, "skipped": skipped})
    else:
        output.show(Text(f"Resent {resent} of {total}.", style="green" if resent else ""))
        for item in skipped:
            output.note(f"{item.id}: not re-queued ({item.reason.replace('_', ' ')})")
    if skipped:
        raise typer.Exit(EXIT_FAILURE)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="deliveries", rich_help_panel=PANEL)
