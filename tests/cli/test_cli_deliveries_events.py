"""`deliveries list|show|retry` and `events publish|show|types` against the real service."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli, new_cli

from support import Receiver

LOW = {"remaining": 120, "threshold": 500, "userId": "user_7d2f"}


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


async def test_list_show_and_retry(cli: Cli, receiver: Receiver) -> None:
    receiver.script("/flaky", [410, 200])  # 410: failed at once, no retries to wait for
    with cli.client() as client:
        hook = client.webhooks.create(receiver.url("/flaky"), ["credits.low", "fabric.failed"])
        event = client.events.publish("credits.low", LOW)
    (failed,) = await settled(cli, hook.id, "failed", 1)
    assert failed["eventId"] == event.id and failed["attemptCount"] == 1

    table = await cli.run("deliveries", "list", hook.id)
    assert failed["id"] in table.stdout and "failed" in table.stdout and "HTTP 410" in table.stdout
    none = await cli.run("deliveries", "list", hook.id, "--event", "fabric.failed")
    assert none.exit_code == 0 and "No deliveries match" in none.stderr

    shown = await cli.run("deliveries", "show", failed["id"])
    assert shown.exit_code == 0, shown.output
    assert "answer 410" in shown.stdout and '"userId": "user_7d2f"' in shown.stdout
    detail = json.loads((await cli.run("--json", "deliveries", "show", failed["id"])).stdout)
    assert [a["responseStatus"] for a in detail["attempts"]] == [410]

    retried = await cli.run("deliveries", "retry", failed["id"])
    assert retried.exit_code == 0, retried.output
    assert "Attempt 2: delivered" in retried.stdout
    assert len(await settled(cli, hook.id, "delivered", 1)) == 1

    again = await cli.run("--json", "deliveries", "retry", failed["id"])
    assert json.loads(again.stdout)["attempts"][-1]["trigger"] == "manual"


async def test_retry_that_fails_exits_1(cli: Cli, receiver: Receiver) -> None:
    receiver.script("/down", [404])
    with cli.client() as client:
        hook = client.webhooks.create(receiver.url("/down"), ["credits.low"])
        client.events.publish("credits.low", LOW)
    (failed,) = await settled(cli, hook.id, "failed", 1)
    result = await cli.run("deliveries", "retry", failed["id"])
    assert result.exit_code == 1
    assert "failed" in result.stdout and "HTTP 404" in result.stdout


def test_unknown_delivery_is_an_api_error(cli: Cli) -> None:
    result = cli("deliveries", "show", "dlv_nope")
    assert result.exit_code == 1
    assert "No delivery dlv_nope" in result.stderr and "Traceback" not in result.output
    as_json = cli("--json", "deliveries", "show", "dlv_nope")
    assert json.loads(as_json.stderr)["error"]["type"] == "not_found"


def test_publish_inline_file_and_stdin(cli: Cli, tmp_path: Path) -> None:
    with cli.client() as client:
        client.webhooks.create("http://127.0.0.1:9/x", ["credits.low"])
    inline = cli("--json", "events", "publish", "credits.low", "--data", json.dumps(LOW))
    assert inline.exit_code == 0, inline.output
    event = json.loads(inline.stdout)
    assert event["deliveryCount"] == 1 and event["data"]["userId"] == "user_7d2f"

    payload = tmp_path / "low.json"
    payload.write_text(json.dumps(LOW))
    from_file = cli("events", "publish", "credits.low", "--data", f"@{payload}")
    assert from_file.exit_code == 0 and "evt_" in from_file.stdout

    keyed = ["--json", "events", "publish", "credits.low", "--data", "-", "--idempotency-key", "k1"]
    first = cli(*keyed, input=json.dumps(LOW))
    second = cli(*keyed, input=json.dumps(LOW))
    assert json.loads(first.stdout)["id"] == json.loads(second.stdout)["id"]
    conflict = cli(*keyed, input=json.dumps({**LOW, "remaining": 1}))
    assert conflict.exit_code == 1 and "Idempotency-Key" in conflict.stderr

    shown = cli("events", "show", event["id"])
    assert shown.exit_code == 0 and event["id"] in shown.stdout and "credits.low" in shown.stdout


def test_publish_refuses_bad_payloads(cli: Cli) -> None:
    not_json = cli("events", "publish", "credits.low", "--data", "{remaining: 1}")
    assert not_json.exit_code == 2 and "not valid JSON" in not_json.output
    nan = cli("events", "publish", "credits.low", "--data", '{"remaining": NaN}')
    assert nan.exit_code == 2 and "NaN" in nan.output
    array = cli("events", "publish", "credits.low", "--data", "[1]")
    assert array.exit_code == 2 and "JSON object" in array.output
    missing_field = cli("events", "publish", "credits.low", "--data", '{"remaining": 1}')
    assert missing_field.exit_code == 1 and "requires field 'threshold'" in missing_field.stderr
    no_data = cli("events", "publish", "credits.low")
    assert no_data.exit_code == 2 and "--data" in no_data.stderr


def test_event_types(cli: Cli) -> None:
    table = cli("events", "types")
    assert table.exit_code == 0
    assert "fabric.completed" in table.stdout and "executionId" in table.stdout
    assert len(json.loads(cli("--json", "events", "types").stdout)) == 13  # 9 + 4 operational
