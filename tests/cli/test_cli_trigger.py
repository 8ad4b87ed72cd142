"""`trigger`: realistic samples of every event type reach a real receiver, signed, and repeated
triggers differ; `--webhook` sends a test event to one webhook."""

from __future__ import annotations

import json
import random

import pytest
from cli_support import Cli, new_cli

from promptha_webhooks import signing
from promptha_webhooks.catalog import (
    EVENT_NAMES,
    EVENT_TYPES,
    OPERATIONAL_EVENT_NAMES,
    EventType,
    validate_payload,
)
from promptha_webhooks.cli.samples import random_payload

from support import ADMIN_KEY, Receiver

SECRET = "whsec_cli_trigger_test_secret"


@pytest.fixture
def cli(request: pytest.FixtureRequest) -> Cli:
    return new_cli(request)


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda t: t.name)
def test_samples_are_valid_varied_and_consistent(event_type: EventType) -> None:
    rng = random.Random(7)
    payloads = [random_payload(event_type.name, rng) for _ in range(20)]
    for payload in payloads:
        validate_payload(event_type, payload)
        assert payload.keys() == event_type.sample.keys()
    assert len({json.dumps(p, sort_keys=True) for p in payloads}) > 1
    for payload in payloads:
        if event_type.name == "credits.low":
            assert 0 <= payload["remaining"] < payload["threshold"]
        if event_type.name == "credits.purchased":
            assert payload["newBalance"] >= payload["amount"]
        if event_type.name == "fabric.completed":
            usage = payload["usage"]
            assert usage["totalTokens"] == usage["promptTokens"] + usage["completionTokens"]


def test_sample_ids_keep_their_prefix() -> None:
    payload = random_payload("fabric.completed", random.Random(1))
    assert payload["executionId"].startswith("exec_")
    assert payload["executionId"] != "exec_9f3a2c71"
    assert len(payload["executionId"]) == len("exec_9f3a2c71")


async def test_trigger_publishes_every_type_to_a_real_receiver(
    cli: Cli, receiver: Receiver
) -> None:
    with cli.client() as client:
        client.webhooks.create(receiver.url("/all"), sorted(EVENT_NAMES), secret=SECRET)
    account_id = ""
    for name in sorted(EVENT_NAMES - OPERATIONAL_EVENT_NAMES):
        result = await cli.run("--json", "trigger", name)
        assert result.exit_code == 0, result.output
        published = json.loads(result.stdout)
        assert published["event"] == name and published["deliveryCount"] == 1
        account_id = published["accountId"]
    # The operational alerts are the platform's: the account key is refused, the admin key
    # publishes them to the account.
    platform = Cli(cli.url, ADMIN_KEY)
    for name in sorted(OPERATIONAL_EVENT_NAMES):
        refused = await cli.run("trigger", name)
        assert refused.exit_code == 1 and "operational alert" in refused.stderr
        result = await platform.run("trigger", name, "--account", account_id)
        assert result.exit_code == 0, result.output
        assert f"Published {name} evt_" in result.stdout and "to 1 webhook" in result.stdout
    requests = await receiver.wait_for(len(EVENT_NAMES), path="/all")
    seen = {}
    for request in requests:
        signing.verify(request.body, request.headers, SECRET)
        body = json.loads(request.body)
        assert request.headers["x-promptha-event"] == body["event"]
        assert "x-promptha-test" not in request.headers
        seen[body["event"]] = body["data"]
    assert seen.keys() == EVENT_NAMES
    for event_type in EVENT_TYPES:
        validate_payload(event_type, seen[event_type.name])


async def test_repeated_triggers_differ_and_data_overrides_win(
    cli: Cli, receiver: Receiver
) -> None:
    with cli.client() as client:
        client.webhooks.create(receiver.url("/two"), ["fabric.completed"], secret=SECRET)
    result = await cli.run(
        "--json",
        "trigger",
        "fabric.completed",
        "-n",
        "2",
        "--data",
        '{"fabricId": "seo-optimizer"}',
    )
    assert result.exit_code == 0, result.output
    published = json.loads(result.stdout)
    assert len(published) == 2 and all(e["deliveryCount"] == 1 for e in published)
    first, second = (json.loads(r.body)["data"] for r in await receiver.wait_for(2, path="/two"))
    assert first["executionId"] != second["executionId"]
    assert first["fabricId"] == second["fabricId"] == "seo-optimizer"


async def test_trigger_to_one_webhook_sends_a_test_event(cli: Cli, receiver: Receiver) -> None:
    with cli.client() as client:
        target = client.webhooks.create(receiver.url("/one"), ["credits.low"], secret=SECRET)
        client.webhooks.create(receiver.url("/other"), ["credits.low"], secret=SECRET)
    result = await cli.run("trigger", "credits.low", "--webhook", target.id)
    assert result.exit_code == 0, result.output
    assert "delivered" in result.stdout
    (request,) = receiver.on("/one")
    signing.verify(request.body, request.headers, SECRET)
    assert request.headers["x-promptha-test"] == "true"
    data = json.loads(request.body)["data"]
    assert data["remaining"] < data["threshold"]
    assert receiver.on("/other") == []


async def test_trigger_reports_failures(cli: Cli, receiver: Receiver) -> None:
    receiver.script("/gone", [410])
    with cli.client() as client:
        hook = client.webhooks.create(receiver.url("/gone"), ["ask.message"])
    failed = await cli.run("trigger", "ask.message", "-w", hook.id)
    assert failed.exit_code == 1
    assert "not delivered" in failed.stdout and "HTTP 410" in failed.stdout

    unknown = await cli.run("trigger", "fabric.exploded")
    assert unknown.exit_code == 2
    assert "Unknown event type 'fabric.exploded'" in unknown.stderr

    nobody = await cli.run("trigger", "credits.depleted")
    assert nobody.exit_code == 0
    assert "to 0 webhooks" in nobody.stdout and "No webhook" in nobody.stderr
