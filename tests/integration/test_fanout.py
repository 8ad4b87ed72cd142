"""Fan-out: every enabled, subscribed webhook whose filters match gets its own delivery."""

from __future__ import annotations

import asyncio

from support import Receiver, Service

COMPLETED = {"executionId": "e1", "fabricId": "seo-optimizer", "result": {}, "usage": {}}


async def test_fanout_filters_and_disabled(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    everything = await service.create_webhook(
        auth, url=receiver.url("/all"), events=["fabric.completed", "fabric.failed"]
    )
    filtered_in = await service.create_webhook(
        auth,
        url=receiver.url("/seo"),
        filters={"fabricId": ["product-description", "seo-optimizer"]},
    )
    filtered_out = await service.create_webhook(
        auth, url=receiver.url("/other"), filters={"fabricId": ["product-description"]}
    )
    other_type = await service.create_webhook(
        auth, url=receiver.url("/credits"), events=["credits.low"]
    )
    disabled = await service.create_webhook(auth, url=receiver.url("/off"), enabled=False)

    event = await service.publish(account_id, "fabric.completed", COMPLETED)
    assert event["deliveryCount"] == 2
    await receiver.wait_for(1, path="/all")
    await receiver.wait_for(1, path="/seo")
    await asyncio.sleep(0.2)
    assert receiver.on("/other") == []
    assert receiver.on("/credits") == []
    assert receiver.on("/off") == []
    for webhook in (filtered_out, other_type, disabled):
        page = (
            await service.client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=auth)
        ).json()
        assert page["data"] == []
    delivered = [everything, filtered_in]
    ids = set()
    for webhook in delivered:
        [d] = await service.wait_delivery(auth, webhook["id"], status="delivered")
        assert d["eventId"] == event["id"]
        ids.add(d["id"])
    assert len(ids) == 2  # one delivery per webhook


async def test_filter_without_key_in_payload_does_not_match(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    # tier: a field the platform may add to payloads (no event type declares it)
    await service.create_webhook(
        auth, url=receiver.url("/f"), events=["credits.low"], filters={"tier": ["pro"]}
    )
    event = await service.publish(
        account_id, "credits.low", {"remaining": 1, "threshold": 10, "userId": "u"}
    )
    assert event["deliveryCount"] == 0


async def test_filter_types_are_not_confused(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    await service.create_webhook(
        auth, url=receiver.url("/n"), events=["credits.low"], filters={"tier": [1]}
    )
    as_true = await service.publish(
        account_id, "credits.low", {"remaining": 5, "threshold": 10, "userId": "u", "tier": True}
    )
    assert as_true["deliveryCount"] == 0
    as_one = await service.publish(
        account_id, "credits.low", {"remaining": 5, "threshold": 10, "userId": "u", "tier": 1.0}
    )
    assert as_one["deliveryCount"] == 1


async def test_webhook_disabled_after_publish_skips_pending_delivery(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    receiver.script("/later", [500])
    webhook = await service.create_webhook(auth, url=receiver.url("/later"))
    await service.publish(account_id, "fabric.completed", COMPLETED)
    await receiver.wait_for(1, path="/later")
    await service.client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": False}, headers=auth
    )
    [skipped] = await service.wait_delivery(auth, webhook["id"], status="skipped")
    assert skipped["lastError"] == "webhook disabled"
    assert len(receiver.on("/later")) <= 2


async def test_idempotency_key_returns_same_event(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/idem"))
    first = await service.publish(
        account_id, "fabric.completed", COMPLETED, **{"Idempotency-Key": "k1"}
    )
    second = await service.publish(
        account_id, "fabric.completed", COMPLETED, **{"Idempotency-Key": "k1"}
    )
    assert first["id"] == second["id"]
    await service.wait_delivery(auth, webhook["id"], status="delivered")
    await asyncio.sleep(0.2)
    assert len(receiver.on("/idem")) == 1
    conflict = await service.client.post(
        "/v1/events",
        json={"account": account_id, "event": "fabric.completed", "data": {**COMPLETED, "x": 1}},
        headers=service.admin() | {"Idempotency-Key": "k1"},
    )
    assert conflict.status_code == 409
    assert conflict.json()["error"]["field"] == "Idempotency-Key"
    concurrent = await asyncio.gather(
        *[
            service.client.post(
                "/v1/events",
                json={"account": account_id, "event": "fabric.completed", "data": COMPLETED},
                headers=service.admin() | {"Idempotency-Key": "k2"},
            )
            for _ in range(5)
        ]
    )
    assert {r.status_code for r in concurrent} == {201}
    assert len({r.json()["id"] for r in concurrent}) == 1
