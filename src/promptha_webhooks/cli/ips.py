"""`ips [--json] [--save FILE]`: the addresses deliveries come from (GET /v1/ips, public: no
API key needed), to allow-list, or to pin for `IPAllowList.from_file`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from promptha_webhooks.cli.context import CLI_RETRIES, fail, state_of
from promptha_webhooks.cli.render import when
from promptha_webhooks.client import Client
from promptha_webhooks.models import EgressAddresses

PANEL = "API"
# /v1/ips is public: without --api-key the client still needs a token to send, and the service
# reads none on this path.
PUBLIC_TOKEN = "public"


def ips(
    ctx: typer.Context,
    json_output: Annotated[
        bool, typer.Option("--json", help="The list as JSON (as the global --json)")
    ] = False,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            help="Also write the list, as the service answered it, to FILE: a pinned copy for "
            "IPAllowList.from_file",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
) -> None:
    """The addresses and CIDRs deliveries come from, with the list's version: what receivers
    allow-list (public: no API key needed).

    Example:
      promptha-webhooks --api-url https://webhooks.example.com ips --save promptha-ips.json
    """
    state = state_of(ctx)
    try:
        client = Client(state.api_key or PUBLIC_TOKEN, state.api_url, retry=CLI_RETRIES)
    except ValueError as exc:
        raise fail(ctx, str(exc)) from None
    with client:
        found = client.ips.get()
    if save is not None:
        document = json.dumps(found.model_dump(mode="json"), indent=2, ensure_ascii=False)
        try:
            save.write_text(document + "\n", encoding="utf-8")
        except OSError as exc:
            raise fail(ctx, f"Cannot write {save}: {exc.strerror or exc}", 1) from None
    if json_output or state.output.json_mode:
        state.output.json(found)
        return
    state.output.show(_table(found))
    if save is not None:
        state.output.note(f"Saved to {save}")


def _table(found: EgressAddresses) -> Table:
    table = Table(
        title=f"Egress addresses (version {found.version}, updated {when(found.updated_at)})"
    )
    table.add_column("Address / CIDR", no_wrap=True)
    for address in found.addresses:
        table.add_row(address)
    if not found.addresses:
        table.caption = (
            "None published (the operator sets PROMPTHA_WEBHOOKS_EGRESS_CIDRS or _SOURCE_ADDRESSES)"
        )
    return table


def register(root: typer.Typer) -> None:
    root.command(rich_help_panel=PANEL)(ips)
