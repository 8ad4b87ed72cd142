"""`keys list|create|revoke` against the real service: the admin key manages an account's keys
with --account; a key is shown once and works at once; a revoked one stops working; another
account's key, an unknown account and an account key on the admin routes are refused in one
line; an account key manages its own account's keys without --account."""

from __future__ import annotations

import json

import httpx
import pytest
from cli_support import Cli, new_cli

from support import ADMIN_KEY


@pytest.fixture
def admin(request: pytest.FixtureRequest) -> Cli:
    account = new_cli(request)
    return Cli(account.url, ADMIN_KEY)


def new_account(cli: Cli) -> tuple[str, str]:
    """A fresh account's id and first key, made through the CLI's own service."""
    from promptha_webhooks.client import Client

    with Client(ADMIN_KEY, cli.url) as client:
        created = client.accounts.create("Keys")
    assert created.api_key.key is not None
    return created.account.id, created.api_key.key


def works(url: str, key: str) -> int:
    return httpx.get(f"{url}/v1/webhooks", headers={"Authorization": f"Bearer {key}"}).status_code


def test_create_list_and_revoke(admin: Cli) -> None:
    account, first_key = new_account(admin)

    listed = admin("--json", "keys", "list", "--account", account)
    assert listed.exit_code == 0, listed.output
    (only,) = json.loads(listed.stdout)
    assert only["accountId"] == account and only["key"] is None
    assert first_key.startswith(only["prefix"])

    created = admin("keys", "create", "--account", account)
    assert created.exit_code == 0, created.output
    new_key = created.stdout.strip()
    assert new_key.startswith("pwk_") and "\n" not in new_key
    assert "shown once" in created.stderr
    assert works(admin.url, new_key) == 200

    table = admin("keys", "list", "--account", account)
    assert table.exit_code == 0, table.output
    assert only["id"] in table.stdout and new_key[:12] in table.stdout
    assert new_key not in table.stdout and first_key not in table.stdout  # never shown again

    as_json = admin("--json", "keys", "create", "--account", account)
    minted = json.loads(as_json.stdout)
    assert minted["key"].startswith("pwk_") and minted["accountId"] == account
    ids = {
        key["id"]
        for key in json.loads(admin("--json", "keys", "list", "--account", account).stdout)
    }
    assert minted["id"] in ids and len(ids) == 3

    revoked = admin("keys", "revoke", minted["id"], "--account", account, "--yes")
    assert revoked.exit_code == 0, revoked.output
    assert f"Revoked {minted['id']}" in revoked.stdout
    assert works(admin.url, minted["key"]) == 401
    assert works(admin.url, new_key) == 200  # the others keep working
    after = json.loads(admin("--json", "keys", "list", "--account", account).stdout)
    assert minted["id"] not in {key["id"] for key in after}


def test_revoke_asks_first(admin: Cli) -> None:
    account, key = new_account(admin)
    (listed,) = json.loads(admin("--json", "keys", "list", "--account", account).stdout)
    declined = admin("keys", "revoke", listed["id"], "--account", account, input="n\n")
    assert declined.exit_code == 1 and works(admin.url, key) == 200
    accepted = admin("keys", "revoke", listed["id"], "--account", account, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert works(admin.url, key) == 401


def one_line_error(result_stderr: str) -> str:
    lines = result_stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result_stderr
    return lines[0]


def test_another_accounts_key_looks_not_found_and_stays(admin: Cli) -> None:
    mine, _ = new_account(admin)
    theirs, their_key = new_account(admin)
    (their_listed,) = json.loads(admin("--json", "keys", "list", "--account", theirs).stdout)
    result = admin("keys", "revoke", their_listed["id"], "--account", mine, "--yes")
    assert result.exit_code == 1
    assert f"No API key {their_listed['id']}" in one_line_error(result.stderr)
    assert "HTTP 404" in result.stderr
    assert works(admin.url, their_key) == 200


def test_refusals_are_one_line(admin: Cli) -> None:
    unknown = "acct_01JDQ40C8V0A2C4E6G8J0K2M4P"
    for args in (("keys", "list", "--account", unknown), ("keys", "create", "--account", unknown)):
        result = admin(*args)
        assert result.exit_code == 1, result.output
        assert f"No account {unknown}" in one_line_error(result.stderr)

    account, account_key = new_account(admin)
    as_account = Cli(admin.url, account_key)
    # An account key cannot use the admin routes...
    refused = as_account("keys", "list", "--account", account)
    assert refused.exit_code == 1 and "HTTP 403" in one_line_error(refused.stderr)

    both = admin("keys", "create", "--account", account, "--admin")
    assert both.exit_code == 2 and "not both" in one_line_error(both.stderr)

    for hostile in ("\ud800", "x" * 5000, "../../v1/accounts", "%2F"):
        result = admin("keys", "list", "--account", hostile)
        assert result.exit_code == 1, (hostile[:20], result.output)
        assert "Traceback" not in result.output
        line = one_line_error(result.stderr)
        assert "(not_found, HTTP 404)" in line or "(invalid_request" in line, line


def test_an_account_key_manages_its_own_keys(admin: Cli) -> None:
    """Without --account, an account key lists, creates and revokes its own account's keys
    (/v1/keys), and another account's key id is not found."""
    account, key = new_account(admin)
    as_account = Cli(admin.url, key)
    (mine,) = json.loads(as_account("--json", "keys", "list").stdout)
    assert mine["accountId"] == account
    created = as_account("keys", "create")
    assert created.exit_code == 0, created.output
    new_key = created.stdout.strip()
    assert new_key.startswith("pwk_") and works(admin.url, new_key) == 200
    listed = json.loads(as_account("--json", "keys", "list").stdout)
    assert len(listed) == 2
    other, other_key = new_account(admin)
    (theirs,) = json.loads(admin("--json", "keys", "list", "--account", other).stdout)
    refused = as_account("keys", "revoke", theirs["id"], "--yes")
    assert refused.exit_code == 1 and "HTTP 404" in one_line_error(refused.stderr)
    assert works(admin.url, other_key) == 200
    [fresh] = [item for item in listed if item["id"] != mine["id"]]
    revoked = as_account("keys", "revoke", fresh["id"], "--yes")
    assert revoked.exit_code == 0, revoked.output
    assert works(admin.url, new_key) == 401 and works(admin.url, key) == 200
