"""`webhooks list|show|create|update|delete|secret|headers|rotate-secret|public-key|test|
test-filter|recover`: an account's subscriptions."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.text import Text

from promptha_webhooks.cli import inputs, render
from promptha_webhooks.cli.context import EXIT_FAILURE, fail, open_client, output_of
from promptha_webhooks.cli.output import Output
from promptha_webhooks.client import NOT_GIVEN, Client
from promptha_webhooks.models import TestResult
from promptha_webhooks.pacing import Ordering
from promptha_webhooks.signature_headers import SignatureAlgorithm, SignatureFormat

PANEL = "API"
DEFAULT_LIST_LIMIT = 20
ALL_EVENTS = "all"

app = typer.Typer(
    help="Manage webhook subscriptions.\n\nExample: promptha-webhooks webhooks list",
    no_args_is_help=True,
)

WebhookId = Annotated[str, typer.Argument(help="Webhook id (wh_…)", show_default=False)]
EventsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--event",
        "-e",
        help="Event type or pattern (fabric.*, *) to subscribe to; repeat or comma-separate; "
        f"'{ALL_EVENTS}' for every type the catalogue has now",
        show_default=False,
    ),
]
FiltersOption = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        help="Only payloads whose KEY is one of the values: KEY=V1,V2 or KEY=[JSON values]",
        show_default=False,
    ),
]

WhereOption = Annotated[
    str | None,
    typer.Option(
        "--where",
        help='A filter document as JSON, @file or -: {"data.usage.totalTokens": {"$gt": 1000}}, '
        "$eq $ne $gt $gte $lt $lte $in $nin $exists $prefix, $and $or $not (merged with --filter)",
        show_default=False,
    ),
]


def _filters(filter_: list[str] | None, where: str | None) -> dict[str, Any] | None:
    """--filter entries and the --where document, as one filter (None: neither given)."""
    document = inputs.filters(filter_ or []) | (inputs.json_object(where, "--where") or {})
    return document or None


def _events(client: Client, values: list[str]) -> list[str]:
    """The event names given, with 'all' asked of the API's catalogue."""
    names = inputs.event_names(values)
    if ALL_EVENTS in names:
        return [info.name for info in client.event_types.list()]
    return names


MaxConcurrencyOption = Annotated[
    int | None,
    typer.Option(
        help="Requests sent to the webhook at once, 1-100 (default: the server's setting)",
        show_default=False,
    ),
]

RateLimitOption = Annotated[
    int | None,
    typer.Option(
        help="Deliveries started per second, 1-1000, across every worker (default: no limit)",
        show_default=False,
    ),
]


class DestinationType(StrEnum):
    """Where a webhook's deliveries go (the API's `type`)."""

    HTTP = "http"
    RABBITMQ = "rabbitmq"
    NATS = "nats"
    REDIS_STREAM = "redis-stream"


TypeOption = Annotated[
    DestinationType | None,
    typer.Option(
        "--type",
        help="http (POST to URL, the default), or a broker: rabbitmq, nats (JetStream), "
        "redis-stream (XADD), configured by --config instead of a URL",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config",
        help="A broker's settings as a JSON object (inline, @file or -), e.g. "
        '\'{"url": "nats://host:4222", "subject": "orders"}\' (stored encrypted; shown '
        "with the URL's password as ****)",
        show_default=False,
    ),
]


OrderingOption = Annotated[
    Ordering | None,
    typer.Option(
        help="fifo: one delivery at a time, in publish order, the next after the previous "
        "succeeded or finally failed; none: no order (the default)",
        show_default=False,
    ),
]


HeaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "--header",
        "-H",
        help="A static header sent on every attempt, NAME:VALUE (e.g. an API gateway key); "
        "repeat for more. Stored encrypted; `webhooks headers` shows the values",
        show_default=False,
    ),
]
RetryScheduleOption = Annotated[
    str | None,
    typer.Option(
        "--retry-schedule",
        help="Delays before each retry, e.g. 5s,30s,5m,2h (at most 9, 3 days in all; 'none': "
        "no retries). Default: the server's schedule (5s,30s,5m,30m,2h)",
        show_default=False,
    ),
]
ProxyUrlOption = Annotated[
    str | None,
    typer.Option(
        "--proxy-url",
        help="Send every delivery through this HTTP CONNECT proxy, "
        "http://[user:password@]host:port (stored encrypted; default: the server's proxy, if any)",
        show_default=False,
    ),
]
TimeoutOption = Annotated[
    int | None,
    typer.Option(
        "--timeout",
        help="Seconds each attempt may take, 1-30 (default: the server's, 30)",
        show_default=False,
    ),
]


SignatureFormatOption = Annotated[
    SignatureFormat | None,
    typer.Option(
        help="How deliveries are signed: promptha (x-promptha-* headers, the default) or "
        "standard (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature)",
        show_default=False,
    ),
]
SignatureAlgorithmOption = Annotated[
    SignatureAlgorithm | None,
    typer.Option(
        help="hmac-sha256 (a shared whsec_ secret, the default) or ed25519 (standard format "
        "only: a whsk_ signing key; receivers verify with `webhooks public-key`)",
        show_default=False,
    ),
]


@app.command("list")
def list_webhooks(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many (newest first)", min=1)] = (
        DEFAULT_LIST_LIMIT
    ),
    all_: Annotated[bool, typer.Option("--all", help="Every webhook, page after page")] = False,
) -> None:
    """List the account's webhooks, newest first.

    Example: promptha-webhooks webhooks list --all
    """
    output = output_of(ctx)
    with open_client(ctx) as client, output.spinner("Fetching webhooks…"):
        if all_:
            webhooks = list(client.webhooks.list_all())
            more = False
        else:
            page = client.webhooks.list(limit=min(limit, 100))
            webhooks, more = page.data, page.has_more
    if output.json_mode:
        output.json(webhooks)
        return
    if not webhooks:
        output.note("No webhooks yet: promptha-webhooks webhooks create URL -e fabric.completed")
        return
    output.show(render.webhooks_table(webhooks))
    if more:
        output.note(f"Showing the newest {len(webhooks)}; --all lists every webhook.")


@app.command("show")
def show_webhook(ctx: typer.Context, webhook_id: WebhookId) -> None:
    """Show one webhook.

    Example: promptha-webhooks webhooks show wh_…
    """
    output = output_of(ctx)
    with open_client(ctx) as client:
        hook = client.webhooks.get(webhook_id)
    if output.json_mode:
        output.json(hook)
    else:
        output.show(render.webhook_details(hook))


@app.command("create")
def create_webhook(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Argument(help="Where deliveries are POSTed (none for a broker)", show_default=False),
    ] = None,
    events: EventsOption = None,
    type_: TypeOption = None,
    config: ConfigOption = None,
    secret: Annotated[
        str | None, typer.Option(help="Signing secret (default: a generated whsec_…)")
    ] = None,
    filter_: FiltersOption = None,
    where: WhereOption = None,
    description: Annotated[str, typer.Option(help="A note for people")] = "",
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled")] = False,
    max_concurrency: MaxConcurrencyOption = None,
    signature_format: SignatureFormatOption = None,
    signature_algorithm: SignatureAlgorithmOption = None,
    rate_limit: RateLimitOption = None,
    ordering: OrderingOption = None,
    header: HeaderOption = None,
    retry_schedule: RetryScheduleOption = None,
    timeout: TimeoutOption = None,
    proxy_url: ProxyUrlOption = None,
) -> None:
    """Subscribe a URL to event types and print its signing secret.

    Example:
      promptha-webhooks webhooks create https://example.com/hooks/promptha
        -e fabric.completed -e fabric.failed --filter fabricId=product-description
        --header 'X-Api-Key: gw_123' --retry-schedule 5s,30s,5m --timeout 10

      promptha-webhooks webhooks create https://example.com/hooks/big -e 'fabric.*'
        --where '{"data.usage.totalTokens": {"$gt": 1000}}'

      promptha-webhooks webhooks create -e 'fabric.*' --type nats
        --config '{"url": "nats://nats.internal:4222", "subject": "promptha.events"}'
    """
    output = output_of(ctx)
    if not events:
        raise fail(ctx, "Give at least one --event (-e), or -e all")
    if url is None and config is None:
        raise fail(ctx, "Give the URL, or --type and --config for a broker destination")
    with open_client(ctx) as client:
        hook = client.webhooks.create(
            url,
            _events(client, events),
            type=type_.value if type_ is not None else None,
            config=inputs.json_object(config, "--config"),
            secret=secret,
            filters=_filters(filter_, where),
            description=description,
            enabled=not disabled,
            max_concurrency=max_concurrency,
            signature_format=signature_format,
            signature_algorithm=signature_algorithm,
            rate_limit=rate_limit,
            ordering=ordering,
            headers=inputs.headers(header) if header else None,
            retry_schedule=(
                inputs.retry_schedule(retry_schedule) if retry_schedule is not None else None
            ),
            timeout_seconds=timeout,
            proxy_url=proxy_url,
        )
    if output.json_mode:
        output.json(hook)
        return
    output.show(render.webhook_details(hook, hook.secret.get_secret_value()))
    output.note("Keep the secret: receivers verify each delivery's signature with it.")


@app.command("update")
def update_webhook(
    ctx: typer.Context,
    webhook_id: WebhookId,
    url: Annotated[str | None, typer.Option(help="New URL")] = None,
    type_: TypeOption = None,
    config: ConfigOption = None,
    events: EventsOption = None,
    secret: Annotated[str | None, typer.Option(help="Set this signing secret")] = None,
    rotate_secret: Annotated[
        bool,
        typer.Option(
            "--rotate-secret",
            help="Generate a new signing secret, in use at once (`webhooks rotate-secret` "
            "keeps the old one signing for a grace period)",
        ),
    ] = False,
    filter_: FiltersOption = None,
    where: WhereOption = None,
    clear_filters: Annotated[
        bool, typer.Option("--clear-filters", help="Receive every payload again")
    ] = False,
    description: Annotated[str | None, typer.Option(help="New description")] = None,
    enabled: Annotated[
        bool | None,
        typer.Option("--enable/--disable", help="Resume or pause deliveries", show_default=False),
    ] = None,
    max_concurrency: MaxConcurrencyOption = None,
    signature_format: SignatureFormatOption = None,
    signature_algorithm: SignatureAlgorithmOption = None,
    rate_limit: RateLimitOption = None,
    no_rate_limit: Annotated[
        bool, typer.Option("--no-rate-limit", help="Remove the rate limit")
    ] = False,
    ordering: OrderingOption = None,
    header: HeaderOption = None,
    clear_headers: Annotated[
        bool, typer.Option("--clear-headers", help="Send no static headers any more")
    ] = False,
    retry_schedule: RetryScheduleOption = None,
    default_retry_schedule: Annotated[
        bool,
        typer.Option("--default-retry-schedule", help="Back to the server's retry schedule"),
    ] = False,
    timeout: TimeoutOption = None,
    default_timeout: Annotated[
        bool, typer.Option("--default-timeout", help="Back to the server's timeout")
    ] = False,
    proxy_url: ProxyUrlOption = None,
    no_proxy_url: Annotated[
        bool,
        typer.Option("--no-proxy-url", help="Back to the server's proxy (if any)"),
    ] = False,
) -> None:
    """Change a webhook: only the options given are changed. A new --signature-format or
    --signature-algorithm keeps the secret if it fits, else add --secret or --rotate-secret.
    --header replaces every static header (repeat it for several).

    Example: promptha-webhooks webhooks update wh_… --disable
    """
    output = output_of(ctx)
    if secret is not None and rotate_secret:
        raise fail(ctx, "Give --secret or --rotate-secret, not both")
    if (filter_ or where) and clear_filters:
        raise fail(ctx, "Give --filter/--where or --clear-filters, not both")
    if rate_limit is not None and no_rate_limit:
        raise fail(ctx, "Give --rate-limit or --no-rate-limit, not both")
    if header and clear_headers:
        raise fail(ctx, "Give --header or --clear-headers, not both")
    if retry_schedule is not None and default_retry_schedule:
        raise fail(ctx, "Give --retry-schedule or --default-retry-schedule, not both")
    if timeout is not None and default_timeout:
        raise fail(ctx, "Give --timeout or --default-timeout, not both")
    if proxy_url is not None and no_proxy_url:
        raise fail(ctx, "Give --proxy-url or --no-proxy-url, not both")
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = url
    if type_ is not None:
        changes["type"] = type_.value
    if config is not None:
        changes["config"] = inputs.json_object(config, "--config")
    if secret is not None or rotate_secret:
        changes["secret"] = secret  # None asks the API for a new one
    if filter_ or where or clear_filters:
        changes["filters"] = _filters(filter_, where)
    if description is not None:
        changes["description"] = description
    if enabled is not None:
        changes["enabled"] = enabled
    if max_concurrency is not None:
        changes["max_concurrency"] = max_concurrency
    if signature_format is not None:
        changes["signature_format"] = signature_format
    if signature_algorithm is not None:
        changes["signature_algorithm"] = signature_algorithm
    if rate_limit is not None or no_rate_limit:
        changes["rate_limit"] = rate_limit  # None removes the limit
    if ordering is not None:
        changes["ordering"] = ordering
    if header or clear_headers:
        changes["headers"] = inputs.headers(header) if header else None
    if retry_schedule is not None or default_retry_schedule:
        changes["retry_schedule"] = (
            inputs.retry_schedule(retry_schedule) if retry_schedule is not None else None
        )
    if timeout is not None or default_timeout:
        changes["timeout_seconds"] = timeout
    if proxy_url is not None or no_proxy_url:
        changes["proxy_url"] = proxy_url  # None: the server's proxy
    if not changes and not events:
        raise fail(ctx, "Nothing to change: give at least one option (see --help)")
    with open_client(ctx) as client:
        hook = client.webhooks.update(
            webhook_id,
            type=changes.get("type", NOT_GIVEN),
            url=changes.get("url", NOT_GIVEN),
            config=changes.get("config", NOT_GIVEN),
            events=_events(client, events) if events else NOT_GIVEN,
            secret=changes.get("secret", NOT_GIVEN),
            filters=changes.get("filters", NOT_GIVEN),
            description=changes.get("description", NOT_GIVEN),
            enabled=changes.get("enabled", NOT_GIVEN),
            max_concurrency=changes.get("max_concurrency", NOT_GIVEN),
            signature_format=changes.get("signature_format", NOT_GIVEN),
            signature_algorithm=changes.get("signature_algorithm", NOT_GIVEN),
            rate_limit=changes.get("rate_limit", NOT_GIVEN),
            ordering=changes.get("ordering", NOT_GIVEN),
            headers=changes.get("headers", NOT_GIVEN),
            retry_schedule=changes.get("retry_schedule", NOT_GIVEN),
            timeout_seconds=changes.get("timeout_seconds", NOT_GIVEN),
            proxy_url=changes.get("proxy_url", NOT_GIVEN),
        )
        new_secret = client.webhooks.secret(webhook_id).secret if rotate_secret else None
    if output.json_mode:
        document = hook.model_dump(mode="json")
        output.json(document if new_secret is None else {**document, "secret": new_secret})
        return
    output.show(render.webhook_details(hook, new_secret))


@app.command("delete")
def delete_webhooks(
    ctx: typer.Context,
    webhook_ids: Annotated[
        list[str], typer.Argument(help="Webhook ids (wh_…)", show_default=False)
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete webhooks with their delivery logs.

    Example: promptha-webhooks webhooks delete wh_… --yes
    """
    output = output_of(ctx)
    if not yes:
        logs = "its delivery log" if len(webhook_ids) == 1 else "their delivery logs"
        typer.confirm(f"Delete {', '.join(webhook_ids)} and {logs}?", abort=True)
    with open_client(ctx) as client:
        for webhook_id in webhook_ids:
            client.webhooks.delete(webhook_id)
            if not output.json_mode:
                output.show(f"Deleted {webhook_id}")
    if output.json_mode:
        output.json({"deleted": webhook_ids})


@app.command("secret")
def show_secret(ctx: typer.Context, webhook_id: WebhookId) -> None:
    """Print the webhook's signing secret.

    Example:
      promptha-webhooks webhooks secret wh_…
      promptha-webhooks verify -s "$(promptha-webhooks webhooks secret wh_…)" < req
    """
    output = output_of(ctx)
    with open_client(ctx) as client:
        secret = client.webhooks.secret(webhook_id)
    if output.json_mode:
        output.json(secret)
    else:
        typer.echo(secret.secret)


@app.command("headers")
def show_headers(ctx: typer.Context, webhook_id: WebhookId) -> None:
    """Print the webhook's static headers with their values, one NAME: VALUE a line.

    Example: promptha-webhooks webhooks headers wh_…
    """
    output = output_of(ctx)
    with open_client(ctx) as client:
        found = client.webhooks.headers(webhook_id)
    if output.json_mode:
        output.json(found)
    elif not found.headers:
        output.note("No static headers: promptha-webhooks webhooks update ID --header 'NAME: V'")
    else:
        for name, value in found.headers.items():
            typer.echo(f"{name}: {value}")


@app.command("rotate-secret")
def rotate_secret(
    ctx: typer.Context,
    webhook_id: WebhookId,
    secret: Annotated[
        str | None,
        typer.Option(help="The new signing secret (default: a generated whsec_…)"),
    ] = None,
    grace_period: Annotated[
        str | None,
        typer.Option(
            "--grace-period",
            help="How long the old secret keeps signing too: SECONDS or 30m, 24h, 7d "
            "(default 24h, at most 7d; 0 switches at once)",
            show_default=False,
        ),
    ] = None,
    complete: Annotated[
        bool,
        typer.Option(
            "--complete", help="End the running grace period now: the old secret stops signing"
        ),
    ] = False,
) -> None:
    """Replace the signing secret without losing events: during the grace period deliveries
    carry a signature for each secret, and a 401/403 is retried until the receiver switches.

    Example:
      promptha-webhooks webhooks rotate-secret wh_… --grace-period 24h
      promptha-webhooks webhooks rotate-secret wh_… --complete
    """
    output = output_of(ctx)
    if complete and (secret is not None or grace_period is not None):
        raise fail(ctx, "--complete ends a rotation: give it without --secret or --grace-period")
    grace_s = None
    if grace_period is not None:
        grace_s = inputs.duration_seconds(grace_period, "--grace-period")
    with open_client(ctx) as client:
        if complete:
            hook = client.webhooks.complete_secret_rotation(webhook_id)
            if output.json_mode:
                output.json(hook)
            else:
                output.show(f"Rotation of {webhook_id} complete: only the current secret signs")
            return
        rotation = client.webhooks.rotate_secret(webhook_id, secret=secret, grace_period_s=grace_s)
    if output.json_mode:
        output.json(rotation)
        return
    output.show(render.secret_rotation(rotation))
    if rotation.previous_secret_expires_at is None:
        output.note("The old secret stopped signing: receivers must use the new one now.")
    else:
        output.note(
            "Deliveries carry a signature for each secret until then; switch the receiver to "
            "the new secret before, and finish with `webhooks rotate-secret ID --complete`."
        )


@app.command("public-key")
def show_public_key(ctx: typer.Context, webhook_id: WebhookId) -> None:
    """Print the whpk_ public key an ed25519 webhook's deliveries verify with (and, during a
    rotation, the previous one on a second line).

    Example:
      promptha-webhooks webhooks public-key wh_…
      promptha-webhooks verify -s "$(promptha-webhooks webhooks public-key wh_…)" < req
    """
    output = output_of(ctx)
    with open_client(ctx) as client:
        keys = client.webhooks.public_key(webhook_id)
    if output.json_mode:
        output.json(keys)
        return
    typer.echo(keys.public_key)
    if keys.previous_public_key is not None:
        typer.echo(keys.previous_public_key)


@app.command("test")
def send_test(
    ctx: typer.Context,
    webhook_id: WebhookId,
    event: Annotated[str, typer.Option("--event", "-e", help="Event type")] = "fabric.completed",
    data: Annotated[
        str | None,
        typer.Option(help="Payload fields as JSON, @file or - (the rest from the sample)"),
    ] = None,
) -> None:
    """Send a test event to one webhook now and show the receiver's answer.

    Exit code 1 when it was not delivered.

    Example:
      promptha-webhooks webhooks test wh_… -e fabric.completed
        --data '{"executionId": "test_123", "result": {"output": "Test result"}}'
    """
    output = output_of(ctx)
    payload = inputs.json_object(data)
    with open_client(ctx) as client, output.spinner(f"Sending {event} to {webhook_id}…"):
        result = client.webhooks.test(webhook_id, event, payload)
    report_test_result(output, result)
    if not result.success:
        raise typer.Exit(EXIT_FAILURE)


@app.command("test-filter")
def test_filter(
    ctx: typer.Context,
    event: Annotated[
        str, typer.Option("--type", "-t", help="The event's type")
    ] = "fabric.completed",
    events: EventsOption = None,
    filter_: FiltersOption = None,
    where: WhereOption = None,
    data: Annotated[
        str | None,
        typer.Option(help="The payload as JSON, @file or - (default: the type's sample)"),
    ] = None,
) -> None:
    """Would a webhook with these events (-e, default any) and filters receive this event?
    Shows the clause that failed. Stores nothing.

    Exit code 1 when it does not match.

    Example:
      promptha-webhooks webhooks test-filter -t fabric.completed -e 'fabric.*'
        --where '{"data.usage.totalTokens": {"$gt": 1000}}'
        --data '{"executionId": "e", "fabricId": "f", "result": 1, "usage": {"totalTokens": 40}}'
    """
    output = output_of(ctx)
    payload = inputs.json_object(data)
    document = _filters(filter_, where)
    with open_client(ctx) as client:
        result = client.webhooks.test_filter(
            event,
            document,
            data=payload,
            events=_events(client, events) if events else None,
        )
    if output.json_mode:
        output.json(result)
    elif result.matches:
        output.show(Text.assemble(event, ": ", Text("matches", style="green")))
    else:
        output.show(Text.assemble(event, ": ", Text("does not match", style="red")))
        output.show(Text.assemble("failed clause: ", result.failed_clause or ""))
        output.show(result.message or "")
    if not result.matches:
        raise typer.Exit(EXIT_FAILURE)


@app.command("recover")
def recover(
    ctx: typer.Context,
    webhook_id: WebhookId,
    since: Annotated[
        str,
        typer.Option(
            help="Deliveries created from this time: 2026-11-20, 2026-11-20T08:00:00Z (no zone: "
            "UTC) or how long ago, 30m, 24h, 7d",
            show_default=False,
        ),
    ],
    until: Annotated[
        str | None,
        typer.Option(help="…and before this time (same forms; default: now)", show_default=False),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count them; nothing is re-queued")
    ] = False,
) -> None:
    """Send again every failed or skipped delivery of the webhook created in a time range
    (after an outage, once the endpoint works): due now, with a fresh retry schedule.

    Example:
      promptha-webhooks webhooks recover wh_… --since 24h --dry-run
      promptha-webhooks webhooks recover wh_… --since 2026-11-20T08:00:00Z --until 2026-11-20T12:00Z
    """
    output = output_of(ctx)
    now = datetime.now(UTC)
    try:
        start = inputs.point_in_time(since, "--since", now)
        end = None if until is None else inputs.point_in_time(until, "--until", now)
    except ValueError as exc:
        raise fail(ctx, str(exc)) from None
    with open_client(ctx) as client:
        result = client.webhooks.recover(webhook_id, start, until=end, dry_run=dry_run)
    if output.json_mode:
        output.json(result)
        return
    span = f"created from {render.when(result.since)} to "
    span += "now" if result.until is None else render.when(result.until)
    noun = "delivery" if result.count == 1 else "deliveries"
    if result.dry_run:
        output.show(f"Would re-queue {result.count} failed or skipped {noun} {span} (dry run).")
    else:
        output.show(f"Re-queued {result.count} failed or skipped {noun} {span}.")


def report_test_result(output: Output, result: TestResult) -> None:
    """A test event's outcome: the delivery, its attempt and the receiver's answer."""
    if output.json_mode:
        output.json(result)
        return
    verdict = (
        Text("delivered", style="green") if result.success else Text("not delivered", style="red")
    )
    output.show(Text.assemble("Test ", result.event.event, " ", result.event.id, ": ", verdict))
    output.show(render.delivery_details(result.delivery, payload=False))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="webhooks", rich_help_panel=PANEL)
