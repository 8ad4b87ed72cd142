"""Every command reports what the API or the service refused, and a connection it cannot make, as
one line on stderr and exit code 1: never a traceback. The commands are enumerated from the
Typer app, so a command added without its cases here fails `test_every_command_has_its_cases`.

Each case runs the real `python -m promptha_webhooks.cli` (its real entry point and stderr):
- refused: an unknown id (or, for a command that takes none, an unknown key or a bad name),
  against the running service or a fresh SQLite database;
- unreachable: the API on a free port (connection refused), or for the commands that work on
  the database directly, a PostgreSQL URL on a free port.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from cli_support import new_cli, service_url

from promptha_webhooks.cli import app
from promptha_webhooks.store.database import migrate_sync

from support import ADMIN_KEY, free_port

RUN_TIMEOUT_S = 60
PARALLEL_RUNS = 4
WEBHOOK = "wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC"
DELIVERY = "dlv_01JDQ40C8W2M5R7T9V1X3Z5B7D"
EVENT = "evt_01JDQ40C8V0A2C4E6G8J0K2M4P"
ACCOUNT = "acct_01JDQ40C8V0A2C4E6G8J0K2M4P"
KEY = "key_01JDQ40C8V0A2C4E6G8J0K2M4P"
CREDITS_LOW = '{"remaining": 1, "threshold": 10, "userId": "u"}'

# Where a run points: the service with an account key, with the admin key or with a key it does
# not know; the API on a free port; a fresh SQLite database; PostgreSQL on a free port.
ACCOUNT_KEY, ADMIN, UNKNOWN_KEY, DEAD_API, DATABASE, DEAD_DATABASE = (
    "account key",
    "admin key",
    "unknown key",
    "dead api",
    "database",
    "dead database",
)


@dataclass(frozen=True)
class Run:
    target: str
    args: tuple[str, ...]
    says: str  # what the one line must hold


@dataclass(frozen=True)
class Cases:
    refused: Run | None
    unreachable: Run | None
    not_applicable: str = ""  # why a case is None


def _api(args: tuple[str, ...], says: str, target: str = ACCOUNT_KEY) -> Cases:
    return Cases(Run(target, args, says), Run(DEAD_API, args, "Cannot reach the API at"))


def _database(refused: Run | None, args: tuple[str, ...], why: str = "") -> Cases:
    return Cases(refused, Run(DEAD_DATABASE, args, "Cannot use the database"), why)


NO_ID = "takes no id: the service refuses nothing it is given"
CASES: dict[str, Cases] = {
    "migrate": _database(None, ("migrate",), NO_ID),
    "serve": _database(None, ("serve",), NO_ID),
    "worker": _database(None, ("worker",), NO_ID),
    "accounts create": _database(
        Run(DATABASE, ("accounts", "create", "   "), "name must be 1-200 characters"),
        ("accounts", "create", "Acme"),
    ),
    "keys create": _database(
        Run(DATABASE, ("keys", "create", "--account", ACCOUNT), f"No account {ACCOUNT}"),
        ("keys", "create", "--account", ACCOUNT),
    ),
    "accounts list": _api(("accounts", "list"), "Invalid API key", UNKNOWN_KEY),
    "accounts show": _api(("accounts", "show", ACCOUNT), f"No account {ACCOUNT}", ADMIN),
    "accounts delete": _api(
        ("accounts", "delete", ACCOUNT, "--yes"), f"No account {ACCOUNT}", ADMIN
    ),
    "accounts portal-session": _api(
        ("accounts", "portal-session", ACCOUNT), f"No account {ACCOUNT}", ADMIN
    ),
    "keys list": _api(("keys", "list", "--account", ACCOUNT), f"No account {ACCOUNT}", ADMIN),
    "keys revoke": _api(
        ("keys", "revoke", KEY, "--account", ACCOUNT, "--yes"), f"No API key {KEY}", ADMIN
    ),
    "stats": _api(("stats", WEBHOOK), f"No webhook {WEBHOOK}"),
    "webhooks recover": _api(
        ("webhooks", "recover", WEBHOOK, "--since", "1h"), f"No webhook {WEBHOOK}"
    ),
    "webhooks list": _api(("webhooks", "list"), "Invalid API key", UNKNOWN_KEY),
    "webhooks show": _api(("webhooks", "show", WEBHOOK), f"No webhook {WEBHOOK}"),
    "webhooks create": _api(
        ("webhooks", "create", "http://127.0.0.1:9/", "-e", "credits.low"),
        "Invalid API key",
        UNKNOWN_KEY,
    ),
    "webhooks update": _api(("webhooks", "update", WEBHOOK, "--disable"), f"No webhook {WEBHOOK}"),
    "webhooks delete": _api(("webhooks", "delete", WEBHOOK, "--yes"), f"No webhook {WEBHOOK}"),
    "webhooks secret": _api(("webhooks", "secret", WEBHOOK), f"No webhook {WEBHOOK}"),
    "webhooks rotate-secret": _api(("webhooks", "rotate-secret", WEBHOOK), f"No webhook {WEBHOOK}"),
    "webhooks public-key": _api(("webhooks", "public-key", WEBHOOK), f"No webhook {WEBHOOK}"),
    "webhooks headers": _api(("webhooks", "headers", WEBHOOK), f"No webhook {WEBHOOK}"),
    "webhooks test": _api(("webhooks", "test", WEBHOOK), f"No webhook {WEBHOOK}"),
    "webhooks test-filter": _api(
        ("webhooks", "test-filter", "-t", "fabric.completed"), "Invalid API key", UNKNOWN_KEY
    ),
    "deliveries list": _api(("deliveries", "list", WEBHOOK), f"No webhook {WEBHOOK}"),
    "deliveries show": _api(("deliveries", "show", DELIVERY), f"No delivery {DELIVERY}"),
    "deliveries retry": _api(("deliveries", "retry", DELIVERY), f"No delivery {DELIVERY}"),
    "deliveries cancel": _api(("deliveries", "cancel", DELIVERY), f"No delivery {DELIVERY}"),
    "deliveries resend": _api(
        ("deliveries", "resend", "--failed", "--webhook", WEBHOOK), f"No webhook {WEBHOOK}"
    ),
    # `events publish` and `trigger` send an Idempotency-Key: a typo'd account is still a 404.
    "events publish": _api(
        ("events", "publish", "credits.low", "--data", CREDITS_LOW, "--account", ACCOUNT),
        f"No account {ACCOUNT}",
        ADMIN,
    ),
    "events show": _api(("events", "show", EVENT), f"No event {EVENT}"),
    "events cancel": _api(("events", "cancel", EVENT), f"No event {EVENT}"),
    "events list": _api(("events", "list"), "Invalid API key", UNKNOWN_KEY),
    "events types": _api(("events", "types"), "Invalid API key", UNKNOWN_KEY),
    "alerts show": _api(("alerts", "show", "--account", ACCOUNT), f"No account {ACCOUNT}", ADMIN),
    "alerts set": _api(
        ("alerts", "set", "--email", "a@b.example", "--webhook", WEBHOOK), f"No webhook {WEBHOOK}"
    ),
    "trigger": _api(
        ("trigger", "credits.low", "--account", ACCOUNT), f"No account {ACCOUNT}", ADMIN
    ),
    "listen": _api(
        ("listen", "--forward-to", "http://127.0.0.1:9/"), "Invalid API key", UNKNOWN_KEY
    ),
    "verify": Cases(None, None, "works offline on a captured request: no id, no API, no database"),
    "ips": Cases(
        None,
        Run(DEAD_API, ("ips",), "Cannot reach the API at"),
        "public, takes no id and no key: the service refuses nothing it is given",
    ),
    "secrets reencrypt": _database(None, ("secrets", "reencrypt"), NO_ID),
}


def leaf_commands() -> list[str]:
    """Every command of the app that runs something, as the words that invoke it."""
    found: list[str] = []

    def walk(path: str, command: Any) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(f"{path} {name}".strip(), sub)
        else:
            found.append(path)

    walk("", typer.main.get_command(app))
    return found


def test_every_command_has_its_cases() -> None:
    assert sorted(leaf_commands()) == sorted(CASES)
    for command, cases in CASES.items():
        if cases.refused is None or cases.unreachable is None:
            assert cases.not_applicable, f"{command}: say why a case does not apply"


@dataclass(frozen=True)
class Places:
    api: str
    account_key: str
    database: str
    dead_api: str
    dead_database: str


def _command_line(run: Run, places: Places) -> tuple[list[str], dict[str, str]]:
    env = {"PROMPTHA_WEBHOOKS_MODE": "development"}
    options: list[str] = []
    if run.target in (DATABASE, DEAD_DATABASE):
        url = places.database if run.target == DATABASE else places.dead_database
        env["PROMPTHA_WEBHOOKS_DATABASE_URL"] = url
    else:
        key = {ACCOUNT_KEY: places.account_key, ADMIN: ADMIN_KEY}.get(run.target, "pwk_unknown")
        url = places.dead_api if run.target == DEAD_API else places.api
        options = ["--api-url", url, "--api-key", key]
    return [*options, *run.args], env


def _run(run: Run, places: Places) -> subprocess.CompletedProcess[str]:
    args, env = _command_line(run, places)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")}
    return subprocess.run(
        [sys.executable, "-m", "promptha_webhooks.cli", *args],
        env=clean | env | {"COLUMNS": "80", "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        cwd=Path(places.database.removeprefix("sqlite:///")).parent,
    )


@pytest.fixture
def places(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Places]:
    database = f"sqlite:///{tmp_path / 'operators.db'}"
    migrate_sync(database)  # once, before the runs that share it
    yield Places(
        api=service_url(request),
        account_key=new_cli(request).key,
        database=database,
        dead_api=f"http://127.0.0.1:{free_port()}",
        dead_database=f"postgresql://postgres@127.0.0.1:{free_port()}/nothing",
    )


def test_each_command_fails_in_one_line(places: Places) -> None:
    runs = [
        (command, kind, run)
        for command, cases in CASES.items()
        for kind, run in (("refused", cases.refused), ("unreachable", cases.unreachable))
        if run is not None
    ]
    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        results = list(pool.map(lambda item: _run(item[2], places), runs))
    problems = []
    for (command, kind, run), result in zip(runs, results, strict=True):
        lines = result.stderr.strip().splitlines()
        if (
            result.returncode != 1
            or "Traceback" in result.stderr
            or len(lines) != 1
            or not lines[0].startswith("Error: ")
            or run.says not in lines[0]
        ):
            problems.append(f"{command} ({kind}): exit {result.returncode}\n{result.stderr}")
    assert not problems, "\n\n".join(problems)


def test_json_mode_reports_the_error_as_one_json_line(places: Places) -> None:
    run = Run(DATABASE, ("--json", "keys", "create", "--account", ACCOUNT), "")
    result = _run(run, places)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        '{"error": {"type": "not_found", "message": "No account '
        + ACCOUNT
        + '", "field": null, "status": null}}'
    )
