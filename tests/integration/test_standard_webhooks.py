"""Standard Webhooks deliveries, end to end: the worker sends to a real receiver on 127.0.0.1
and real third-party code verifies what arrived: the `standardwebhooks` library and the `svix`
library's verifier for HMAC ("v1") signatures, Node's crypto.verify (tests/node/
standard_receiver.js) for Ed25519 ("v1a") ones; during a rotation too. Both backends."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import standardwebhooks
import svix.webhooks
from standardwebhooks.exceptions import WebhookVerificationError

from node_receiver import NodeReceiver
from promptha_webhooks import signing_standard

from support import ReceivedRequest, Receiver, Service, start_rotation

PAYLOAD: dict[str, Any] = {
    "executionId": "exec_std",
    "fabricId": "product-description",
    "result": {"output": "Crème brûlée — 東京 🚀", "score": 0.1, "big": 1e21},
    "usage": {"totalTokens": 246},
}
VERIFIERS: dict[str, type[standardwebhooks.Webhook] | type[svix.webhooks.Webhook]] = {
    "standardwebhooks": standardwebhooks.Webhook,
    "svix": svix.webhooks.Webhook,
}


def _headers(request: ReceivedRequest) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


def assert_verifies(request: ReceivedRequest, secret: str) -> None:
    """Both libraries accept the request under `secret`."""
    for name, verifier in VERIFIERS.items():
        try:
            verifier(secret).verify(request.body, dict(request.headers))
        except WebhookVerificationError as exc:  # svix raises the same class
            raise AssertionError(f"{name} rejected the delivery: {exc}") from exc


def assert_rejected(request: ReceivedRequest, secret: str) -> None:
    for verifier in VERIFIERS.values():
        with pytest.raises(WebhookVerificationError):
            verifier(secret).verify(request.body, dict(request.headers))


async def test_standard_delivery_verifies_with_both_libraries(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    receiver.script("/std", [500, 200])
    webhook = await service.create_webhook(
        auth, url=receiver.url("/std"), signatureFormat="standard"
    )
    assert webhook["signatureFormat"] == "standard"
    assert webhook["signatureAlgorithm"] == "hmac-sha256"
    secret = webhook["secret"]
    assert signing_standard.parse_key(secret).kind is signing_standard.KeyKind.SECRET

    before = int(time.time())
    event = await service.publish(account_id, "fabric.completed", PAYLOAD)
    first, second = await receiver.wait_for(2, path="/std")
    after = int(time.time())
    await service.wait_delivery(auth, webhook["id"], status="delivered")

    for request in (first, second):
        headers = _headers(request)
        # webhook-id is the event id: the same on every attempt (receivers dedupe on it).
        assert headers["webhook-id"] == event["id"]
        assert before <= int(headers["webhook-timestamp"]) <= after
        assert headers["webhook-signature"].startswith("v1,")
        assert len(headers["webhook-signature"].split(" ")) == 1
        assert "x-promptha-signature" not in headers
        assert "x-promptha-timestamp" not in headers
        assert headers["x-promptha-event-id"] == event["id"]
        assert_verifies(request, secret)
    assert first.body == second.body
    assert _headers(first)["x-promptha-attempt"] == "1"
    assert _headers(second)["x-promptha-attempt"] == "2"
    assert_rejected(first, signing_standard.generate_secret())


async def test_standard_rotation_signs_with_both_secrets(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url(), signatureFormat="standard")
    new = signing_standard.generate_secret(32)
    old = await start_rotation(service, auth, webhook["id"], new)
    assert old == webhook["secret"]
    shown = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
    assert shown["previousSecretExpiresAt"] is not None

    await service.publish(account_id, "fabric.completed", PAYLOAD)
    [request] = await receiver.wait_for(1)
    entries = _headers(request)["webhook-signature"].split(" ")
    assert len(entries) == 2 and all(entry.startswith("v1,") for entry in entries)
    # A receiver holding either secret accepts it: one switched to the new secret, and one
    # that has not yet.
    assert_verifies(request, new)
    assert_verifies(request, old)
    assert_rejected(request, signing_standard.generate_secret())
    # The primary (new) secret's entry comes first.
    header = _headers(request)
    timestamp = int(header["webhook-timestamp"])
    assert entries[0] == signing_standard.signature_entry(
        new, header["webhook-id"], timestamp, request.body
    )


async def test_promptha_webhook_keeps_the_guides_headers(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url())
    assert webhook["signatureFormat"] == "promptha"
    assert webhook["signatureAlgorithm"] == "hmac-sha256"
    # A generated secret fits both formats: standard libraries take it as a key too.
    signing_standard.parse_key(webhook["secret"])
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    [request] = await receiver.wait_for(1)
    headers = _headers(request)
    assert "x-promptha-signature" in headers
    assert not {"webhook-id", "webhook-timestamp", "webhook-signature"} & headers.keys()


async def _wait_received(node: NodeReceiver, count: int) -> list[dict[str, Any]]:
    for _ in range(750):
        received: list[dict[str, Any]] = await asyncio.to_thread(node.received)
        if len(received) >= count:
            return received
        await asyncio.sleep(0.02)
    raise AssertionError(f"the Node receiver accepted {len(received)}, wanted {count}")


async def test_ed25519_delivery_verifies_with_node_crypto(
    service: Service, node_standard_receiver: NodeReceiver
) -> None:
    node = node_standard_receiver
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=node.url, signatureFormat="standard", signatureAlgorithm="ed25519"
    )
    assert webhook["signatureAlgorithm"] == "ed25519"
    signing_key = webhook["secret"]
    assert signing_key.startswith("whsk_")
    answer = await service.client.get(f"/v1/webhooks/{webhook['id']}/public-key", headers=auth)
    assert answer.status_code == 200, answer.text
    public = answer.json()
    assert public["object"] == "webhook_public_key"
    assert public["webhookId"] == webhook["id"]
    assert public["publicKey"] == signing_standard.public_key(signing_key)
    assert public["previousPublicKey"] is None

    # Without the key the receiver refuses (401, not retried); with it, it accepts.
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, webhook["id"], status="failed")
    node.set_secret(public["publicKey"])
    event = await service.publish(account_id, "fabric.completed", PAYLOAD)
    [accepted] = await _wait_received(node, 1)
    assert accepted == {"eventId": event["id"], "webhookId": event["id"], "entries": 1}

    # A rotation to a new signing key: one v1a entry per live key, so a receiver holding
    # either public key accepts.
    new_key = signing_standard.generate_signing_key()
    await start_rotation(service, auth, webhook["id"], new_key)
    rotating = (
        await service.client.get(f"/v1/webhooks/{webhook['id']}/public-key", headers=auth)
    ).json()
    assert rotating["publicKey"] == signing_standard.public_key(new_key)
    assert rotating["previousPublicKey"] == public["publicKey"]
    assert rotating["previousExpiresAt"] is not None
    second = await service.publish(account_id, "fabric.completed", PAYLOAD)
    received = await _wait_received(node, 2)
    assert received[1] == {"eventId": second["id"], "webhookId": second["id"], "entries": 2}
    node.set_secret(rotating["publicKey"])  # the receiver switched to the new key
    third = await service.publish(account_id, "fabric.completed", PAYLOAD)
    received = await _wait_received(node, 3)
    assert received[2]["eventId"] == third["id"]
    await service.wait_delivery(auth, webhook["id"], status="delivered", count=3)
