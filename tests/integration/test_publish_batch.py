"""`POST /v1/events/batch`: up to 1,000 events in one transaction, all stored or none."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from support import Receiver, Service


def credits(i: int) -> dict[str, object]:
    return {"event": "credits.low", "data": {"remaining": i, "threshold": 500, "userId": f"u{i}"}}


async def test_batch_fans_out_every_event(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    first = await service.create_webhook(auth, url=receiver.url("/a"), events=["credits.low"])
    await service.create_webhook(auth, url=receiver.url("/b"), events=["credits.low"])
    response = await service.client.post(
        "/v1/events/batch",
        json={"account": account_id, "events": [credits(i) for i in range(50)]},
        headers=service.admin(),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["replayed"] == 0
    assert [e["data"]["remaining"] for e in body["data"]] == list(range(50))
    assert all(e["deliveryCount"] == 2 for e in body["data"])
    await receiver.wait_for(50, path="/a")
    await receiver.wait_for(50, path="/b")
    arrived = {json.loads(r.body)["data"]["eventId"] for r in receiver.on("/a")}
    assert arrived == {e["id"] for e in body["data"]}
    await service.wait_delivery(auth, first["id"], status="delivered", count=50)


async def test_one_bad_event_rejects_the_whole_batch(service: Service, receiver: Receiver) -> None:
    _account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/x"), events=["credits.low"])
    events = [credits(i) for i in range(10)]
    events[3] = {"event": "credits.low", "data": {"remaining": 1, "threshold": 2}}
    response = await service.client.post("/v1/events/batch", json={"events": events}, headers=auth)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "events[3].data.userId"
    await asyncio.sleep(0.1)
    assert receiver.requests == []
    log = (
        await service.client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=auth)
    ).json()
    assert log["data"] == []


async def test_batch_limits_and_idempotency(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    await service.create_webhook(auth, url=receiver.url("/i"), events=["credits.low"])
    too_many = await service.client.post(
        "/v1/events/batch", json={"events": [credits(i) for i in range(1001)]}, headers=auth
    )
    assert too_many.status_code == 400 and too_many.json()["error"]["field"] == "events"
    empty = await service.client.post("/v1/events/batch", json={"events": []}, headers=auth)
    assert empty.status_code == 400
    no_account = await service.client.post(
        "/v1/events/batch", json={"events": [credits(1)]}, headers=service.admin()
    )
    assert no_account.status_code == 400 and no_account.json()["error"]["field"] == "account"
    keyed = [credits(i) | {"idempotencyKey": f"k{i}"} for i in range(3)]
    first = (
        await service.client.post("/v1/events/batch", json={"events": keyed}, headers=auth)
    ).json()
    second = (
        await service.client.post(
            "/v1/events/batch", json={"events": [*keyed, credits(9)]}, headers=auth
        )
    ).json()
    assert second["replayed"] == 3
    assert [e["id"] for e in second["data"][:3]] == [e["id"] for e in first["data"]]
    await receiver.wait_for(4, path="/i")
    await asyncio.sleep(0.2)
    assert len(receiver.on("/i")) == 4
    duplicate_keys = await service.client.post(
        "/v1/events/batch",
        json={
            "events": [
                credits(1) | {"idempotencyKey": "same"},
                credits(2) | {"idempotencyKey": "same"},
            ]
        },
        headers=auth,
    )
    assert duplicate_keys.status_code == 400
    assert account_id


# -- size limits: 256 KiB per event, 16 MiB per batch ------------------------------------------

PER_EVENT_LIMIT = 256 * 1024
BATCH_LIMIT = 16 * 1024 * 1024
# A generated text of the size a fabric's output typically has: one event of the batch is
# about 1.3 KB, so 1,000 of them (≈1.3 MB) are far beyond 256 KiB.
TYPICAL_OUTPUT = ("Lightweight trail shoes built for long days on rough ground. " * 18).strip()


def typical(i: int) -> dict[str, object]:
    return {
        "event": "fabric.completed",
        "data": {
            "executionId": f"exec_{i:08d}",
            "fabricId": "product-description",
            "result": {"output": TYPICAL_OUTPUT},
            "usage": {"promptTokens": 182, "completionTokens": 264, "totalTokens": 446},
        },
    }


async def _stored(service: Service) -> tuple[int, int]:
    """(events, deliveries) in the service's database."""
    row = await service.sql_row(
        "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM deliveries)"
    )
    return int(row[0]), int(row[1])


async def test_a_batch_of_1000_typical_events_is_stored(
    service: Service, receiver: Receiver
) -> None:
    _account_id, auth = await service.create_account()
    await service.create_webhook(auth, url=receiver.url("/t"))
    events = [typical(i) for i in range(1000)]
    body = json.dumps({"events": events}).encode()
    assert len(body) > 4 * PER_EVENT_LIMIT  # what was a 413 before: ≈200 fitted in one call
    response = await service.client.post(
        "/v1/events/batch", content=body, headers=auth | {"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text[:500]
    answered = response.json()["data"]
    assert [e["data"]["executionId"] for e in answered] == [f"exec_{i:08d}" for i in range(1000)]
    assert await _stored(service) == (1000, 1000)
    one = await service.client.get(f"/v1/events/{answered[999]['id']}", headers=auth)
    assert one.status_code == 200
    assert one.json()["data"]["result"]["output"] == TYPICAL_OUTPUT


async def test_an_event_over_256_kib_in_a_batch_is_413_naming_it(
    service: Service, receiver: Receiver
) -> None:
    _account_id, auth = await service.create_account()
    await service.create_webhook(auth, url=receiver.url("/big"))
    events = [typical(i) for i in range(5)]
    big = typical(3)
    big["data"]["result"] = {"output": "x" * PER_EVENT_LIMIT}  # type: ignore[index]
    events[3] = big
    response = await service.client.post("/v1/events/batch", json={"events": events}, headers=auth)
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["type"] == "payload_too_large" and error["field"] == "events[3]"
    assert "events[3]" in error["message"]
    assert await _stored(service) == (0, 0)
    await asyncio.sleep(0.1)
    assert receiver.requests == []
    # Just under the limit is accepted: the limit is the event's, not the old whole-body one.
    fits = typical(3)
    fits["data"]["result"] = {"output": "x" * (PER_EVENT_LIMIT - 1024)}  # type: ignore[index]
    events[3] = fits
    accepted = await service.client.post("/v1/events/batch", json={"events": events}, headers=auth)
    assert accepted.status_code == 201, accepted.text[:500]
    assert await _stored(service) == (5, 5)


async def test_a_batch_over_16_mib_is_413_and_stores_nothing(
    service: Service, receiver: Receiver
) -> None:
    _account_id, auth = await service.create_account()
    await service.create_webhook(auth, url=receiver.url("/huge"))
    # Each event within its own limit; together over the batch's.
    event = typical(0)
    event["data"]["result"] = {"output": "y" * (200 * 1024)}  # type: ignore[index]
    body = json.dumps({"events": [event] * 90}).encode()
    assert len(body) > BATCH_LIMIT
    response = await service.client.post(
        "/v1/events/batch", content=body, headers=auth | {"Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["type"] == "payload_too_large" and str(BATCH_LIMIT) in error["message"]
    # The same size streamed without a Content-Length is refused as well.
    chunks = [body[i : i + 1024 * 1024] for i in range(0, len(body), 1024 * 1024)]

    async def stream() -> Any:
        for chunk in chunks:
            yield chunk

    streamed = await service.client.post(
        "/v1/events/batch", content=stream(), headers=auth | {"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413, streamed.text
    assert await _stored(service) == (0, 0)
    # The single-event call keeps its 256 KiB limit.
    padded = typical(0)
    padded["data"]["pad"] = "z" * PER_EVENT_LIMIT  # type: ignore[index]
    single = await service.client.post("/v1/events", json=padded, headers=auth)
    assert single.status_code == 413
    assert await _stored(service) == (0, 0)


async def test_the_batch_limit_is_a_setting(make_service: Any, receiver: Receiver) -> None:
    service = await make_service(max_batch_body_bytes=512 * 1024)
    _account_id, auth = await service.create_account()
    await service.create_webhook(auth, url=receiver.url("/s"), enabled=False)
    under = [typical(i) for i in range(300)]  # ≈400 KB
    over = [typical(i) for i in range(500)]  # ≈650 KB
    ok = await service.client.post("/v1/events/batch", json={"events": under}, headers=auth)
    assert ok.status_code == 201, ok.text[:500]
    refused = await service.client.post("/v1/events/batch", json={"events": over}, headers=auth)
    assert refused.status_code == 413
    assert await _stored(service) == (300, 0)
