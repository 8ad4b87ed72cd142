"""Start-up and the encryption key: production refuses to start without one, in one line and
before touching the database; development generates one into a 0600 file beside the database
on first start and keeps it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from promptha_webhooks.secret_box import KeyRing

from support import free_port

CLI = [sys.executable, "-m", "promptha_webhooks.cli"]


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")}
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=clean | {"COLUMNS": "200", "NO_COLOR": "1"} | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_a_key_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    database = tmp_path / "data" / "prod.db"
    for command in (["serve"], ["worker"], ["keys", "create", "--admin"]):
        done = run(
            tmp_path,
            *command,
            PROMPTHA_WEBHOOKS_MODE="production",
            PROMPTHA_WEBHOOKS_DATABASE_URL=f"sqlite:///{database}",
            PROMPTHA_WEBHOOKS_PORT=str(free_port()),
        )
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert "PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS is not set" in lines[0]
        assert "Traceback" not in done.stderr
        assert not database.exists()  # refused before touching the database
        assert not (tmp_path / "data" / "encryption-keys").exists()


def test_a_malformed_key_ring_is_a_configuration_error(tmp_path: Path) -> None:
    done = run(
        tmp_path,
        "keys",
        "create",
        "--admin",
        PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS="k1:not-base64",
        PROMPTHA_WEBHOOKS_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
    )
    assert done.returncode == 2 and "k1" in done.stderr and "Traceback" not in done.stderr
    assert "not-base64" not in done.stderr  # key material is never echoed


def test_development_generates_a_private_key_file_once(tmp_path: Path) -> None:
    database = tmp_path / "data" / "dev.db"
    env = {
        "PROMPTHA_WEBHOOKS_MODE": "development",
        "PROMPTHA_WEBHOOKS_DATABASE_URL": f"sqlite:///{database}",
    }
    first = run(tmp_path, "keys", "create", "--admin", **env)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "data" / "encryption-keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    ring = KeyRing.parse(key_file.read_text().strip())
    assert ring.key_ids == ("dev1",)
    content = key_file.read_text()
    second = run(tmp_path, "accounts", "create", "Acme", **env)
    assert second.returncode == 0, second.stderr
    assert key_file.read_text() == content  # kept, not regenerated
