"""The operator commands kept from before the API commands: migrate, accounts create and keys
create work on the database directly, as they always did."""

from __future__ import annotations

import re
from pathlib import Path

from cli_support import invoke
from typer.testing import CliRunner

from promptha_webhooks.cli import app

from support import TEST_ENCRYPTION_KEYS


def run(database: Path, *args: str) -> tuple[int, str]:
    env = {
        "PROMPTHA_WEBHOOKS_DATABASE_URL": f"sqlite:///{database}",
        "PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,  # production mode needs it
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_migrate_accounts_and_keys(tmp_path: Path) -> None:
    database = tmp_path / "ops.db"
    code, output = run(database, "migrate")
    assert code == 0 and "Schema is current" in output
    code, output = run(database, "accounts", "create", "Acme Inc")
    assert code == 0, output
    # The key is pwk_ and URL-safe base64, which can start with "-".
    match = re.search(r"^account (acct_\w+)\napi key (pwk_[\w-]+)$", output, re.MULTILINE)
    assert match, output
    code, output = run(database, "keys", "create", "--account", match.group(1))
    assert code == 0 and output.strip().startswith("pwk_")
    code, output = run(database, "keys", "create", "--admin")
    assert code == 0 and output.strip().startswith("pwa_")
    code, output = run(database, "keys", "create")
    assert code == 2 and "Give exactly one of --account ACCT_ID or --admin" in output


def test_bad_configuration_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["migrate"], env={"PROMPTHA_WEBHOOKS_PORT": "0", "COLUMNS": "200"}
    )
    assert result.exit_code == 2 and "Configuration error" in result.output


def test_no_arguments_shows_help() -> None:
    result = invoke([])
    assert "Usage" in result.output and "webhooks" in result.output
