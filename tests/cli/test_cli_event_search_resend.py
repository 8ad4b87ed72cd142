"""`events list`, `events show` (with the event's deliveries) and `deliveries resend` (by id,
and `--failed --since --until` page after page) against the real service and a receiver that
fails, then succeeds."""

from __future__ import annotations

import json

import pytest
from cli_support import Cli, new_cli
from test_cli_deliveries_events import LOW, settled

from support import Receiver

COMPLETED = {"executionId": "e1", "fabricId": "f1", "result": {"output": "x"}, "usage": {}}


@pytest.fixture
def cli(request: pytest.FixtureRequest) -> Cli:
    return new_cli(request)


async def test_events_list_and_show(cli: Cli, receiver: Receiver) -> None:
    receiver.script("/down", [500])
    with cli.client() as client:
        up = client.webhooks.create(receiver.url("/up"), ["fabric.*"])
        down = client.webhooks.create(receiver.url("/down"), ["fabric.*"], retry_schedule=[])
        low = client.events.publish("credits.low", LOW)
        event = client.events.publish("fabric.completed", COMPLETED)
    await settled(cli, up.id, "delivered", 1)
    await settled(cli, down.id, "failed", 1)

    table = await cli.run("events", "list", "--type", "fabric.*")
    assert table.exit_code == 0, table.output
    assert event.id in table.stdout and low.id not in table.stdout
    listed = json.loads((await cli.run("--json", "events", "list", "--since", "1h")).stdout)
    ids = [e["id"] for e in listed]
    assert ids.index(event.id) < ids.index(low.id)  # newest first
    only = json.loads((await cli.run("--json", "events", "list", "--id", low.id)).stdout)
    assert [e["id"] for e in only] == [low.id]
    none = await cli.run("events", "list", "--type", "credits.low", "--until", "2h")
    assert none.exit_code == 0 and "No events match" in none.stderr

    shown = await cli.run("events", "show", event.id)
    assert shown.exit_code == 0, shown.output
    assert receiver.url("/up") in shown.stdout and receiver.url("/down") in shown.stdout
    assert "HTTP 500" in shown.stdout and "delivered" in shown.stdout
    detail = json.loads((await cli.run("--json", "events", "show", event.id)).stdout)
    assert detail["id"] == event.id
    by_hook = {d["webhookId"]: d for d in detail["deliveries"]}
    assert by_hook[down.id]["status"] == "failed"
    assert by_hook[up.id]["webhookUrl"] == receiver.url("/up")

    bad = await cli.run("events", "list", "--type", "nothing.*")
    assert bad.exit_code != 0 and "covers no event type" in bad.output
    when = await cli.run("events", "list", "--since", "yesterday")
    assert when.exit_code != 0 and "ISO 8601" in when.output


async def test_deliveries_resend_failed_in_range(cli: Cli, receiver: Receiver) -> None:
    receiver.script("/flaky", [500])
    with cli.client() as client:
        hook = client.webhooks.create(receiver.url("/flaky"), ["credits.low"], retry_schedule=[])
        for _ in range(3):
            client.events.publish("credits.low", LOW)
    failed = await settled(cli, hook.id, "failed", 3)
    receiver.script("/flaky", [200])

    one = await cli.run("deliveries", "resend", failed[0]["id"])
    assert one.exit_code == 0, one.output
    assert "Resent 1 of 1." in one.stdout
    await settled(cli, hook.id, "delivered", 1)
    unknown = await cli.run("deliveries", "resend", failed[0]["id"])
    assert unknown.exit_code == 1 and "delivered" in unknown.stderr

    ranged = await cli.run(
        "--json", "deliveries", "resend", "--failed", "--since", "1h", "--webhook", hook.id
    )
    assert ranged.exit_code == 0, ranged.output
    assert json.loads(ranged.stdout) == {"resent": 2, "total": 2, "skipped": []}
    assert len(await settled(cli, hook.id, "delivered", 3)) == 3
    nothing = await cli.run("deliveries", "resend", "--failed", "--since", "1h", "--until", "1m")
    assert nothing.exit_code == 0 and "Resent 0 of 0." in nothing.stdout

    usage = await cli.run("deliveries", "resend", "--since", "1h")
    assert usage.exit_code != 0 and "--failed" in usage.output
