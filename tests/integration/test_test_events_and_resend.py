"""`POST /v1/webhooks/test` (the guide's exact call) and `POST /v1/deliveries/{id}/retry`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

from support import Receiver, Service, ServiceFactory

PAYLOAD = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}


async def test_guide_test_event_call(service: Service, receiver: Receiver) -> None:
    _account_id, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=receiver.url("/t"), secret="your_webhook_secret", events=["credits.low"]
    )
    response = await service.client.post(
        "/v1/webhooks/test",
        json={
            "webhookId": webhook["id"],
            "event": "fabric.completed",
            "data": {"executionId": "test_123", "result": {"output": "Test result"}},
        },
        headers=auth,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["success"] is True
    assert result["delivery"]["status"] == "delivered"
    assert result["delivery"]["isTest"] is True
    [attempt] = result["delivery"]["attempts"]
    assert attempt["trigger"] == "test"
    assert attempt["responseStatus"] == 200

    [request] = receiver.on("/t")
    assert request.headers["x-promptha-test"] == "true"
    body = json.loads(request.body)
    assert body["event"] == "fabric.completed"
    # Given fields win; fields the catalogue names are filled from the sample.
    assert body["data"]["executionId"] == "test_123"
    assert body["data"]["result"] == {"output": "Test result"}
    assert "fabricId" in body["data"] and "usage" in body["data"]
    timestamp = request.headers["x-promptha-timestamp"]
    expected = hmac.new(
        b"your_webhook_secret", f"{timestamp}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers["x-promptha-signature"] == expected
    log = (
        await service.client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=auth)
    ).json()
    assert [d["id"] for d in log["data"]] == [result["delivery"]["id"]]


async def test_test_event_reports_failure_without_retrying(
    service: Service, receiver: Receiver
) -> None:
    _account_id, auth = await service.create_account()
    receiver.script("/bad", [500])
    webhook = await service.create_webhook(auth, url=receiver.url("/bad"))
    response = await service.client.post(
        "/v1/webhooks/test",
        json={"webhookId": webhook["id"], "event": "credits.low"},
        headers=auth,
    )
    result = response.json()
    assert result["success"] is False
    assert result["delivery"]["status"] == "failed"
    assert result["delivery"]["attempts"][0]["responseStatus"] == 500
    assert result["delivery"]["attempts"][0]["responseBody"] == "answer 500"


async def test_test_event_unknown_webhook_is_404(service: Service) -> None:
    _account_id, auth = await service.create_account()
    response = await service.client.post(
        "/v1/webhooks/test",
        json={"webhookId": "wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC", "event": "fabric.completed"},
        headers=auth,
    )
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "webhookId"


async def test_resend_failed_delivery(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    receiver.script("/r", [400])
    webhook = await service.create_webhook(auth, url=receiver.url("/r"))
    await service.publish(
        account_id,
        "fabric.completed",
        {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}},
    )
    [failed] = await service.wait_delivery(auth, webhook["id"], status="failed")
    receiver.script("/r", [200])
    response = await service.client.post(f"/v1/deliveries/{failed['id']}/retry", headers=auth)
    assert response.status_code == 200
    detail = response.json()
    assert detail["status"] == "delivered"
    assert [a["trigger"] for a in detail["attempts"]] == ["scheduled", "manual"]
    assert [a["responseStatus"] for a in detail["attempts"]] == [400, 200]
    first, second = receiver.on("/r")
    assert first.body == second.body
    assert second.headers["x-promptha-attempt"] == "2"
    assert second.headers["x-promptha-delivery-id"] == failed["id"]


async def test_delivery_detail_has_full_attempt_log(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/log"))
    event = await service.publish(
        account_id,
        "fabric.completed",
        {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}},
    )
    [delivery] = await service.wait_delivery(auth, webhook["id"], status="delivered")
    detail = (await service.client.get(f"/v1/deliveries/{delivery['id']}", headers=auth)).json()
    assert detail["eventId"] == event["id"]
    assert detail["payload"]["data"]["eventId"] == event["id"]
    [attempt] = detail["attempts"]
    [request] = receiver.on("/log")
    assert attempt["requestBody"].encode() == request.body
    assert (
        attempt["requestHeaders"]["x-promptha-signature"] == request.headers["x-promptha-signature"]
    )
    assert attempt["responseHeaders"]["content-type"].startswith("text/plain")
    assert attempt["responseBody"] == "answer 200"
    assert attempt["error"] is None
    assert attempt["startedAt"] <= attempt["finishedAt"]
    assert attempt["url"] == receiver.url("/log")


async def test_delivery_log_filters(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    receiver.script("/mixed", [200])
    webhook = await service.create_webhook(
        auth, url=receiver.url("/mixed"), events=["fabric.completed", "credits.low"]
    )
    await service.publish(
        account_id,
        "fabric.completed",
        {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}},
    )
    await service.publish(
        account_id, "credits.low", {"remaining": 1, "threshold": 2, "userId": "u"}
    )
    await service.wait_delivery(auth, webhook["id"], status="delivered", count=2)
    only_credits = (
        await service.client.get(
            f"/v1/webhooks/{webhook['id']}/deliveries",
            params={"event": "credits.low"},
            headers=auth,
        )
    ).json()
    assert [d["event"] for d in only_credits["data"]] == ["credits.low"]
    none_failed = (
        await service.client.get(
            f"/v1/webhooks/{webhook['id']}/deliveries", params={"status": "failed"}, headers=auth
        )
    ).json()
    assert none_failed["data"] == []
    bad = await service.client.get(
        f"/v1/webhooks/{webhook['id']}/deliveries", params={"status": "lost"}, headers=auth
    )
    assert bad.status_code == 400


async def test_resend_pending_keeps_schedule_on_failure(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    service = await make_service(retry_schedule_s=(0.0, 30.0, 30.0))
    account_id, auth = await service.create_account()
    receiver.script("/p", [503])
    webhook = await service.create_webhook(auth, url=receiver.url("/p"))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await receiver.wait_for(1, path="/p")
    for _ in range(200):  # the first attempt's result is written just after it arrives
        [pending] = await service.wait_delivery(auth, webhook["id"], status="pending")
        if pending["attemptCount"] == 1:
            break
        await asyncio.sleep(0.02)
    assert pending["attemptCount"] == 1
    failed_resend = (
        await service.client.post(f"/v1/deliveries/{pending['id']}/retry", headers=auth)
    ).json()
    assert failed_resend["status"] == "pending"
    assert failed_resend["nextAttemptAt"] == pending["nextAttemptAt"]
    receiver.script("/p", [200])
    ok = (await service.client.post(f"/v1/deliveries/{pending['id']}/retry", headers=auth)).json()
    assert ok["status"] == "delivered"
    assert ok["nextAttemptAt"] is None
    assert [a["trigger"] for a in ok["attempts"]] == ["scheduled", "manual", "manual"]


async def test_delivery_log_paginates(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/many"))
    published = [
        (await service.publish(account_id, "fabric.completed", PAYLOAD))["id"] for _ in range(5)
    ]
    await service.wait_delivery(auth, webhook["id"], status="delivered", count=5)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (
            await service.client.get(
                f"/v1/webhooks/{webhook['id']}/deliveries", params=params, headers=auth
            )
        ).json()
        assert len(page["data"]) <= 2
        seen += [d["eventId"] for d in page["data"]]
        if not page["hasMore"]:
            break
        cursor = page["nextCursor"]
    assert seen == list(reversed(published))
