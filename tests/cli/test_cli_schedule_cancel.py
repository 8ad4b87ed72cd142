"""`events publish --deliver-at`, `events cancel` and `deliveries cancel` against the real
service, through the client the CLI is built on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cli_support import Cli, new_cli

from support import Receiver

LOW = {"remaining": 120, "threshold": 500, "userId": "user_7d2f"}


@pytest.fixture
def cli(request: pytest.FixtureRequest) -> Cli:
    return new_cli(request)


async def test_publish_later_and_cancel(cli: Cli, receiver: Receiver) -> None:
    with cli.client() as client:
        hook = client.webhooks.create(receiver.url("/later"), ["credits.low"])
    before = datetime.now(tz=UTC)
    published = await cli.run(
        "--json",
        "events",
        "publish",
        "credits.low",
        "--data",
        json.dumps(LOW),
        "--deliver-at",
        "2h",
    )
    assert published.exit_code == 0, published.output
    event = json.loads(published.stdout)
    deliver_at = datetime.fromisoformat(event["deliverAt"])
    assert before + timedelta(hours=2) <= deliver_at <= datetime.now(tz=UTC) + timedelta(hours=2)

    shown = await cli.run("events", "show", event["id"])
    assert "deliver at" in shown.stdout and "pending" in shown.stdout

    cancelled = await cli.run("events", "cancel", event["id"])
    assert cancelled.exit_code == 0, cancelled.output
    assert "Cancelled 1 of 1 deliveries." in cancelled.stdout and "cancelled" in cancelled.stdout
    listed = json.loads(
        (await cli.run("--json", "deliveries", "list", hook.id, "--status", "cancelled")).stdout
    )
    assert [d["eventId"] for d in listed] == [event["id"]]
    # already final: the API's 409, exit code 1, one line
    again = await cli.run("deliveries", "cancel", listed[0]["id"])
    assert again.exit_code == 1
    assert "already cancelled" in again.stderr and "Traceback" not in again.output
    assert receiver.requests == []


async def test_deliveries_cancel_one_and_bad_times(cli: Cli, receiver: Receiver) -> None:
    with cli.client() as client:
        client.webhooks.create(receiver.url("/one"), ["credits.low"])
        at = datetime.now(tz=UTC) + timedelta(days=1)
        event = client.events.publish("credits.low", LOW, deliver_at=at)
        assert event.deliver_at is not None
        assert abs(event.deliver_at.timestamp() - at.timestamp()) < 0.01
        [delivery] = client.events.deliveries(event.id).data
    result = await cli.run("deliveries", "cancel", delivery.id)
    assert result.exit_code == 0, result.output
    assert f"Cancelled {delivery.id}." in result.stdout

    too_far = await cli.run(
        "events", "publish", "credits.low", "--data", json.dumps(LOW), "--deliver-at", "31d"
    )
    assert too_far.exit_code == 1 and "at most 30 days ahead" in too_far.stderr
    nonsense = cli("events", "publish", "credits.low", "--data", "{}", "--deliver-at", "soon")
    assert nonsense.exit_code == 2 and "--deliver-at" in nonsense.output
    assert "Traceback" not in too_far.output + nonsense.output
    assert receiver.requests == []
