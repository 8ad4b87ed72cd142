"""Where the operator commands keep their files: the default SQLite database and the files made
in development (`encryption-keys`, `session-secret`). Never relative to the directory a command
runs in: PROMPTHA_WEBHOOKS_DATA_DIR, else the directory of the SQLite file of
PROMPTHA_WEBHOOKS_DATABASE_URL, else the per-user XDG data directory
(`$XDG_DATA_HOME/promptha-webhooks`, by default `~/.local/share/promptha-webhooks`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "PROMPTHA_WEBHOOKS_DATA_DIR"
DATABASE_URL_ENV = "PROMPTHA_WEBHOOKS_DATABASE_URL"
XDG_DATA_HOME_ENV = "XDG_DATA_HOME"
APP_DIRECTORY = "promptha-webhooks"
DATABASE_FILE = "promptha-webhooks.db"
SQLITE_PREFIX = "sqlite:///"


@dataclass(frozen=True, slots=True)
class DataLocation:
    directory: Path  # absolute
    database_url: str
    chosen_by: str  # the rule that chose the directory, for the banner and errors


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL; None for another database, memory or a `file:` URI."""
    if not database_url.startswith(SQLITE_PREFIX):
        return None
    database = database_url.removeprefix(SQLITE_PREFIX).split("?", 1)[0]
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def locate(env: Mapping[str, str], home: Path) -> DataLocation:
    """The data directory and the database URL for this environment (`home`: the user's)."""
    url = env.get(DATABASE_URL_ENV) or None
    given = env.get(DATA_DIR_ENV) or None
    database = sqlite_file(url) if url is not None else None
    if given is not None:
        directory, chosen_by = Path(given).expanduser().absolute(), DATA_DIR_ENV
    elif database is not None:
        directory, chosen_by = database.absolute().parent, DATABASE_URL_ENV
    else:
        xdg = env.get(XDG_DATA_HOME_ENV) or ""
        # The XDG spec: a relative $XDG_DATA_HOME is invalid and ignored.
        base = Path(xdg) if Path(xdg).is_absolute() else home / ".local" / "share"
        directory, chosen_by = base / APP_DIRECTORY, "the per-user data directory"
    if url is None:
        url = f"{SQLITE_PREFIX}{directory / DATABASE_FILE}"
    return DataLocation(directory, url, chosen_by)
