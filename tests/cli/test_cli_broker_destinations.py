"""`webhooks create --type … --config …`, `show`, `list` and `update` of broker destinations
against the real service (and, for delivery, the real Redis on 6379): the config is shown with
the URL's password as ****, never in the clear."""

from __future__ import annotations

import json

import pytest
from cli_support import Cli, new_cli

from broker_peers import broker_peer, lower
from promptha_webhooks.receiver.verify import verify

PASSWORD = "cli-broker-pass-42"


@pytest.fixture
def cli(request: pytest.FixtureRequest) -> Cli:
    return new_cli(request)


def test_create_show_list_update_a_broker_webhook(cli: Cli) -> None:
    config = {"url": f"nats://app:{PASSWORD}@127.0.0.1:4222", "subject": "orders.created"}
    created = cli(
        "--json",
        "webhooks",
        "create",
        "-e",
        "fabric.completed",
        "--type",
        "nats",
        "--config",
        json.dumps(config),
    )
    assert created.exit_code == 0, created.output
    hook = json.loads(created.stdout)
    assert hook["type"] == "nats" and hook["url"] is None
    assert hook["config"]["url"] == "nats://app:****@127.0.0.1:4222"
    assert PASSWORD not in created.stdout

    shown = cli("webhooks", "show", hook["id"])
    assert shown.exit_code == 0, shown.output
    assert "nats" in shown.stdout and "orders.created" in shown.stdout
    assert "app:****@127.0.0.1" in shown.stdout and PASSWORD not in shown.stdout
    table = cli("webhooks", "list")
    assert hook["id"] in table.stdout and PASSWORD not in table.stdout

    moved = cli(
        "--json",
        "webhooks",
        "update",
        hook["id"],
        "--type",
        "redis-stream",
        "--config",
        '{"url": "redis://127.0.0.1:6379/0", "stream": "orders"}',
    )
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.stdout)["type"] == "redis-stream"
    assert json.loads(moved.stdout)["config"]["stream"] == "orders"

    refused = cli(
        "webhooks", "create", "-e", "fabric.completed", "--type", "nats", "--config", "[]"
    )
    assert refused.exit_code != 0
    wrong = cli(
        "webhooks", "create", "-e", "fabric.completed", "--type", "nats", "--config", '{"url": 1}'
    )
    assert wrong.exit_code != 0 and "config.url" in wrong.output


async def test_a_test_event_reaches_redis_signed(cli: Cli) -> None:
    async with broker_peer("redis-stream") as peer:
        created = await cli.run(
            "--json",
            "webhooks",
            "create",
            "-e",
            "fabric.completed",
            "--type",
            "redis-stream",
            "--config",
            json.dumps(peer.config()),
        )
        assert created.exit_code == 0, created.output
        hook = json.loads(created.stdout)
        tested = await cli.run("webhooks", "test", hook["id"])
        assert tested.exit_code == 0, tested.output
        message = await peer.next_message()
        verify(message.body, lower(message.headers), hook["secret"])
