"""`webhooks …` against the real service: create, list, show, update, secret, delete, test."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from cli_support import Cli, new_cli

from promptha_webhooks import signing, signing_standard
from promptha_webhooks.catalog import EVENT_NAMES

from support import Receiver


@pytest.fixture
def cli(request: pytest.FixtureRequest) -> Cli:
    return new_cli(request)


def test_create_list_show_update_delete(cli: Cli) -> None:
    created = cli(
        "--json",
        "webhooks",
        "create",
        "http://127.0.0.1:9/hooks",
        "-e",
        "fabric.completed,fabric.failed",
        "-e",
        "fabric.started",
        "--filter",
        "fabricId=product-description,seo-optimizer",
        "--description",
        "orders",
    )
    assert created.exit_code == 0, created.output
    hook = json.loads(created.stdout)
    assert hook["events"] == ["fabric.completed", "fabric.failed", "fabric.started"]
    assert hook["filters"] == {"fabricId": ["product-description", "seo-optimizer"]}
    assert hook["secret"].startswith("whsec_")

    table = cli("webhooks", "list")
    assert table.exit_code == 0, table.output
    assert hook["id"] in table.stdout and "http://127.0.0.1:9/hooks" in table.stdout
    listed = json.loads(cli("--json", "webhooks", "list", "--all").stdout)
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0]

    shown = cli("webhooks", "show", hook["id"])
    assert "orders" in shown.stdout and "fabricId" in shown.stdout

    updated = cli(
        "--json", "webhooks", "update", hook["id"], "--disable", "--url", "http://127.0.0.1:9/v2"
    )
    assert updated.exit_code == 0, updated.output
    assert json.loads(updated.stdout)["enabled"] is False
    assert json.loads(updated.stdout)["url"] == "http://127.0.0.1:9/v2"

    rotated = cli("--json", "webhooks", "update", hook["id"], "--rotate-secret", "--clear-filters")
    document = json.loads(rotated.stdout)
    assert document["filters"] is None
    assert document["secret"].startswith("whsec_") and document["secret"] != hook["secret"]
    secret = cli("webhooks", "secret", hook["id"])
    assert secret.stdout.strip() == document["secret"]

    kept = cli("webhooks", "delete", hook["id"], input="n\n")
    assert kept.exit_code == 1  # declined: aborted
    assert cli("webhooks", "show", hook["id"]).exit_code == 0
    deleted = cli("webhooks", "delete", hook["id"], "--yes")
    assert deleted.exit_code == 0 and f"Deleted {hook['id']}" in deleted.stdout
    gone = cli("webhooks", "show", hook["id"])
    assert gone.exit_code == 1
    assert f"No webhook {hook['id']}" in gone.stderr
    assert "not_found" in gone.stderr and "Traceback" not in gone.output


def test_all_events_and_json_filter_values(cli: Cli) -> None:
    result = cli(
        "--json",
        "webhooks",
        "create",
        "http://127.0.0.1:9/all",
        "-e",
        "all",
        "--filter",
        "tier=[5000, 10000]",
    )
    assert result.exit_code == 0, result.output
    hook = json.loads(result.stdout)
    assert set(hook["events"]) == EVENT_NAMES
    assert hook["filters"] == {"tier": [5000, 10000]}


def test_usage_errors_exit_2_and_api_errors_exit_1(cli: Cli) -> None:
    no_events = cli("webhooks", "create", "http://127.0.0.1:9/x")
    assert no_events.exit_code == 2 and "--event" in no_events.stderr
    bad_filter = cli(
        "webhooks", "create", "http://127.0.0.1:9/x", "-e", "ask.message", "--filter", "x"
    )
    assert bad_filter.exit_code == 2 and "KEY=VALUE" in bad_filter.output
    nothing = cli("webhooks", "update", "wh_x")
    assert nothing.exit_code == 2 and "Nothing to change" in nothing.stderr
    unknown = cli("webhooks", "create", "http://127.0.0.1:9/x", "-e", "fabric.exploded")
    assert unknown.exit_code == 1
    assert "Unknown event type 'fabric.exploded'" in unknown.stderr
    assert "field events[0]" in unknown.stderr and "HTTP 400" in unknown.stderr


async def test_test_command_reports_the_receivers_answer(cli: Cli, receiver: Receiver) -> None:
    receiver.script("/broken", [500])
    with cli.client() as client:
        good = client.webhooks.create(receiver.url("/ok"), ["fabric.completed"])
        bad = client.webhooks.create(receiver.url("/broken"), ["fabric.completed"])

    ok = await cli.run(
        "webhooks",
        "test",
        good.id,
        "--data",
        '{"executionId": "test_123", "result": {"output": "Test result"}}',
    )
    assert ok.exit_code == 0, ok.output
    assert "delivered" in ok.stdout and "HTTP 200" in ok.stdout
    (request,) = receiver.on("/ok")
    signing.verify(request.body, request.headers, good.secret.get_secret_value())
    body = json.loads(request.body)
    assert body["data"]["executionId"] == "test_123"
    assert body["data"]["fabricId"] == "product-description"  # filled from the sample

    failed = await cli.run("--json", "webhooks", "test", bad.id, "-e", "fabric.completed")
    assert failed.exit_code == 1
    result = json.loads(failed.stdout)
    assert result["success"] is False
    assert result["delivery"]["attempts"][0]["responseStatus"] == 500


def test_max_concurrency(cli: Cli) -> None:
    created = cli(
        "--json",
        "webhooks",
        "create",
        "http://127.0.0.1:9/cap",
        "-e",
        "fabric.completed",
        "--max-concurrency",
        "2",
    )
    assert created.exit_code == 0, created.output
    hook = json.loads(created.stdout)
    assert hook["maxConcurrency"] == 2
    updated = cli("--json", "webhooks", "update", hook["id"], "--max-concurrency", "7")
    assert updated.exit_code == 0, updated.output
    assert json.loads(updated.stdout)["maxConcurrency"] == 7
    refused = cli("webhooks", "update", hook["id"], "--max-concurrency", "0")
    assert refused.exit_code != 0
    assert "maxConcurrency" in refused.output
    shown = json.loads(cli("--json", "webhooks", "show", hook["id"]).stdout)
    assert shown["maxConcurrency"] == 7


def test_rate_limit_and_ordering(cli: Cli) -> None:
    created = cli(
        "--json",
        "webhooks",
        "create",
        "http://127.0.0.1:9/paced",
        "-e",
        "fabric.completed",
        "--rate-limit",
        "20",
        "--ordering",
        "fifo",
    )
    assert created.exit_code == 0, created.output
    hook = json.loads(created.stdout)
    assert (hook["rateLimit"], hook["ordering"]) == (20, "fifo")
    shown = cli("webhooks", "show", hook["id"])
    assert "20/s" in shown.stdout and "fifo" in shown.stdout
    updated = cli("--json", "webhooks", "update", hook["id"], "--rate-limit", "5")
    assert json.loads(updated.stdout)["rateLimit"] == 5
    updated = cli(
        "--json", "webhooks", "update", hook["id"], "--no-rate-limit", "--ordering", "none"
    )
    assert updated.exit_code == 0, updated.output
    assert (json.loads(updated.stdout)["rateLimit"], json.loads(updated.stdout)["ordering"]) == (
        None,
        "none",
    )
    refused = cli("webhooks", "update", hook["id"], "--rate-limit", "0")
    assert refused.exit_code != 0 and "rateLimit" in refused.output
    both = cli("webhooks", "update", hook["id"], "--rate-limit", "3", "--no-rate-limit")
    assert both.exit_code != 0
    wrong = cli("webhooks", "update", hook["id"], "--ordering", "lifo")
    assert wrong.exit_code != 0


def test_rotate_secret_with_a_grace_period_then_complete(cli: Cli) -> None:
    created = cli("--json", "webhooks", "create", "http://127.0.0.1:9/x", "-e", "fabric.completed")
    hook = json.loads(created.stdout)

    rotated = cli("--json", "webhooks", "rotate-secret", hook["id"], "--grace-period", "2h")
    assert rotated.exit_code == 0, rotated.output
    rotation = json.loads(rotated.stdout)
    assert rotation["webhookId"] == hook["id"] and rotation["secret"] != hook["secret"]
    expires = datetime.fromisoformat(rotation["previousSecretExpiresAt"])
    shown = json.loads(cli("--json", "webhooks", "show", hook["id"]).stdout)
    assert datetime.fromisoformat(shown["previousSecretExpiresAt"]) == expires
    assert cli("webhooks", "secret", hook["id"]).stdout.strip() == rotation["secret"]

    given = "whsec_cli_given_secret_0123"
    table = cli("webhooks", "rotate-secret", hook["id"], "--secret", given, "--grace-period", "90")
    assert table.exit_code == 0, table.output
    assert given in table.stdout and "old secret signs until" in table.stdout
    assert "--complete" in table.stderr

    done = cli("--json", "webhooks", "rotate-secret", hook["id"], "--complete")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["previousSecretExpiresAt"] is None

    at_once = cli("--json", "webhooks", "rotate-secret", hook["id"], "--grace-period", "0")
    assert json.loads(at_once.stdout)["previousSecretExpiresAt"] is None


def test_rotate_secret_usage_and_api_errors(cli: Cli) -> None:
    created = cli("--json", "webhooks", "create", "http://127.0.0.1:9/x", "-e", "fabric.completed")
    hook_id = json.loads(created.stdout)["id"]
    bad = cli("webhooks", "rotate-secret", hook_id, "--grace-period", "soon")
    assert bad.exit_code == 2 and "24h" in bad.output
    both = cli("webhooks", "rotate-secret", hook_id, "--complete", "--grace-period", "1h")
    assert both.exit_code == 2 and "--complete" in both.stderr
    too_long = cli("webhooks", "rotate-secret", hook_id, "--grace-period", "8d")
    assert too_long.exit_code == 1 and "gracePeriodSeconds" in too_long.stderr
    unknown = cli("webhooks", "rotate-secret", "wh_06H4A8CTXDFPPP34W9NY7DWDTW")
    assert unknown.exit_code == 1 and "HTTP 404" in unknown.stderr


def test_signature_format_algorithm_and_public_key(cli: Cli) -> None:
    created = cli(
        "--json",
        "webhooks",
        "create",
        "http://127.0.0.1:9/std",
        "-e",
        "fabric.completed",
        "--signature-format",
        "standard",
        "--signature-algorithm",
        "ed25519",
    )
    assert created.exit_code == 0, created.output
    hook = json.loads(created.stdout)
    assert (hook["signatureFormat"], hook["signatureAlgorithm"]) == ("standard", "ed25519")
    assert hook["secret"].startswith("whsk_")

    shown = cli("webhooks", "public-key", hook["id"])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.strip() == signing_standard.public_key(hook["secret"])
    as_json = json.loads(cli("--json", "webhooks", "public-key", hook["id"]).stdout)
    assert as_json["publicKey"] == shown.stdout.strip()
    details = cli("webhooks", "show", hook["id"])
    assert "standard, ed25519" in details.stdout

    # Back to promptha: the signing key does not fit, the API says what to add.
    refused = cli("webhooks", "update", hook["id"], "--signature-format", "promptha")
    assert refused.exit_code != 0
    assert "--rotate-secret" not in refused.output  # the API's words, not the CLI's
    assert "secret" in refused.output
    updated = cli(
        "--json",
        "webhooks",
        "update",
        hook["id"],
        "--signature-format",
        "promptha",
        "--rotate-secret",
    )
    assert updated.exit_code == 0, updated.output
    changed = json.loads(updated.stdout)
    assert (changed["signatureFormat"], changed["signatureAlgorithm"]) == (
        "promptha",
        "hmac-sha256",
    )
    assert changed["secret"].startswith("whsec_")
    conflict = cli("webhooks", "public-key", hook["id"])
    assert conflict.exit_code != 0
    assert "hmac-sha256" in conflict.output
    bad = cli(
        "webhooks",
        "create",
        "http://127.0.0.1:9/x",
        "-e",
        "fabric.completed",
        "--signature-format",
        "svix",
    )
    assert bad.exit_code != 0


def test_patterns_where_and_test_filter(cli: Cli) -> None:
    where = '{"data.usage.totalTokens": {"$gt": 1000}}'
    created = cli(
        "--json", "webhooks", "create", "http://127.0.0.1:9/big", "-e", "fabric.completed",
        "--filter", "fabricId=f", "--where", where,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    hook = json.loads(created.stdout)
    assert hook["filters"] == {"fabricId": ["f"], "data.usage.totalTokens": {"$gt": 1000}}
    patterns = cli("--json", "webhooks", "update", hook["id"], "-e", "fabric.*", "--clear-filters")
    assert patterns.exit_code == 0, patterns.output
    assert json.loads(patterns.stdout)["events"] == ["fabric.*"]
    bad = cli("webhooks", "update", hook["id"], "--where", '{"usage.nope": {"$gt": 1}}')
    assert bad.exit_code != 0 and "filters.usage.nope.$gt" in bad.output

    payload = '{"executionId": "e", "fabricId": "f", "result": 1, "usage": {"totalTokens": 40}}'
    failed = cli("webhooks", "test-filter", "-t", "fabric.completed", "--where", where,
                 "--data", payload)  # fmt: skip
    assert failed.exit_code == 1, failed.output
    assert "does not match" in failed.stdout
    assert "filters.data.usage.totalTokens.$gt" in failed.stdout
    assert "data.usage.totalTokens is 40" in failed.stdout
    matched = cli("--json", "webhooks", "test-filter", "-t", "fabric.completed",
                  "-e", "fabric.completed", "--where", where,
                  "--data", payload.replace("40", "4000"))  # fmt: skip
    assert matched.exit_code == 0, matched.output
    assert json.loads(matched.stdout) == {
        "object": "filter_test", "matches": True, "failedClause": None, "message": None,
    }  # fmt: skip
    other = cli("webhooks", "test-filter", "-t", "credits.low", "-e", "fabric.*")
    assert other.exit_code == 1 and "events" in other.stdout


async def test_headers_retry_schedule_and_timeout(cli: Cli, receiver: Receiver) -> None:
    created = cli(
        "--json",
        "webhooks",
        "create",
        receiver.url("/gw"),
        "-e",
        "fabric.completed",
        "--header",
        "X-Api-Key: gw_123",
        "-H",
        "X-Tenant=acme",
        "--retry-schedule",
        "5s,30s,5m",
        "--timeout",
        "10",
    )
    assert created.exit_code == 0, created.output
    hook = json.loads(created.stdout)
    assert hook["headerNames"] == ["X-Api-Key", "X-Tenant"]
    assert hook["retrySchedule"] == [5, 30, 300]
    assert hook["timeoutSeconds"] == 10
    shown = cli("webhooks", "show", hook["id"])
    assert "X-Api-Key, X-Tenant" in shown.stdout and "gw_123" not in shown.stdout
    assert "5s, 30s, 300s" in shown.stdout and "10s" in shown.stdout
    revealed = cli("webhooks", "headers", hook["id"])
    assert revealed.exit_code == 0, revealed.output
    assert revealed.stdout.splitlines() == ["X-Api-Key: gw_123", "X-Tenant: acme"]

    sent = await cli.run("webhooks", "test", hook["id"], "-e", "fabric.completed")
    assert sent.exit_code == 0, sent.output
    (request,) = receiver.on("/gw")
    assert (request.headers["X-Api-Key"], request.headers["X-Tenant"]) == ("gw_123", "acme")

    updated = cli(
        "--json",
        "webhooks",
        "update",
        hook["id"],
        "--header",
        "X-Only: 1",
        "--retry-schedule",
        "none",
        "--default-timeout",
    )
    assert updated.exit_code == 0, updated.output
    document = json.loads(updated.stdout)
    assert document["headerNames"] == ["X-Only"]
    assert document["retrySchedule"] == []
    assert document["timeoutSeconds"] is None
    reset = cli(
        "--json", "webhooks", "update", hook["id"], "--clear-headers", "--default-retry-schedule"
    )
    assert reset.exit_code == 0, reset.output
    assert json.loads(reset.stdout)["headerNames"] == []
    assert json.loads(reset.stdout)["retrySchedule"] is None

    refused = cli("webhooks", "update", hook["id"], "--header", "Host: evil")
    assert refused.exit_code == 1 and "headers.Host" in refused.stderr
    too_long = cli("webhooks", "update", hook["id"], "--retry-schedule", "2d,2d")
    assert too_long.exit_code == 1 and "retrySchedule" in too_long.stderr
    no_value = cli("webhooks", "update", hook["id"], "--header", "X-Nothing")
    assert no_value.exit_code == 2 and "NAME:VALUE" in no_value.output
    bad_delay = cli("webhooks", "update", hook["id"], "--retry-schedule", "5x")
    assert bad_delay.exit_code == 2 and "--retry-schedule" in bad_delay.output
    both = cli("webhooks", "update", hook["id"], "--timeout", "5", "--default-timeout")
    assert both.exit_code == 2
