"""Recovery: re-queue a webhook's failed and skipped deliveries in a window (dry run first),
and list the events an account never received."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from support import ManualClock, Receiver, Service, ServiceFactory

PAYLOAD = {"executionId": "e1", "fabricId": "f1", "result": {"output": "x"}, "usage": {}}


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()


async def undelivered(service: Service, auth: dict[str, str], since: float) -> list[str]:
    response = await service.client.get(
        "/v1/events", params={"undelivered": "true", "since": iso(since)}, headers=auth
    )
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["data"]]


async def test_recover_failed_deliveries_in_window(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    clock = ManualClock()
    start = clock.now()
    service = await make_service(clock=clock, retry_schedule_s=(0.0,))
    account_id, auth = await service.create_account()
    receiver.script("/h", [500])
    webhook = await service.create_webhook(auth, url=receiver.url("/h"))
    early: list[dict[str, Any]] = []
    for _ in range(3):
        early.append(await service.publish(account_id, "fabric.completed", PAYLOAD))
    await service.wait_delivery(auth, webhook["id"], status="failed", count=3)
    clock.advance(3600)
    late = await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, webhook["id"], status="failed", count=4)

    assert sorted(await undelivered(service, auth, start - 1)) == sorted(
        [e["id"] for e in early] + [late["id"]]
    )
    assert await undelivered(service, auth, start + 1800) == [late["id"]]

    url = f"/v1/webhooks/{webhook['id']}/recover"
    window = {"since": iso(start - 1), "until": iso(start + 1800)}
    dry = await service.client.post(url, json=window | {"dryRun": True}, headers=auth)
    assert dry.status_code == 200, dry.text
    assert dry.json()["count"] == 3 and dry.json()["dryRun"] is True
    assert len(receiver.on("/h")) == 4  # a dry run sends nothing

    receiver.script("/h", [200])
    done = await service.client.post(url, json=window, headers=auth)
    assert done.status_code == 200 and done.json()["count"] == 3
    delivered = await service.wait_delivery(auth, webhook["id"], status="delivered", count=3)
    assert {d["eventId"] for d in delivered} == {e["id"] for e in early}
    detail = (await service.client.get(f"/v1/deliveries/{delivered[0]['id']}", headers=auth)).json()
    assert [a["responseStatus"] for a in detail["attempts"]] == [500, 200]
    assert detail["attemptCount"] == 1  # a fresh retry schedule
    assert await undelivered(service, auth, start - 1) == [late["id"]]
    again = await service.client.post(url, json=window | {"dryRun": True}, headers=auth)
    assert again.json()["count"] == 0


async def test_recover_skipped_after_reenabling(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    clock = ManualClock()
    service = await make_service(clock=clock, retry_schedule_s=(0.0,))
    account_id, auth = await service.create_account()
    receiver.script("/h", [410])
    webhook = await service.create_webhook(auth, url=receiver.url("/h"))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, webhook["id"], status="failed")
    for _ in range(2):
        await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, webhook["id"], status="skipped", count=2)

    url = f"/v1/webhooks/{webhook['id']}/recover"
    window = {"since": int(clock.now()) - 60}  # Unix seconds work too
    dry = await service.client.post(url, json=window | {"dryRun": True}, headers=auth)
    assert dry.json()["count"] == 3
    refused = await service.client.post(url, json=window, headers=auth)
    assert refused.status_code == 409
    assert "enable it first" in refused.json()["error"]["message"]

    receiver.script("/h", [200])
    await service.client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": True}, headers=auth
    )
    done = await service.client.post(url, json=window, headers=auth)
    assert done.json()["count"] == 3
    await service.wait_delivery(auth, webhook["id"], status="delivered", count=3)
    assert len(receiver.on("/h")) == 4


async def test_recovery_bad_input(service: Service, receiver: Receiver) -> None:
    _account_id, auth = await service.create_account()
    _other, other_auth = await service.create_account("Other")
    webhook = await service.create_webhook(auth, url=receiver.url("/h"))
    url = f"/v1/webhooks/{webhook['id']}/recover"
    now = datetime.now(tz=UTC).timestamp()
    cases: list[tuple[Any, str | None]] = [
        ({}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"since": iso(now - 60), "until": iso(now - 120)}, "until"),
        ({"since": iso(now + 3600)}, "since"),
        ({"since": iso(now - 60), "dryRun": "yes"}, "dryRun"),
        ({"since": iso(now - 60), "extra": 1}, "extra"),
        ([], None),
    ]
    for body, field in cases:
        response = await service.client.post(url, json=body, headers=auth)
        assert response.status_code == 400, (body, response.text)
        error = response.json()["error"]
        assert error["type"] == "invalid_request"
        if field is not None:
            assert error.get("field") == field, (body, error)
    missing = await service.client.post(url, json={"since": iso(now - 60)}, headers=other_auth)
    assert missing.status_code == 404
    for params in ({"since": "soon"}, {"undelivered": "maybe"}, {"cursor": "nope"}):
        response = await service.client.get("/v1/events", params=params, headers=auth)
        assert response.status_code == 400, (params, response.text)
