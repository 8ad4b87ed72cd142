"""`alerts show|set` against the real service: an account's alert contacts."""

from __future__ import annotations

import json

import pytest
from cli_support import Cli, invoke, new_cli

from support import ADMIN_KEY


@pytest.fixture
def cli(request: pytest.FixtureRequest) -> Cli:
    return new_cli(request)


def test_show_set_and_clear(cli: Cli) -> None:
    empty = cli("alerts", "show", "--json")
    assert empty.exit_code == 0, empty.output
    assert json.loads(empty.stdout)["emails"] == []
    with cli.client() as client:
        hook = client.webhooks.create("http://127.0.0.1:9/alerts", ["fabric.completed"])
    saved = cli(
        "alerts",
        "set",
        "--email",
        "ops@acme.example",
        "--email",
        "OPS@acme.example",
        "--email",
        "oncall@acme.example",
        "--webhook",
        hook.id,
        "--json",
    )
    assert saved.exit_code == 0, saved.output
    document = json.loads(saved.stdout)
    assert document["emails"] == ["ops@acme.example", "oncall@acme.example"]
    assert document["webhookId"] == hook.id

    table = cli("alerts", "show")
    assert table.exit_code == 0, table.output
    assert "ops@acme.example" in table.stdout and hook.id in table.stdout
    # the global --json works too; set without --webhook keeps the webhook
    kept = cli("--json", "alerts", "set", "--email", "new@acme.example")
    assert json.loads(kept.stdout) | {"updatedAt": None} == document | {
        "emails": ["new@acme.example"],
        "updatedAt": None,
    }
    cleared = cli("--json", "alerts", "set", "--no-webhook")
    assert json.loads(cleared.stdout)["emails"] == []
    assert json.loads(cleared.stdout)["webhookId"] is None

    # the admin key names the account
    account = document["accountId"]
    admin = ["--api-url", cli.url, "--api-key", ADMIN_KEY, "--json"]
    by_admin = invoke([*admin, "alerts", "show", "--account", account])
    assert by_admin.exit_code == 0, by_admin.output
    assert json.loads(by_admin.stdout)["accountId"] == account


def test_bad_input_is_one_line_and_changes_nothing(cli: Cli) -> None:
    assert cli("alerts", "set", "--email", "ops@acme.example").exit_code == 0
    for args in (
        ("--email", "not-an-address"),
        ("--webhook", "wh_nope"),
        ("--webhook", "wh_nope", "--no-webhook"),
    ):
        result = cli("alerts", "set", *args)
        assert result.exit_code != 0, args
        assert "Traceback" not in result.output
    assert json.loads(cli("--json", "alerts", "show").stdout)["emails"] == ["ops@acme.example"]
