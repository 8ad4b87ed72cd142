"""Files that hold secrets are created 0600 in a 0700 directory, and tightened (a log line each)
when found looser: real files, their modes read back from the file system. Includes the SQLite
database as the store opens it, whose -wal and -shm files SQLite creates with its mode."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from promptha_webhooks.private_files import (
    private_directory,
    private_file,
    read_private_file,
    write_private_file,
)
from promptha_webhooks.store.database import migrate_sync

LOGGER = "promptha_webhooks.private_files"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The loosest umask a service could run under: modes are then the code's doing alone."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_new_files_and_directories_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data" / "deeper"
    private_directory(data)
    assert mode(data) == 0o700
    private_file(data / "empty")
    write_private_file(data / "secret", "s3cret\n")
    assert mode(data / "empty") == 0o600 and mode(data / "secret") == 0o600
    assert read_private_file(data / "secret") == "s3cret\n"
    assert read_private_file(data / "missing") is None
    assert sorted(p.name for p in data.iterdir()) == ["empty", "secret"]  # no temporary left


def test_looser_modes_are_tightened_with_a_log_line_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    secret = data / "session-secret"
    secret.write_text("s" * 40)
    secret.chmod(0o644)
    executable = data / "key"
    executable.write_text("k")
    executable.chmod(0o755)
    tight = data / "read-only"
    tight.write_text("r")
    tight.chmod(0o400)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        private_directory(data)
        assert read_private_file(secret) == "s" * 40
        private_file(executable)
        private_file(tight)
        write_private_file(data / "rewritten", "x")
    assert (mode(data), mode(secret), mode(executable), mode(tight)) == (
        0o700,
        0o600,
        0o600,
        0o400,  # never loosened
    )
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert messages == [
        f"tightened {data} from 0755 to 0700: it holds secrets, for the service's user only",
        f"tightened {secret} from 0644 to 0600: it holds secrets, for the service's user only",
        f"tightened {executable} from 0755 to 0600: it holds secrets, for the service's user only",
    ]
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        caplog.clear()
        private_directory(data)
        private_file(secret)
    assert caplog.records == []  # once tight, nothing more to say


def test_a_shared_directory_is_left_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        private_directory(shared)
        private_file(shared / "promptha.db")
    assert mode(shared) == 0o1777
    assert mode(shared / "promptha.db") == 0o600
    [message] = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert message.startswith(f"{shared} is a shared directory (sticky, or another user's)")


def test_the_sqlite_database_and_its_wal_files_are_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    database = data / "promptha-webhooks.db"
    migrate_sync(f"sqlite:///{database}")
    assert mode(data) == 0o700 and mode(database) == 0o600
    # A connection in WAL mode, as the service keeps: SQLite creates -wal and -shm now.
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE probe (x INTEGER)")
        for suffix in ("-wal", "-shm"):
            companion = Path(f"{database}{suffix}")
            assert companion.exists() and mode(companion) == 0o600, suffix
            companion.chmod(0o644)  # as an older version left them
        database.chmod(0o644)
        data.chmod(0o755)
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            migrate_sync(f"sqlite:///{database}")  # what every start does first
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            assert mode(path) == 0o600, path
        assert mode(data) == 0o700
        tightened = sorted(
            r.getMessage().split(" from ")[0] for r in caplog.records if r.name == LOGGER
        )
        assert tightened == sorted(
            f"tightened {p}" for p in (data, database, f"{database}-shm", f"{database}-wal")
        )
