"""The root `promptha-webhooks` command: global options and the registry of command groups.

Each command module has a `register(app)`; adding a command group (e.g. `listen`) is one
module and one entry in COMMAND_MODULES.
"""

from __future__ import annotations

from types import ModuleType
from typing import Annotated

import typer

from promptha_webhooks.cli import (
    accounts,
    alerts,
    deliveries,
    events,
    ips,
    keys,
    listen,
    operators,
    portal,
    secrets,
    server,
    stats,
    trigger,
    verify,
    webhooks,
)
from promptha_webhooks.cli.context import API_KEY_ENV, API_URL_ENV, CliState
from promptha_webhooks.cli.errors import CommandGroup
from promptha_webhooks.cli.output import Output
from promptha_webhooks.client import DEFAULT_BASE_URL

# In the order `--help` lists them (grouped into panels by each module).
COMMAND_MODULES: tuple[ModuleType, ...] = (
    server,
    operators,
    accounts,
    portal,
    secrets,
    keys,
    webhooks,
    deliveries,
    events,
    stats,
    alerts,
    ips,
    trigger,
    listen,
    verify,
)

app = typer.Typer(
    name="promptha-webhooks",
    help=(
        "Promptha Webhooks: the webhook service, its dispatcher and operator tools.\n\n"
        "Example: promptha-webhooks --api-key pwk_… webhooks list"
    ),
    no_args_is_help=True,
    # Every command's API, service and connection errors: one line and exit code 1.
    cls=CommandGroup,
)


@app.callback()
def global_options(
    ctx: typer.Context,
    api_url: Annotated[
        str,
        typer.Option(
            "--api-url", envvar=API_URL_ENV, help="The API of the service (commands that use it)"
        ),
    ] = DEFAULT_BASE_URL,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key", envvar=API_KEY_ENV, help="Account key (pwk_…) or admin key (pwa_…)"
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON output instead of tables")
    ] = False,
) -> None:
    """Options for the commands that use the API (given before the command)."""
    ctx.obj = CliState(api_url, api_key, Output(json_mode=json_output))


for _module in COMMAND_MODULES:
    _module.register(app)
