"""`POST /v1/events/batch`: up to 1,000 events in one transaction, all stored or none."""

from __future__ import annotations

import asyncio
import json

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
