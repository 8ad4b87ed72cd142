"""The global options (`--api-url`, `--api-key`, `--json`) and the API client they configure.

`open_client(ctx)` is how every API command gets its client: it turns the client's errors into
the API's message on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import typer

from promptha_webhooks.cli.output import Output
from promptha_webhooks.client import DEFAULT_BASE_URL, ApiError, Client, RetryPolicy

API_URL_ENV = "PROMPTHA_WEBHOOKS_API_URL"
API_KEY_ENV = "PROMPTHA_WEBHOOKS_API_KEY"
# Exit codes: 1 the API refused or the outcome is negative, 2 the command line is wrong.
EXIT_FAILURE = 1
EXIT_USAGE = 2
# Someone is waiting at the terminal: a couple of quick retries, then the error.
CLI_RETRIES = RetryPolicy(max_retries=2, initial_delay_s=0.25, max_delay_s=2.0)


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
    """A client for the global options; API errors end the command with exit code 1."""
    state = state_of(ctx)
    if not state.api_key:
        state.output.error(f"No API key: pass --api-key or set {API_KEY_ENV}")
        raise typer.Exit(EXIT_USAGE)
    try:
        client = Client(state.api_key, state.api_url, retry=CLI_RETRIES)
    except ValueError as exc:
        state.output.error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    try:
        with client:
            yield client
    except ApiError as exc:
        state.output.api_error(exc)
        raise typer.Exit(EXIT_FAILURE) from None


def fail(ctx: typer.Context, message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print `message` as an error and return the Exit to raise."""
    output_of(ctx).error(message)
    return typer.Exit(code)
