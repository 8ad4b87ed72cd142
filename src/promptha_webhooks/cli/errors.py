"""How every command fails: an error answer from the API, an error of the service (operator
commands call it directly) or a connection that cannot be made is one line on stderr (a JSON
object with `--json`) and exit code 1, never a traceback.

`CommandGroup` is the root command's class, so this wraps every command, those to come too,
in one place. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup

from promptha_webhooks.client import ApiError
from promptha_webhooks.errors import PrompthaError

# Exit codes: 1 the API or service refused or the outcome is negative, 2 the command line is
# wrong.
EXIT_FAILURE = 1
EXIT_USAGE = 2


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failed command reports: the API's error shape, plus the HTTP status if any."""

    message: str
    error_type: str
    field: str | None = None
    status: int | None = None


def describe(exc: BaseException) -> Failure | None:
    """The one-line report of an expected failure; None for anything else (a bug)."""
    if isinstance(exc, ApiError):
        return Failure(exc.message, exc.error_type, exc.field, exc.status_code)
    if isinstance(exc, PrompthaError):
        return Failure(exc.message, exc.error_type, exc.field)
    if isinstance(exc, UnicodeEncodeError):
        # A lone surrogate: bytes of the command line that are not UTF-8 (or "\ud800").
        return Failure(
            "The command line holds text that is not valid UTF-8 (a lone surrogate)",
            "invalid_request",
        )
    database = _database_error(exc)
    if database is not None:
        return Failure(f"The database failed: {database}", "database_error")
    if isinstance(exc, ConnectionError | TimeoutError):
        return Failure(f"Cannot connect: {_first_line(exc)}", "connection_error")
    if isinstance(exc, OSError):
        return Failure(_first_line(exc), "os_error")
    return None


def _database_error(exc: BaseException) -> str | None:
    """The driver's reason, when `exc` comes from the database (imported only now: commands
    that only call the API do not load SQLAlchemy)."""
    from promptha_webhooks.store.errors import database_error_reason

    return database_error_reason(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class CommandGroup(TyperGroup):
    """The root command: runs the command, and reports an expected failure as one line."""

    # ctx: Typer's own (vendored) click Context, which Typer does not export by name
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            failure = describe(exc)
            if failure is None:
                raise
            from promptha_webhooks.cli.context import output_of

            output_of(ctx).failure(failure)
            raise typer.Exit(EXIT_FAILURE) from None
