"""Operator commands find their data the same way from any directory: run from two working
directories, they use one database and one key file, and write nothing where they run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

RUN_TIMEOUT_S = 60


def run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")}
    clean.pop("XDG_DATA_HOME", None)
    return subprocess.run(
        [sys.executable, "-m", "promptha_webhooks.cli", *args],
        cwd=cwd,
        env=clean
        | {"COLUMNS": "200", "NO_COLOR": "1", "PROMPTHA_WEBHOOKS_MODE": "development"}
        | env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def directories(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "here", tmp_path / "there" / "deeper"
    first.mkdir()
    second.mkdir(parents=True)
    return first, second


def test_two_working_directories_share_the_per_user_database(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first, second = directories(tmp_path)
    env = {"HOME": str(home)}
    created = run(first, env, "accounts", "create", "Acme")
    assert created.returncode == 0, created.stderr
    account = re.search(r"^account (acct_\w+)$", created.stdout, re.MULTILINE)
    assert account, created.stdout
    # The account is found from the other directory: the same database.
    minted = run(second, env, "keys", "create", "--account", account.group(1))
    assert minted.returncode == 0, minted.stderr
    assert minted.stdout.strip().startswith("pwk_")
    data = home / ".local" / "share" / "promptha-webhooks"
    assert (data / "promptha-webhooks.db").is_file()
    assert (data / "encryption-keys").is_file()
    assert not (first / "data").exists() and not (second / "data").exists()
    assert list(first.iterdir()) == [] and list(second.iterdir()) == []


def test_xdg_data_home_and_the_data_dir_variable(tmp_path: Path) -> None:
    first, second = directories(tmp_path)
    xdg = tmp_path / "xdg"
    env = {"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(xdg)}
    assert run(first, env, "migrate").returncode == 0
    assert (xdg / "promptha-webhooks" / "promptha-webhooks.db").is_file()

    chosen = tmp_path / "chosen"
    env = {"HOME": str(tmp_path / "home"), "PROMPTHA_WEBHOOKS_DATA_DIR": str(chosen)}
    created = run(first, env, "accounts", "create", "Acme")
    account = re.search(r"^account (acct_\w+)$", created.stdout, re.MULTILINE)
    assert account, created.stderr
    minted = run(second, env, "keys", "create", "--account", account.group(1))
    assert minted.returncode == 0, minted.stderr
    assert (chosen / "promptha-webhooks.db").is_file() and (chosen / "encryption-keys").is_file()
    assert not (tmp_path / "home").exists()  # nothing went to the per-user directory


def test_a_relative_sqlite_url_keeps_its_keys_beside_the_file(tmp_path: Path) -> None:
    first, _ = directories(tmp_path)
    env = {"HOME": str(tmp_path / "home"), "PROMPTHA_WEBHOOKS_DATABASE_URL": "sqlite:///db/x.db"}
    done = run(first, env, "keys", "create", "--admin")
    assert done.returncode == 0, done.stderr
    assert (first / "db" / "x.db").is_file() and (first / "db" / "encryption-keys").is_file()
