"""The command as users run it: a real process, global options from flags or the environment,
exit codes, errors without tracebacks, and `--help` with an example on every command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from cli_support import Cli, invoke, new_cli

from promptha_webhooks import signing
from promptha_webhooks.cli import app

from support import free_port

COMMANDS = [
    "serve",
    "worker",
    "migrate",
    "accounts",
    "keys",
    "stats",
    "webhooks",
    "deliveries",
    "events",
    "trigger",
    "verify",
]


def run(
    *args: str, env: dict[str, str] | None = None, stdin: Path | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")}
    with open(stdin or os.devnull, "rb") as source:
        return subprocess.run(
            [sys.executable, "-m", "promptha_webhooks.cli", *args],
            env=clean | (env or {}),
            stdin=source,
            capture_output=True,
            text=True,
            timeout=60,
        )


def all_commands() -> list[str]:
    """Every command and group, as the words that invoke it ("" is the root)."""
    found: list[str] = []

    def walk(path: str, command: Any) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(f"{path} {name}".strip(), sub)

    walk("", typer.main.get_command(app))
    return found


def test_every_command_has_help_with_an_example() -> None:
    commands = all_commands()
    assert set(commands) >= {
        "webhooks list", "webhooks create", "webhooks update", "webhooks delete", "webhooks test",
        "deliveries list", "deliveries show", "deliveries retry", "events publish", "trigger",
        "verify", "serve", "worker", "migrate", "accounts create", "keys create", "keys list",
        "keys revoke", "stats", "webhooks recover",
    }  # fmt: skip
    for path in commands:
        result = invoke([*path.split(), "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Example" in result.output, f"`{path} --help` has no example"


def test_the_module_runs_and_lists_every_command() -> None:
    result = run("--help")
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout


@pytest.fixture
def cli(request: pytest.FixtureRequest) -> Cli:
    return new_cli(request)


def test_global_options_from_the_environment(cli: Cli) -> None:
    env = {"PROMPTHA_WEBHOOKS_API_URL": cli.url + "/v1", "PROMPTHA_WEBHOOKS_API_KEY": cli.key}
    result = run("--json", "webhooks", "list", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_api_errors_print_the_message_and_exit_1(cli: Cli) -> None:
    result = run("--api-url", cli.url, "--api-key", "pwk_wrong", "webhooks", "list")
    assert result.returncode == 1
    assert "Error:" in result.stderr and "authentication_failed" in result.stderr
    assert "HTTP 401" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_unreachable_api() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    unreachable = run("--api-url", url, "--api-key", "pwk_x", "webhooks", "show", "wh_1")
    assert unreachable.returncode == 1
    assert f"Cannot reach the API at {url}" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr


def test_missing_key_and_bad_url_are_usage_errors() -> None:
    missing = invoke(["webhooks", "list"])
    assert missing.exit_code == 2
    assert "No API key: pass --api-key or set PROMPTHA_WEBHOOKS_API_KEY" in missing.stderr
    bad_url = invoke(["--api-url", "localhost:8000", "--api-key", "pwk_x", "webhooks", "list"])
    assert bad_url.exit_code == 2 and "http://" in bad_url.stderr


def test_verify_reads_a_request_from_stdin(tmp_path: Path) -> None:
    body = b'{"event":"credits.low","data":{"remaining":1},"timestamp":1}'
    timestamp = int(time.time())
    request = tmp_path / "request.http"
    request.write_bytes(
        b"POST /webhooks HTTP/1.1\r\n"
        + f"x-promptha-timestamp: {timestamp}\r\n".encode()
        + f"x-promptha-signature: {signing.sign('whsec_s', timestamp, body)}\r\n".encode()
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    passed = run("verify", "--secret", "whsec_s", stdin=request)
    assert passed.returncode == 0 and "✓ valid" in passed.stdout
    failed = invoke(["verify", "--secret", "whsec_other"], input=request.read_bytes())
    assert failed.exit_code == 1 and "signature does not match" in failed.stdout
    from_env = invoke(["verify", str(request)], env={"PROMPTHA_WEBHOOKS_SECRET": "whsec_s"})
    assert from_env.exit_code == 0, from_env.output
