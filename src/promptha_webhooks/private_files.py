"""Files that hold secrets, and the data directory that holds them: created readable by the
service's user only (0600, directory 0700), and tightened, with a log line each, when found
looser. Used by whatever creates such a file: the SQLite database (store/database.py; SQLite
gives its -wal, -shm and -journal files the database file's mode) and the dashboard's session
secret (cli/environment.py).

The SQLite database holds every webhook's signing secret and the hashes of the API keys; the
session secret signs dashboard sessions: anyone who can read either can forge deliveries or
sign in.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIRECTORY_MODE = 0o700
SQLITE_COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")


def private_directory(path: Path) -> None:
    """Create `path` (0700), or tighten it to 0700 when it exists looser. A directory shared
    with others (sticky, like /tmp, or another user's) is left as it is, with a log line: its
    private files are 0600 all the same."""
    path.mkdir(mode=PRIVATE_DIRECTORY_MODE, parents=True, exist_ok=True)
    found = path.stat()
    if found.st_mode & stat.S_ISVTX or found.st_uid != os.geteuid():
        if stat.S_IMODE(found.st_mode) & ~PRIVATE_DIRECTORY_MODE:
            logger.warning(
                "%s is a shared directory (sticky, or another user's): its mode %04o is left "
                "as it is; the secrets in it are readable by their owner only",
                path,
                stat.S_IMODE(found.st_mode),
            )
        return
    _tighten(path, PRIVATE_DIRECTORY_MODE)


def private_file(path: Path) -> None:
    """Create `path` empty (0600) if it does not exist; tighten it to 0600 if it is looser."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    _tighten(path, PRIVATE_FILE_MODE)


def write_private_file(path: Path, text: str) -> None:
    """Replace `path` with `text`, 0600 from the first byte (written beside it, then renamed:
    never a moment with the old mode or half the text)."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as file:  # mkstemp creates it 0600
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_private_file(path: Path) -> str | None:
    """The text of `path` (tightened to 0600 first if it is looser), None if it is missing."""
    try:
        _tighten(path, PRIVATE_FILE_MODE)
        return path.read_text()
    except FileNotFoundError:
        return None


def prepare_sqlite(database: Path) -> None:
    """Before SQLite opens `database`: its directory 0700, the file itself created 0600 (SQLite
    then creates its -wal, -shm and -journal files with the same mode), and any of them found
    looser tightened."""
    private_directory(database.parent)
    private_file(database)
    for suffix in SQLITE_COMPANION_SUFFIXES:
        companion = database.with_name(database.name + suffix)
        try:
            _tighten(companion, PRIVATE_FILE_MODE)
        except FileNotFoundError:
            continue


def _tighten(path: Path, mode: int) -> None:
    """Clear the permission bits of `path` beyond `mode` (never adds any), with a log line."""
    current = stat.S_IMODE(path.stat().st_mode)
    if not current & ~mode:
        return
    tightened = current & mode
    os.chmod(path, tightened)
    logger.warning(
        "tightened %s from %04o to %04o: it holds secrets, for the service's user only",
        path,
        current,
        tightened,
    )
