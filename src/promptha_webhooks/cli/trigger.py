"""`trigger EVENT`: send a realistic sample event, to the account or to one webhook."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from promptha_webhooks.cli import inputs, render
from promptha_webhooks.cli.context import EXIT_FAILURE, fail, open_client, output_of
from promptha_webhooks.cli.samples import EVENT_NAMES, random_payload
from promptha_webhooks.cli.webhooks import report_test_result
from promptha_webhooks.client import Client
from promptha_webhooks.models import Event, TestResult

PANEL = "API"
MAX_COUNT = 1000


def trigger(
    ctx: typer.Context,
    event: Annotated[
        str,
        typer.Argument(
            help=f"Event type: {', '.join(EVENT_NAMES)}",
            show_default=False,
        ),
    ],
    webhook: Annotated[
        str | None,
        typer.Option("--webhook", "-w", help="Send a test event to this webhook (wh_…) only, now"),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(help="Fields to set, as JSON, @file or - (they win over the sample)"),
    ] = None,
    count: Annotated[
        int, typer.Option("--count", "-n", help="How many events", min=1, max=MAX_COUNT)
    ] = 1,
    account: Annotated[
        str | None, typer.Option(help="Target account (acct_…), with the admin key")
    ] = None,
) -> None:
    """Send a realistic EVENT: random ids, numbers and text, new each time.

    Without --webhook it is published for the key's account and fans out to
    every webhook subscribed to it, like a real event. With --webhook it is a
    test event for that webhook only, sent now, and the receiver's answer is
    shown (exit code 1 when not delivered).

    Example:
      promptha-webhooks trigger fabric.completed
      promptha-webhooks trigger credits.low --webhook wh_…
    """
    if event not in EVENT_NAMES:
        raise fail(ctx, f"Unknown event type {event!r}; known types: {', '.join(EVENT_NAMES)}")
    if webhook is not None and account is not None:
        raise fail(ctx, "--account is for publishing; a --webhook names its account already")
    overrides = inputs.json_object(data) or {}
    payloads = [random_payload(event) | overrides for _ in range(count)]
    with open_client(ctx) as client:
        if webhook is not None:
            results = _send_tests(ctx, client, webhook, event, payloads)
            _report_tests(ctx, results)
        else:
            events = _publish(ctx, client, event, payloads, account)
            _report_published(ctx, events)


def _send_tests(
    ctx: typer.Context, client: Client, webhook: str, event: str, payloads: list[dict[str, Any]]
) -> list[TestResult]:
    output = output_of(ctx)
    results: list[TestResult] = []
    with output.progress(f"Sending {event} to {webhook}", len(payloads)) as advance:
        for payload in payloads:
            results.append(client.webhooks.test(webhook, event, payload))
            advance()
    return results


def _publish(
    ctx: typer.Context,
    client: Client,
    event: str,
    payloads: list[dict[str, Any]],
    account: str | None,
) -> list[Event]:
    output = output_of(ctx)
    events: list[Event] = []
    with output.progress(f"Publishing {event}", len(payloads)) as advance:
        for payload in payloads:
            events.append(client.events.publish(event, payload, account=account))
            advance()
    return events


def _report_tests(ctx: typer.Context, results: list[TestResult]) -> None:
    output = output_of(ctx)
    if len(results) == 1:
        report_test_result(output, results[0])
    elif output.json_mode:
        output.json(results)
    else:
        for result in results:
            verdict = (
                Text("delivered", "green")
                if result.success
                else Text(f"not delivered ({render.last_answer(result.delivery)})", "red")
            )
            output.show(Text.assemble(result.event.id, " ", result.delivery.id, " ", verdict))
    failed = sum(1 for result in results if not result.success)
    if failed:
        if len(results) > 1:
            output.note(f"{failed} of {len(results)} test events were not delivered")
        raise typer.Exit(EXIT_FAILURE)


def _report_published(ctx: typer.Context, events: list[Event]) -> None:
    output = output_of(ctx)
    if output.json_mode:
        output.json(events[0] if len(events) == 1 else events)
        return
    for published in events:
        count = published.delivery_count or 0
        targets = f"{count} webhook{'s' if count != 1 else ''}"
        output.show(f"Published {published.event} {published.id} to {targets}")
    if all(not published.delivery_count for published in events):
        output.note(
            "No webhook of the account subscribes to this event (or its filters exclude it)."
        )


def register(root: typer.Typer) -> None:
    root.command(rich_help_panel=PANEL)(trigger)
