"""`stats [WEBHOOK_ID] --window` and `webhooks recover --since/--until/--dry-run` against the real
service, with deliveries to a receiver on loopback (some accepted, some refused)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from cli_support import Cli, new_cli

from support import Receiver

LOW = {"remaining": 120, "threshold": 500, "userId": "user_7d2f"}
UNKNOWN_WEBHOOK = "wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC"


@pytest.fixture
def cli(request: pytest.FixtureRequest) -> Cli:
    return new_cli(request)


async def settled(cli: Cli, webhook_id: str, status: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        result = await cli.run("--json", "deliveries", "list", webhook_id, "--status", status)
        assert result.exit_code == 0, result.output
        found: list[dict[str, Any]] = json.loads(result.stdout)
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} {status}, wanted {count}"
        await asyncio.sleep(0.05)


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    return lines[0]


async def test_stats_of_a_webhook_and_of_the_account(cli: Cli, receiver: Receiver) -> None:
    # 200 for the first delivery, 410 (failed at once, no retry to wait for) for the second.
    receiver.script("/half", [200, 410])
    with cli.client() as client:
        hook = client.webhooks.create(receiver.url("/half"), ["credits.low"])
        client.events.publish("credits.low", LOW)
        await settled(cli, hook.id, "delivered", 1)
        client.events.publish("credits.low", LOW)
    await settled(cli, hook.id, "failed", 1)

    shown = json.loads((await cli.run("--json", "stats", hook.id)).stdout)
    assert shown["webhookId"] == hook.id
    assert [w["window"] for w in shown["windows"]] == ["1h", "24h", "7d"]
    hour = shown["windows"][0]
    assert (hour["attempts"], hour["delivered"], hour["failed"]) == (2, 1, 1)
    assert hour["successRate"] == 0.5 and hour["latency"]["p50Ms"] is not None
    assert shown["health"]["consecutiveFailures"] == 1

    one = json.loads((await cli.run("--json", "stats", hook.id, "--window", "7d")).stdout)
    assert [w["window"] for w in one["windows"]] == ["7d"]

    table = await cli.run("stats", hook.id, "--window", "1h")
    assert table.exit_code == 0, table.output
    assert "50.0%" in table.stdout and "consecutive failures" in table.stdout
    assert "24h" not in table.stdout.split("WINDOW", 1)[1]

    account = json.loads((await cli.run("--json", "stats", "--window", "1h")).stdout)
    assert (account["window"], account["attempts"], account["delivered"]) == ("1h", 2, 1)
    assert account["failuresByReason"] == [{"reason": "http_410", "count": 1}]
    default = json.loads((await cli.run("--json", "stats")).stdout)
    assert default["window"] == "24h" and default["attempts"] == 2
    summary = await cli.run("stats")
    assert summary.exit_code == 0, summary.output
    assert "50.0%" in summary.stdout and "http_410" in summary.stdout


async def test_stats_refusals_are_one_line(cli: Cli, request: pytest.FixtureRequest) -> None:
    for window in ("2h", "", "7d; rm -rf /", "\ud800"):
        bad = await cli.run("stats", "--window", window)
        assert bad.exit_code == 2, bad.output
        assert "--window wants one of 1h, 24h, 7d" in one_line_error(bad.stderr)
    unknown = await cli.run("stats", UNKNOWN_WEBHOOK)
    assert unknown.exit_code == 1
    assert f"No webhook {UNKNOWN_WEBHOOK}" in one_line_error(unknown.stderr)
    # Another account's webhook is not found either.
    other = new_cli(request)
    with other.client() as client:
        theirs = client.webhooks.create("http://127.0.0.1:9/x", ["credits.low"])
    for args in (("stats", theirs.id), ("webhooks", "recover", theirs.id, "--since", "1h")):
        result = await cli.run(*args)
        assert result.exit_code == 1
        assert f"No webhook {theirs.id} (not_found, HTTP 404)" in one_line_error(result.stderr)


async def test_recover_resends_failed_deliveries(cli: Cli, receiver: Receiver) -> None:
    # 404: failed at once for good (a 410 would also disable the webhook).
    receiver.script("/outage", [404, 404, 200])
    with cli.client() as client:
        hook = client.webhooks.create(receiver.url("/outage"), ["credits.low"])
        client.events.publish("credits.low", LOW)
        client.events.publish("credits.low", LOW)
    await settled(cli, hook.id, "failed", 2)

    dry = await cli.run("webhooks", "recover", hook.id, "--since", "1h", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would re-queue 2 failed or skipped deliveries" in dry.stdout
    counted = json.loads(
        (
            await cli.run("--json", "webhooks", "recover", hook.id, "--since", "1h", "--dry-run")
        ).stdout
    )
    assert counted["count"] == 2 and counted["dryRun"] is True
    assert len(await settled(cli, hook.id, "failed", 2)) == 2  # a dry run changes nothing

    # A range that ends before they were created holds none of them.
    none = json.loads(
        (
            await cli.run(
                "--json", "webhooks", "recover", hook.id, "--since", "2d", "--until", "1d"
            )
        ).stdout
    )
    assert none["count"] == 0 and none["until"] is not None

    done = await cli.run("webhooks", "recover", hook.id, "--since", "2026-01-01")
    assert done.exit_code == 0, done.output
    assert "Re-queued 2 failed or skipped deliveries" in done.stdout
    assert len(await settled(cli, hook.id, "delivered", 2)) == 2


async def test_recover_refusals_are_one_line(cli: Cli) -> None:
    with cli.client() as client:
        hook = client.webhooks.create("http://127.0.0.1:9/x", ["credits.low"])
    usage = [
        (("--since", "yesterday"), "--since wants a time"),
        (("--since", "99999999999d"), "--since wants a time"),
        (("--since", "-5m"), "--since wants a time"),
        (("--since", "1h", "--until", "2026-13-45"), "--until wants a time"),
        (("--since", "\ud800"), "--since wants a time"),
    ]
    for args, says in usage:
        result = await cli.run("webhooks", "recover", hook.id, *args)
        assert result.exit_code == 2, (args, result.output)
        assert says in one_line_error(result.stderr)
    refused = [
        (("--since", "1h", "--until", "2h"), "until must be after since"),
        (("--since", "2999-01-01T00:00:00Z"), "since is in the future"),
    ]
    for args, says in refused:
        result = await cli.run("webhooks", "recover", hook.id, *args)
        assert result.exit_code == 1, (args, result.output)
        assert says in one_line_error(result.stderr) and "HTTP 400" in result.stderr
    missing = await cli.run("webhooks", "recover", UNKNOWN_WEBHOOK, "--since", "1h")
    assert f"No webhook {UNKNOWN_WEBHOOK}" in one_line_error(missing.stderr)
