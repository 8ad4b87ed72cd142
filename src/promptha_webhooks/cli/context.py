"""The global options (`--api-url`, `--api-key`, `--json`) and the API client they configure.

`open_client(ctx)` is how every API command gets its client; the client's errors are reported
by the root command (cli/errors.py), as every command's are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import typer

from promptha_webhooks.cli.errors import EXIT_FAILURE, EXIT_USAGE
from promptha_webhooks.cli.output import Output
from promptha_webhooks.client import DEFAULT_BASE_URL, Client, RetryPolicy

API_URL_ENV = "PROMPTHA_WEBHOOKS_API_URL"
API_KEY_ENV = "PROMPTHA_WEBHOOKS_API_KEY"
# Someone is waiting at the terminal: a couple of quick retries, then the error.
CLI_RETRIES = RetryPolicy(max_retries=2, initial_delay_s=0.25, max_delay_s=2.0)


__all__ = [
    "API_KEY_ENV",
    "API_URL_ENV",
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "CliState",
    "fail",
    "open_client",
    "output_of",
    "state_of",
]


@dataclass(frozen=True)
class CliState:
    api_url: str
    api_key: str | None
    output: Output


def state_of(ctx: typer.Context) -> CliState:
    state = ctx.find_root().obj
    if not isinstance(state, CliState):  # a sub-app invoked on its own, e.g. in a test
        state = CliState(DEFAULT_BASE_URL, None, Output(json_mode=False))
        ctx.find_root().obj = state
    return state


def output_of(ctx: typer.Context) -> Output:
    return state_of(ctx).output


@contextmanager
def open_client(ctx: typer.Context) -> Iterator[Client]:
    """A client for the global options (its errors end the command: cli/errors.py)."""
    state = state_of(ctx)
    if not state.api_key:
        state.output.error(f"No API key: pass --api-key or set {API_KEY_ENV}")
        raise typer.Exit(EXIT_USAGE)
    try:
        client = Client(state.api_key, state.api_url, retry=CLI_RETRIES)
    except ValueError as exc:
        state.output.error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    with client:
        yield client


def fail(ctx: typer.Context, message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print `message` as an error and return the Exit to raise."""
    output_of(ctx).error(message)
    return typer.Exit(code)
