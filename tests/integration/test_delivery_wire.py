"""What a receiver sees: every header of the contract, a body identical on every attempt, and a
signature that verifies over the raw body and over JSON.stringify(JSON.parse(body)) computed
by a real ECMAScript engine (V8), as the guide's Express handler does."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest
from py_mini_racer import MiniRacer

from promptha_webhooks import __version__

from support import Receiver, Service

SECRET = "your_webhook_secret"

PAYLOADS: list[dict[str, Any]] = [
    {
        "executionId": "exec_1",
        "fabricId": "product-description",
        "result": {"output": "Test result", "score": 0.1, "ratio": 1.0, "tiny": 1e-7},
        "usage": {"totalTokens": 246, "cost": 0.000123, "big": 1e21, "huge": 1e20},
    },
    {
        "executionId": "exec_2",
        "fabricId": "seo-optimizer",
        "result": {"text": "Crème brûlée — 東京 🚀", "quote": 'say "hi"\n\ttab', "ctl": "\u0001"},
        "usage": {"totalTokens": 9007199254740991, "neg": -0.0, "exp": 1.5e-300},
    },
    {
        "executionId": "exec_3",
        "fabricId": "nested",
        "result": {"b": 1, "2": "two", "a": [1, {"10": 1, "1": 2, "z": None}], "1": True},
        "usage": {"totalTokens": 0, "list": [[], {}, [1.25, -3]]},
    },
]


def express_style_signature(v8: MiniRacer, timestamp: str, body: bytes, secret: str) -> str:
    """The guide's handler: `JSON.stringify(req.body)` after express.json() parsed the body."""
    restringified = v8.call("((s) => JSON.stringify(JSON.parse(s)))", body.decode())
    message = f"{timestamp}.{restringified}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("payload", PAYLOADS, ids=["numbers", "text", "nested"])
async def test_delivery_headers_and_signature(
    service: Service, receiver: Receiver, payload: dict[str, Any]
) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=receiver.url(), events=["fabric.completed"], secret=SECRET
    )
    before = int(time.time())
    event = await service.publish(account_id, "fabric.completed", payload)
    [request] = await receiver.wait_for(1)
    after = int(time.time())

    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == f"Promptha-Webhooks/{__version__}"
    assert headers["x-promptha-event"] == "fabric.completed"
    assert headers["x-promptha-event-id"] == event["id"]
    assert headers["x-promptha-delivery-id"].startswith("dlv_")
    assert headers["x-promptha-attempt"] == "1"
    assert "x-promptha-test" not in headers
    timestamp = headers["x-promptha-timestamp"]
    assert timestamp.isdigit() and before <= int(timestamp) <= after

    raw_signature = hmac.new(
        SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    assert headers["x-promptha-signature"] == raw_signature

    v8 = MiniRacer()
    assert headers["x-promptha-signature"] == express_style_signature(
        v8, timestamp, request.body, SECRET
    )
    # The body is already in JSON.stringify form, byte for byte.
    assert v8.call("((s) => JSON.stringify(JSON.parse(s)))", request.body.decode()).encode() == (
        request.body
    )

    import json

    body = json.loads(request.body)
    assert list(body) == ["event", "data", "timestamp"]
    assert body["event"] == "fabric.completed"
    assert body["data"]["eventId"] == event["id"]
    assert before <= body["timestamp"] <= after
    for key, value in payload.items():
        assert body["data"][key] == value
    assert webhook["id"].startswith("wh_")
    # The log reads the same payload back (including 1e20, written as a 21-digit integer).
    delivery_id = headers["x-promptha-delivery-id"]
    await service.wait_delivery(auth, webhook["id"], status="delivered")
    detail = await service.client.get(f"/v1/deliveries/{delivery_id}", headers=auth)
    assert detail.status_code == 200
    assert detail.json()["payload"] == body
    assert detail.json()["attempts"][0]["requestBody"].encode() == request.body
    stored = await service.client.get(f"/v1/events/{event['id']}", headers=auth)
    assert stored.status_code == 200 and stored.json()["data"] == body["data"]


async def test_retry_keeps_body_and_resigns(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    receiver.script("/flaky", [500, 200])
    webhook = await service.create_webhook(auth, url=receiver.url("/flaky"), secret=SECRET)
    await service.publish(account_id, "fabric.completed", PAYLOADS[0])
    first, second = await receiver.wait_for(2, path="/flaky")
    assert first.body == second.body
    assert first.headers["x-promptha-attempt"] == "1"
    assert second.headers["x-promptha-attempt"] == "2"
    assert first.headers["x-promptha-delivery-id"] == second.headers["x-promptha-delivery-id"]
    assert first.headers["x-promptha-event-id"] == second.headers["x-promptha-event-id"]
    for request in (first, second):
        timestamp = request.headers["x-promptha-timestamp"]
        expected = hmac.new(
            SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
        ).hexdigest()
        assert request.headers["x-promptha-signature"] == expected
    await service.wait_delivery(auth, webhook["id"], status="delivered")
