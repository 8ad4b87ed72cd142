"""`accounts list|show|delete` against the real service with the admin key: what the API's
/v1/accounts routes do, from the command line; refusals are one line."""

from __future__ import annotations

import json

import httpx
import pytest
from cli_support import Cli, new_cli

from support import ADMIN_KEY


@pytest.fixture
def admin(request: pytest.FixtureRequest) -> Cli:
    return Cli(new_cli(request).url, ADMIN_KEY)


def new_account(cli: Cli, name: str) -> tuple[str, str]:
    from promptha_webhooks.client import Client

    with Client(ADMIN_KEY, cli.url) as client:
        created = client.accounts.create(name)
    assert created.api_key.key is not None
    return created.account.id, created.api_key.key


def test_list_show_and_delete(admin: Cli) -> None:
    kept, _ = new_account(admin, "Kept Ltd")
    doomed, doomed_key = new_account(admin, "Doomed Inc")

    listed = json.loads(admin("--json", "accounts", "list").stdout)
    by_id = {item["id"]: item["name"] for item in listed}
    assert by_id[kept] == "Kept Ltd" and by_id[doomed] == "Doomed Inc"
    table = admin("accounts", "list")
    assert table.exit_code == 0 and kept in table.stdout and "Doomed Inc" in table.stdout

    shown = json.loads(admin("--json", "accounts", "show", doomed).stdout)
    assert shown["id"] == doomed and shown["name"] == "Doomed Inc"

    declined = admin("accounts", "delete", doomed, input="n\n")
    assert declined.exit_code == 1
    deleted = admin("accounts", "delete", doomed, "--yes")
    assert deleted.exit_code == 0, deleted.output
    headers = {"Authorization": f"Bearer {doomed_key}"}
    assert httpx.get(f"{admin.url}/v1/webhooks", headers=headers).status_code == 401
    remaining = {item["id"] for item in json.loads(admin("--json", "accounts", "list").stdout)}
    assert kept in remaining and doomed not in remaining


def test_refusals_are_one_line(admin: Cli) -> None:
    unknown = "acct_01JDQ40C8V0A2C4E6G8J0K2M4P"
    for args in (("accounts", "show", unknown), ("accounts", "delete", unknown, "--yes")):
        result = admin(*args)
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "HTTP 404" in lines[0], result.stderr
    account, key = new_account(admin, "Not an admin")
    as_account = Cli(admin.url, key)
    for args in (("accounts", "list"), ("accounts", "show", account)):
        refused = as_account(*args)
        assert refused.exit_code == 1 and "HTTP 403" in refused.stderr, refused.output
    hostile = admin("accounts", "show", "\ud800")
    assert hostile.exit_code in (1, 2) and "Traceback" not in hostile.output
