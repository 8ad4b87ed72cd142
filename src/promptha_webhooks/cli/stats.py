"""`stats [WEBHOOK_ID]`: delivery success rate and latency, for the whole account or one
webhook (GET /v1/stats, GET /v1/webhooks/{id}/stats)."""

from __future__ import annotations

from typing import Annotated, get_args

import typer

from promptha_webhooks.cli import render
from promptha_webhooks.cli.context import fail, open_client, output_of
from promptha_webhooks.models import StatsWindow

PANEL = "API"
WINDOWS: tuple[StatsWindow, ...] = get_args(StatsWindow)
ACCOUNT_DEFAULT_WINDOW: StatsWindow = "24h"


def _complete_window(incomplete: str) -> list[str]:
    return [window for window in WINDOWS if window.startswith(incomplete)]


def _window(ctx: typer.Context, value: str | None) -> StatsWindow | None:
    """The --window given, checked here so a wrong one is a one-line error (exit 2)."""
    if value is None:
        return None
    for window in WINDOWS:
        if value.strip().lower() == window:
            return window
    raise fail(ctx, f"--window wants one of {', '.join(WINDOWS)}; got {value!r}")


def stats(
    ctx: typer.Context,
    webhook_id: Annotated[
        str | None,
        typer.Argument(
            help="A webhook (wh_…): its 1h, 24h and 7d windows and failure streak; "
            "omitted: every webhook of the account together",
            show_default=False,
        ),
    ] = None,
    window: Annotated[
        str | None,
        typer.Option(
            help=f"1h, 24h or 7d (default: {ACCOUNT_DEFAULT_WINDOW} for the account, every "
            "window for a webhook)",
            autocompletion=_complete_window,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Delivery statistics: attempts, success rate and latency percentiles (p50, p95, p99).

    Example:
      promptha-webhooks stats --window 7d
      promptha-webhooks stats wh_… --window 1h
    """
    output = output_of(ctx)
    chosen = _window(ctx, window)
    with open_client(ctx) as client:
        if webhook_id is None:
            account = client.webhooks.account_stats(window=chosen or ACCOUNT_DEFAULT_WINDOW)
            if output.json_mode:
                output.json(account)
            else:
                output.show(render.account_stats(account))
            return
        found = client.webhooks.stats(webhook_id)
    if chosen is not None:
        found = found.model_copy(
            update={"windows": [w for w in found.windows if w.window == chosen]}
        )
    if output.json_mode:
        output.json(found)
    else:
        output.show(render.webhook_stats(found))


def register(root: typer.Typer) -> None:
    root.command(rich_help_panel=PANEL)(stats)
