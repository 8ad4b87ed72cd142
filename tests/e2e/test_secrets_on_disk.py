"""`serve` as `make run` starts it (SQLite under ./data, a generated session secret), under the
loosest umask: the data directory is 0700, the database with its -wal and -shm files and the
session secret are 0600. A data directory left looser (by an older version, a copy, a restored
backup) is tightened at the next start, with a log line for each path."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support import free_port

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 30.0


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def serve_until_ready(cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """`serve` started and ready: its database open (/readyz answers 200)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")}
    # As `make run` sets it: the checkout's ./data (the default is the per-user directory).
    env |= {
        "PROMPTHA_WEBHOOKS_MODE": "development",
        "PROMPTHA_WEBHOOKS_PORT": str(port),
        "PROMPTHA_WEBHOOKS_DATA_DIR": str(cwd / "data"),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "promptha_webhooks.cli", "serve"],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            umask=0,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        while True:
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(30)


async def test_serve_keeps_its_secrets_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    database = data / "promptha-webhooks.db"
    session_secret = data / "session-secret"
    wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
    log = tmp_path / "first.log"

    first = await serve_until_ready(tmp_path, log)
    try:
        assert mode(data) == 0o700
        for path in (database, wal, shm, session_secret):
            assert mode(path) == 0o600, path  # -wal and -shm: open while serve runs
    finally:
        stop(first)
    assert "tightened" not in log.read_text()  # nothing was looser

    # Loosen everything, with -wal and -shm held open by another connection as serve starts.
    secret = session_secret.read_text()
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("SELECT count(*) FROM accounts").fetchone()
        for path in (database, wal, shm, session_secret):
            path.chmod(0o644)
        data.chmod(0o755)
        log = tmp_path / "second.log"
        second = await serve_until_ready(tmp_path, log)
        try:
            assert mode(data) == 0o700
            for path in (database, wal, shm, session_secret):
                assert mode(path) == 0o600, path
        finally:
            stop(second)
    assert session_secret.read_text() == secret  # kept, only its mode changed
    text = log.read_text()
    for path, was, now in (
        ("data", "0755", "0700"),
        ("data/promptha-webhooks.db", "0644", "0600"),
        ("data/promptha-webhooks.db-wal", "0644", "0600"),
        ("data/promptha-webhooks.db-shm", "0644", "0600"),
        ("data/session-secret", "0644", "0600"),
    ):
        # The data directory is absolute (cli/data_dir.py), and so are the paths logged.
        assert text.count(f"tightened {tmp_path / path} from {was} to {now}") == 1, (path, text)
