"""How commands talk back: tables and messages for people, JSON (`--json`) for programs.

Results go to stdout; errors, spinners and progress bars go to stderr, so `--json` output can
be piped whatever happens.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from promptha_webhooks.cli.errors import Failure

PIPED_WIDTH = 240


def jsonable(value: Any) -> Any:
    """Models as the API writes them (camelCase), recursively through lists and dicts."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


class Output:
    """One command's output, in the mode the global `--json` flag chose."""

    def __init__(self, *, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.console = Console(highlight=False)
        if not self.console.is_terminal and "COLUMNS" not in os.environ:
            # Piped or redirected: keep each row on one line rather than wrap at 80 columns.
            self.console.width = PIPED_WIDTH
        self.err = Console(stderr=True, highlight=False)

    def json(self, value: Any) -> None:
        typer.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))

    # Strings are printed as they are (markup=False): they hold ids, URLs and messages from
    # the API or a captured request, never Rich markup. Style goes through Text objects.

    def show(self, *renderables: RenderableType) -> None:
        """Human output only (ignored in JSON mode, where the command prints its JSON)."""
        if not self.json_mode:
            self.console.print(*renderables, markup=False)

    def note(self, message: str) -> None:
        """A remark for people, on stderr (kept out of piped output)."""
        self.err.print(message, markup=False)

    def error(self, message: str) -> None:
        self.err.print(Text.assemble(("Error:", "red"), " ", message), soft_wrap=True)

    def failure(self, failure: Failure) -> None:
        """Why a command failed, on one line of stderr (a JSON object in JSON mode)."""
        if self.json_mode:
            error = {
                "type": failure.error_type,
                "message": failure.message,
                "field": failure.field,
                "status": failure.status,
            }
            typer.echo(json.dumps({"error": error}, ensure_ascii=False), err=True)
            return
        details = [failure.error_type]
        if failure.status is not None:
            details.append(f"HTTP {failure.status}")
        if failure.field:
            details.insert(0, f"field {failure.field}")
        self.error(f"{failure.message} ({', '.join(details)})")

    def spinner(self, message: str) -> AbstractContextManager[Any]:
        """A spinner on stderr while a slow call runs (only drawn on a terminal)."""
        if not self.err.is_terminal:
            return nullcontext()
        return self.err.status(message)

    @contextmanager
    def counter(self, description: str) -> Iterator[Callable[[int, int], None]]:
        """A progress bar on stderr whose total is learnt as the work goes (only drawn on a
        terminal); call what this yields with (done, total) after each step."""
        columns: Sequence[Any] = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(
            *columns, console=self.err, transient=True, disable=not self.err.is_terminal
        ) as progress:
            task = progress.add_task(description, total=None)
            yield lambda done, total: progress.update(task, completed=done, total=total)

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Callable[[], None]]:
        """A progress bar on stderr (only drawn on a terminal); call what this yields once per
        item done."""
        columns: Sequence[Any] = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(
            *columns, console=self.err, transient=True, disable=not self.err.is_terminal
        ) as progress:
            task = progress.add_task(description, total=total)
            yield lambda: progress.advance(task)
