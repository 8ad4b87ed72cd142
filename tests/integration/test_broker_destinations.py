"""Broker destinations end to end, against the real RabbitMQ, NATS (JetStream) and Redis this
machine runs, on SQLite and PostgreSQL: a webhook of each kind created through the API gets
each event as a message whose headers carry the signature (verified with the receiver SDK);
the attempt log shows the broker's receipt; a broker that is down fails the attempts, which
are retried and count against the webhook's health (auto-disable); resend and test events
publish again; the config is stored sealed and shown redacted; bad input is a 400 that
changes nothing, and another account's webhook is a 404."""

from __future__ import annotations

import json
from typing import Any

import pytest

from broker_peers import CLOSED_PORT, broker_peer, lower
from promptha_webhooks.receiver.verify import verify

from support import Service, ServiceFactory

KINDS = ["rabbitmq", "nats", "redis-stream"]
PAYLOAD = {"executionId": "e1", "fabricId": "f1", "result": {"output": "x"}, "usage": {}}
SECRET_PASSWORD = "hunter2-broker-pass"
JSON = {"Content-Type": "application/json"}


def _json(body: dict[str, Any]) -> str:
    """The body as JSON text, lone surrogates escaped (as a hostile client sends them)."""
    return json.dumps(body)


async def _detail(service: Service, auth: dict[str, str], delivery_id: str) -> dict[str, Any]:
    response = await service.client.get(f"/v1/deliveries/{delivery_id}", headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("signature_format", ["promptha", "standard"])
async def test_each_kind_gets_signed_messages(
    service: Service, kind: str, signature_format: str
) -> None:
    account_id, auth = await service.create_account()
    async with broker_peer(kind) as peer:
        webhook = await service.create_webhook(
            auth, type=kind, config=peer.config(), signatureFormat=signature_format
        )
        assert webhook["type"] == kind and webhook["url"] is None
        assert "guest:guest" not in str(webhook)
        published = await service.publish(account_id, "fabric.completed", PAYLOAD)
        message = await peer.next_message()
        headers = lower(message.headers)
        # The same envelope and signature headers as an HTTP delivery, as message headers.
        verify(message.body, headers, webhook["secret"])
        assert headers["content-type"] == "application/json"
        assert message.message_id == published["id"]
        [delivered] = await service.wait_delivery(auth, webhook["id"], status="delivered")
        [attempt] = (await _detail(service, auth, delivered["id"]))["attempts"]
        assert attempt["responseStatus"] == 202 and attempt["error"] is None
        assert attempt["responseBody"]  # the broker's receipt
        assert "guest:guest" not in attempt["url"]


@pytest.mark.parametrize("kind", KINDS)
async def test_resend_and_test_event_publish_again(service: Service, kind: str) -> None:
    account_id, auth = await service.create_account()
    async with broker_peer(kind) as peer:
        webhook = await service.create_webhook(auth, type=kind, config=peer.config())
        await service.publish(account_id, "fabric.completed", PAYLOAD)
        first = await peer.next_message()
        [delivered] = await service.wait_delivery(auth, webhook["id"], status="delivered")
        retried = await service.client.post(f"/v1/deliveries/{delivered['id']}/retry", headers=auth)
        assert retried.status_code == 200, retried.text
        again = await peer.next_message()
        assert again.body == first.body
        assert lower(again.headers)["x-promptha-attempt"] == "2"
        verify(again.body, lower(again.headers), webhook["secret"])
        tested = await service.client.post(
            "/v1/webhooks/test",
            json={"webhookId": webhook["id"], "event": "fabric.completed"},
            headers=auth,
        )
        assert tested.status_code == 200, tested.text
        assert tested.json()["success"] is True
        test_message = await peer.next_message()
        assert lower(test_message.headers)["x-promptha-test"] == "true"


@pytest.mark.parametrize("kind", KINDS)
async def test_broker_down_retries_then_auto_disables(
    make_service: ServiceFactory, kind: str
) -> None:
    service = await make_service(auto_disable_after_s=0.001, auto_disable_min_failed_deliveries=2)
    account_id, auth = await service.create_account()
    async with broker_peer(kind) as peer:
        webhook = await service.create_webhook(
            auth,
            type=kind,
            config=peer.config(port=CLOSED_PORT),
            retrySchedule=[0, 0],
            timeoutSeconds=2,
        )
        await service.publish(account_id, "fabric.completed", PAYLOAD)
        [failed] = await service.wait_delivery(auth, webhook["id"], status="failed", timeout=60)
        attempts = (await _detail(service, auth, failed["id"]))["attempts"]
        assert [a["number"] for a in attempts] == [1, 2, 3]  # the first and two retries
        assert all(a["responseStatus"] is None and a["error"] for a in attempts)
        await service.publish(account_id, "fabric.completed", PAYLOAD)
        await service.wait_delivery(auth, webhook["id"], status="failed", count=2, timeout=60)
        shown = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
        assert shown["enabled"] is False and shown["disabledReason"] == "auto_disabled"
        assert shown["health"]["failedDeliveries"] == 2


async def test_config_is_sealed_at_rest_and_shown_redacted(service: Service) -> None:
    _, auth = await service.create_account()
    url = f"nats://alice:{SECRET_PASSWORD}@127.0.0.1:4222"
    webhook = await service.create_webhook(
        auth, type="nats", config={"url": url, "subject": "orders.created"}
    )
    assert webhook["config"]["url"] == "nats://alice:****@127.0.0.1:4222"
    assert webhook["config"]["subject"] == "orders.created"
    listed = (await service.client.get("/v1/webhooks", headers=auth)).json()
    shown = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
    for answer in (listed, shown):
        assert SECRET_PASSWORD not in str(answer)
    async with service.app.state.services.db.transaction() as conn:
        from sqlalchemy import text

        row = (
            await conn.execute(text("SELECT * FROM webhooks WHERE id = :id"), {"id": webhook["id"]})
        ).one()
    assert SECRET_PASSWORD not in repr(tuple(row))
    assert "orders.created" not in repr(tuple(row))  # the whole config is sealed
    assert row.destination_type == "nats" and row.destination_config.startswith("v1:")


async def test_update_switches_kinds_and_replaces_config(service: Service) -> None:
    _, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url="http://127.0.0.1:9/hook")
    path = f"/v1/webhooks/{webhook['id']}"
    config = {"url": "redis://127.0.0.1:6379/0", "stream": "s1"}
    switched = await service.client.patch(path, json={"type": "redis-stream", "config": config})
    assert switched.status_code == 401  # no key: refused before anything
    switched = await service.client.patch(
        path, json={"type": "redis-stream", "config": config}, headers=auth
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["type"] == "redis-stream" and switched.json()["url"] is None
    assert switched.json()["config"]["stream"] == "s1"
    changed = await service.client.patch(
        path, json={"config": config | {"stream": "s2"}}, headers=auth
    )
    assert changed.status_code == 200 and changed.json()["config"]["stream"] == "s2"
    back = await service.client.patch(
        path, json={"type": "http", "url": "http://127.0.0.1:9/again"}, headers=auth
    )
    assert back.status_code == 200, back.text
    assert back.json()["type"] == "http" and back.json()["config"] is None
    assert back.json()["url"] == "http://127.0.0.1:9/again"


HOSTILE_CREATES: list[dict[str, Any]] = [
    {"type": "kafka", "config": {"url": "nats://127.0.0.1:4222", "subject": "a"}},
    {"type": "nats"},
    {"type": "nats", "config": "nats://127.0.0.1:4222"},
    {"type": "nats", "config": {"url": "nats://127.0.0.1:4222", "subject": "a"}, "url": "http://x"},
    {"type": "http", "url": "http://127.0.0.1:9/", "config": {"url": "redis://127.0.0.1"}},
    {"type": "redis-stream", "config": {"url": "http://127.0.0.1:6379", "stream": "s"}},
    {"type": "redis-stream", "config": {"url": "redis://127.0.0.1:6379", "stream": "\ud800"}},
    {"type": "nats", "config": {"url": "nats://127.0.0.1:4222", "subject": "x" * 100_000}},
    {"type": "rabbitmq", "config": {"url": "amqp://127.0.0.1", "exchange": {"a": [[[[1]]]]}}},
    {"type": None, "config": None},
]


@pytest.mark.parametrize("body", HOSTILE_CREATES)
async def test_hostile_creates_are_400_and_store_nothing(
    service: Service, body: dict[str, Any]
) -> None:
    _, auth = await service.create_account()
    response = await service.client.post(
        "/v1/webhooks", content=_json({"events": ["fabric.completed"], **body}), headers=auth | JSON
    )
    assert response.status_code in (400, 422), response.text
    assert "error" in response.json()
    listed = (await service.client.get("/v1/webhooks", headers=auth)).json()
    assert listed["data"] == []


async def test_hostile_updates_change_nothing_and_other_accounts_get_404(
    service: Service,
) -> None:
    _, auth = await service.create_account()
    _, other = await service.create_account("Other")
    config = {"url": "nats://127.0.0.1:4222", "subject": "orders"}
    webhook = await service.create_webhook(auth, type="nats", config=config)
    path = f"/v1/webhooks/{webhook['id']}"
    for body in (
        {"config": {"url": "redis://127.0.0.1:6379", "subject": "x"}},
        {"config": {"url": "nats://127.0.0.1:4222", "subject": "\ud800"}},
        {"type": "http"},  # switching to http needs a url
        {"type": "rabbitmq"},  # switching to a broker needs its config
        {"url": "https://example.com/hook"},  # a broker webhook has no url
        {"type": "mqtt", "config": config},
        {"config": {"url": "nats://127.0.0.1:4222", "subject": "x", "a": {"b": {"c": {}}}}},
    ):
        response = await service.client.patch(path, content=_json(body), headers=auth | JSON)
        assert response.status_code in (400, 422), (body, response.text)
        assert "error" in response.json()
    unchanged = (await service.client.get(path, headers=auth)).json()
    assert unchanged["type"] == "nats" and unchanged["config"] == config | {"stream": None}
    for method in ("GET", "PATCH", "DELETE"):
        answer = await service.client.request(
            method, path, headers=other, json={"config": config} if method == "PATCH" else None
        )
        assert answer.status_code == 404, (method, answer.text)
    unknown = await service.client.patch(
        "/v1/webhooks/wh_unknown", json={"config": config}, headers=auth
    )
    assert unknown.status_code == 404


async def test_reencrypt_moves_the_destination_config(
    make_service: ServiceFactory, database_url: str
) -> None:
    """`secrets reencrypt` moves a broker webhook's sealed config under the ring's first key
    too: it still opens once the old key is gone."""
    from test_secrets_at_rest import reencrypt

    from promptha_webhooks.secret_box import KeyRing, generate_key_entry
    from promptha_webhooks.store.webhook_secrets import SecretCodec

    from support import TEST_ENCRYPTION_KEYS

    service = await make_service()
    _, auth = await service.create_account()
    url = f"nats://alice:{SECRET_PASSWORD}@127.0.0.1:4222"
    hook = await service.create_webhook(auth, type="nats", config={"url": url, "subject": "s"})
    new_entry = generate_key_entry("k7")
    done = await reencrypt(database_url, f"{new_entry},{TEST_ENCRYPTION_KEYS}")
    assert done.returncode == 0, done.stderr
    row = await service.sql_row(
        "SELECT destination_type, destination_config FROM webhooks WHERE id = :id", id=hook["id"]
    )
    assert row[1].startswith("v1:k7:") and SECRET_PASSWORD not in row[1]
    only_new = SecretCodec(KeyRing.parse(new_entry))
    opened = only_new.delivery_settings(hook["id"], (None, None, None, None, row[0], row[1]))
    assert opened.destination_unreadable is None and opened.destination is not None
    assert SECRET_PASSWORD in opened.destination.config
    assert SECRET_PASSWORD not in repr(opened)  # never in a log line
