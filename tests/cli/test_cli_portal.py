"""`accounts portal-session`: a one-time customer-portal URL through the API (admin key), as a
table or JSON; the URL opens the dashboard once; bad options are one clear line."""

from __future__ import annotations

import json

import httpx
import pytest
from cli_support import Cli, invoke, service_url

from promptha_webhooks.client import Client

from support import ADMIN_KEY


@pytest.fixture
def admin_cli(request: pytest.FixtureRequest) -> tuple[Cli, str]:
    url = service_url(request)
    with Client(ADMIN_KEY, url) as admin:
        account = admin.accounts.create("Portal CLI").account.id
    return Cli(url, ADMIN_KEY), account


def test_portal_session_json_and_table(admin_cli: tuple[Cli, str]) -> None:
    cli, account = admin_cli
    result = cli(
        "--json",
        "accounts",
        "portal-session",
        account,
        "--ttl",
        "2h",
        "--read-only",
        "--primary-color",
        "#0a7d4f",
        "--dark",
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert created["readOnly"] is True and created["object"] == "portal_session"
    # The URL opens once.
    opened = httpx.get(created["url"])
    assert opened.status_code == 303 and opened.headers["location"] == "/dashboard/webhooks"
    assert httpx.get(created["url"]).status_code == 410

    table = cli("accounts", "portal-session", account)
    assert table.exit_code == 0, table.output
    assert "/dashboard/portal?token=" in table.stdout and "Read-only" in table.stdout


def test_portal_session_refusals(admin_cli: tuple[Cli, str]) -> None:
    cli, account = admin_cli
    too_long = cli("accounts", "portal-session", account, "--ttl", "25h")
    assert too_long.exit_code == 1 and "ttlSeconds" in too_long.output
    colour = cli("accounts", "portal-session", account, "--primary-color", "green")
    assert colour.exit_code == 1 and "primaryColor" in colour.output
    unknown = cli("accounts", "portal-session", "acct_00000000000000000000000000")
    assert unknown.exit_code == 1
    bad_ttl = cli("accounts", "portal-session", account, "--ttl", "soon")
    assert bad_ttl.exit_code == 2
    no_key = invoke(["--api-url", cli.url, "accounts", "portal-session", account])
    assert no_key.exit_code != 0
