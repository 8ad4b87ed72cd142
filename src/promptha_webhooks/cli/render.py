"""Tables and summaries of API objects for people (the `--json` mode prints the models)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from promptha_webhooks.catalog import EVENT_NAMES
from promptha_webhooks.models import (
    Account,
    AccountStats,
    ApiKey,
    Attempt,
    Delivery,
    DeliveryDetail,
    Event,
    EventDelivery,
    EventTypeInfo,
    LatencyPercentiles,
    SecretRotation,
    Webhook,
    WebhookStats,
)

STATUS_STYLES = {
    "delivered": "green",
    "failed": "red",
    "pending": "yellow",
    "skipped": "dim",
    "cancelled": "dim",
    "retry": "yellow",
    "permanent": "red",
}


def when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def short_when(value: datetime | None) -> str:
    """Month, day and time: what list columns have room for."""
    return "" if value is None else value.astimezone().strftime("%m-%d %H:%M:%S")


def status(value: str) -> Text:
    return Text(value, style=STATUS_STYLES.get(value, ""))


# Columns never wrapped (ids stay copyable, short words readable); the others fold, down to
# a minimum width, when the terminal is narrow.
_NO_WRAP = {"ID", "STATUS", "ON", "#", "MS", "OUTCOME", "TRIGGER", "TRIES", "PREFIX", "WINDOW"}
_MIN_WIDTH = {"URL": 14, "EVENTS": 12, "EVENT": 11, "LAST ANSWER": 8, "DESCRIPTION": 8}


def _table(*columns: str) -> Table:
    table = Table(box=None, pad_edge=False, collapse_padding=True, header_style="bold")
    for column in columns:
        table.add_column(
            column,
            no_wrap=column in _NO_WRAP,
            overflow="fold",
            min_width=_MIN_WIDTH.get(column),
        )
    return table


def _add(table: Table, *cells: RenderableType) -> None:
    """A row whose strings are shown literally (ids, URLs, API text are never Rich markup)."""
    table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in cells))


def events_summary(events: list[str]) -> str:
    return f"all {len(events)}" if set(events) == EVENT_NAMES else ", ".join(events)


def webhooks_table(webhooks: Iterable[Webhook]) -> Table:
    """Newest first, as listed; `webhooks show` has the rest (filters, times)."""
    hooks = list(webhooks)
    described = any(hook.description for hook in hooks)
    table = _table("ID", "URL", "EVENTS", *(["DESCRIPTION"] if described else []), "ON")
    for hook in hooks:
        enabled = Text("yes", style="green") if hook.enabled else Text("no", style="red")
        cells: list[str | Text] = [hook.id, hook.target, events_summary(hook.events)]
        if described:
            cells.append(hook.description)
        _add(table, *cells, enabled)
    return table


def webhook_details(hook: Webhook, secret: str | None = None) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    _add(grid, "id", hook.id)
    _add(grid, "type", hook.type)
    if hook.url is not None:
        _add(grid, "url", hook.url)
    if hook.type != "http":
        if hook.config is None:
            _add(grid, "config", "unknown (it does not decrypt)")
        else:
            _add(grid, "config", json.dumps(hook.config, ensure_ascii=False))
    _add(grid, "events", ", ".join(hook.events))
    if hook.filters:
        _add(grid, "filters", json.dumps(hook.filters, ensure_ascii=False))
    _add(grid, "enabled", "yes" if hook.enabled else f"no {hook.disabled_reason or ''}".strip())
    if hook.description:
        _add(grid, "description", hook.description)
    algorithm = hook.signature_algorithm
    algorithm_name = algorithm.value if algorithm else "unknown (the secret does not decrypt)"
    _add(grid, "signing", f"{hook.signature_format.value}, {algorithm_name}")
    _add(
        grid,
        "concurrency",
        "server default" if hook.max_concurrency is None else str(hook.max_concurrency),
    )
    _add(grid, "rate limit", "none" if hook.rate_limit is None else f"{hook.rate_limit}/s")
    _add(grid, "ordering", hook.ordering.value)
    if hook.header_names is None:
        _add(grid, "headers", "unknown (their values do not decrypt)")
    elif hook.header_names:
        _add(grid, "headers", ", ".join(hook.header_names) + " (values: webhooks headers ID)")
    if hook.retry_schedule is not None:
        delays = ", ".join(f"{delay:g}s" for delay in hook.retry_schedule) or "none"
        _add(grid, "retries", delays)
    if hook.timeout_seconds is not None:
        _add(grid, "timeout", f"{hook.timeout_seconds}s")
    if hook.proxy_url is not None:
        _add(grid, "proxy", hook.proxy_url)
    if secret is not None:
        _add(grid, "secret", secret)
    _add(grid, "created", when(hook.created_at))
    _add(grid, "updated", when(hook.updated_at))
    return grid


def secret_rotation(rotation: SecretRotation) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    _add(grid, "webhook", rotation.webhook_id)
    _add(grid, "secret", rotation.secret)
    expires = rotation.previous_secret_expires_at
    _add(grid, "old secret signs until", "no longer" if expires is None else when(expires))
    return grid


# -- keys and stats (keys list, stats) ------------------------------------------------------


def accounts_table(accounts: Iterable[Account]) -> Table:
    table = _table("ID", "NAME", "CREATED")
    for account in accounts:
        _add(table, account.id, account.name, when(account.created_at))
    return table


def keys_table(keys: Iterable[ApiKey], in_use: str | None = None) -> Table:
    """An account's keys; `in_use`, the key the command runs with, is marked."""
    table = _table("ID", "PREFIX", "CREATED", "")
    for key in keys:
        mark = "this key" if in_use is not None and in_use.startswith(key.prefix) else ""
        _add(table, key.id, key.prefix + "…", when(key.created_at), mark)
    return table


def success_rate(rate: float | None) -> Text:
    """Green only when every attempt succeeded, red when none did (never green for 0 %)."""
    if rate is None:
        return Text("no attempts", style="dim")
    style = "green" if rate >= 1 else "red" if rate == 0 else "yellow"
    return Text(f"{rate * 100:.1f}%", style=style)


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def latency(percentiles: LatencyPercentiles) -> str:
    if percentiles.p50_ms is None:
        return "no attempts"
    return (
        f"p50 {_ms(percentiles.p50_ms)} ms, p95 {_ms(percentiles.p95_ms)} ms, "
        f"p99 {_ms(percentiles.p99_ms)} ms"
    )


def account_stats(stats: AccountStats) -> RenderableType:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    _add(grid, "account", stats.account_id)
    _add(grid, "window", f"{stats.window} (since {when(stats.since)})")
    _add(grid, "attempts", f"{stats.attempts} ({stats.delivered} delivered, {stats.failed} failed)")
    _add(grid, "success rate", success_rate(stats.success_rate))
    _add(grid, "latency", latency(stats.latency))
    _add(grid, "disabled webhooks", str(stats.webhooks_disabled))
    if not stats.failures_by_reason:
        return grid
    reasons = _table("FAILURE REASON", "COUNT")
    for failure in stats.failures_by_reason:
        _add(reasons, failure.reason, str(failure.count))
    return Group(grid, Text(""), reasons)


def webhook_stats(stats: WebhookStats) -> RenderableType:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    health = stats.health
    _add(grid, "webhook", stats.webhook_id)
    enabled = "yes" if stats.enabled else f"no {stats.disabled_reason or ''}".strip()
    _add(grid, "enabled", enabled)
    _add(grid, "consecutive failures", str(health.consecutive_failures))
    _add(grid, "last success", when(health.last_success_at) or "never")
    if health.last_failure_at is not None:
        reason = f" ({health.last_failure_reason})" if health.last_failure_reason else ""
        _add(grid, "last failure", when(health.last_failure_at) + reason)
    windows = _table(
        "WINDOW", "ATTEMPTS", "DELIVERED", "FAILED", "SUCCESS", "P50 MS", "P95 MS", "P99 MS"
    )
    for window in stats.windows:
        _add(
            windows,
            window.window,
            str(window.attempts),
            str(window.delivered),
            str(window.failed),
            success_rate(window.success_rate),
            _ms(window.latency.p50_ms),
            _ms(window.latency.p95_ms),
            _ms(window.latency.p99_ms),
        )
    return Group(grid, Text(""), windows)


def last_answer(delivery: Delivery) -> str:
    if delivery.last_response_status is not None:
        return f"HTTP {delivery.last_response_status}"
    return delivery.last_error or ""


def deliveries_table(deliveries: Iterable[Delivery]) -> Table:
    rows = list(deliveries)
    pending = any(delivery.status == "pending" for delivery in rows)
    columns = ["ID", "EVENT", "STATUS", "TRIES", "LAST ANSWER", "CREATED"]
    table = _table(*columns, *(["NEXT TRY"] if pending else []))
    for delivery in rows:
        cells: list[str | Text] = [
            delivery.id,
            delivery.event + ("*" if delivery.is_test else ""),
            status(delivery.status),
            str(delivery.attempt_count),
            last_answer(delivery),
            short_when(delivery.created_at),
        ]
        if pending:
            next_try = delivery.next_attempt_at if delivery.status == "pending" else None
            cells.append(short_when(next_try))
        _add(table, *cells)
    if any(delivery.is_test for delivery in rows):
        table.caption = "* test event"
    return table


def attempts_table(attempts: Iterable[Attempt]) -> Table:
    table = _table("#", "TRIGGER", "OUTCOME", "ANSWER", "MS", "ERROR", "STARTED")
    for attempt in attempts:
        answer = "" if attempt.response_status is None else f"HTTP {attempt.response_status}"
        _add(
            table,
            str(attempt.number),
            attempt.trigger,
            status(attempt.outcome),
            answer,
            f"{attempt.duration_ms:.0f}",
            attempt.error or "",
            short_when(attempt.started_at),
        )
    return table


def delivery_details(delivery: DeliveryDetail, *, payload: bool = True) -> RenderableType:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    _add(grid, "delivery", delivery.id)
    _add(grid, "event", f"{delivery.event} {delivery.event_id}" + (" (test)" * delivery.is_test))
    _add(grid, "webhook", delivery.webhook_id)
    _add(grid, "status", status(delivery.status))
    _add(grid, "attempts", str(delivery.attempt_count))
    if delivery.status == "pending" and delivery.next_attempt_at is not None:
        _add(grid, "next attempt", when(delivery.next_attempt_at))
    if delivery.last_error:
        _add(grid, "last error", delivery.last_error)
    parts: list[RenderableType] = [grid]
    if delivery.attempts:
        parts += [Text(""), attempts_table(delivery.attempts)]
    last = delivery.attempts[-1] if delivery.attempts else None
    if last is not None and last.response_body:
        parts += [Text(""), Text("last answer body:", style="bold"), Text(last.response_body)]
    if payload:
        body = json.dumps(delivery.payload, indent=2, ensure_ascii=False)
        parts += [Text(""), Text("payload:", style="bold"), Text(body)]
    return Group(*parts)


def event_details(event: Event) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    _add(grid, "event", event.id)
    _add(grid, "type", event.event + (" (test)" if event.is_test else ""))
    _add(grid, "account", event.account_id)
    _add(grid, "created", when(event.created_at))
    if event.deliver_at is not None:
        _add(grid, "deliver at", when(event.deliver_at))
    if event.delivery_count is not None:
        _add(grid, "deliveries", str(event.delivery_count))
    _add(grid, "data", json.dumps(event.data, ensure_ascii=False))
    return grid


def event_types_table(types: Iterable[EventTypeInfo]) -> Table:
    table = _table("EVENT", "GROUP", "DESCRIPTION", "REQUIRED FIELDS")
    for info in types:
        required = info.schema_.get("required", [])
        _add(table, info.name, info.group, info.description, ", ".join(map(str, required)))
    return table


def events_table(events: Iterable[Event]) -> Table:
    rows = list(events)
    table = _table("ID", "TYPE", "CREATED")
    for event in rows:
        _add(table, event.id, event.event + ("*" if event.is_test else ""), when(event.created_at))
    if any(event.is_test for event in rows):
        table.caption = "* test event"
    return table


def event_deliveries_table(deliveries: Iterable[EventDelivery]) -> Table:
    table = _table("DELIVERY", "WEBHOOK", "URL", "STATUS", "TRIES", "LAST ANSWER")
    for delivery in deliveries:
        _add(
            table,
            delivery.id,
            delivery.webhook_id,
            delivery.webhook_label,
            status(delivery.status),
            str(delivery.attempt_count),
            last_answer(delivery),
        )
    return table
