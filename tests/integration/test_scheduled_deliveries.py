"""Scheduled deliveries (`deliverAt`) and cancels, on SQLite and PostgreSQL with a real
receiver on loopback: nothing arrives before its time, everything after it; a cancelled
delivery is never sent; an in-flight one is never both sent and cancelled."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from support import ReceivedRequest, Receiver, Service, ServiceFactory

PAYLOAD = {
    "executionId": "exec_1",
    "fabricId": "f",
    "result": {"output": "x"},
    "usage": {"totalTokens": 1},
}


def rfc3339(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).isoformat().replace("+00:00", "Z")


async def publish_at(
    service: Service, account_id: str, deliver_at: str | None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"account": account_id, "event": "fabric.completed", "data": PAYLOAD}
    if deliver_at is not None:
        body["deliverAt"] = deliver_at
    response = await service.client.post("/v1/events", json=body | extra, headers=service.admin())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def event_deliveries(
    service: Service, auth: dict[str, str], event_id: str
) -> list[dict[str, Any]]:
    response = await service.client.get(f"/v1/events/{event_id}/deliveries", headers=auth)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_scheduled_delivery_waits_for_its_time(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    hook = await service.create_webhook(auth, url=receiver.url("/later"))
    due = time.time() + 2.0
    event = await publish_at(service, account_id, rfc3339(due))
    assert event["deliverAt"] is not None
    assert abs(datetime.fromisoformat(event["deliverAt"]).timestamp() - due) < 0.01
    # stored pending, its next attempt at deliverAt
    [delivery] = await event_deliveries(service, auth, event["id"])
    assert delivery["status"] == "pending"
    assert abs(datetime.fromisoformat(delivery["nextAttemptAt"]).timestamp() - due) < 0.01
    assert (await service.client.get(f"/v1/events/{event['id']}", headers=auth)).json()[
        "deliverAt"
    ] == event["deliverAt"]

    [request] = await receiver.wait_for(1, path="/later", timeout=20)
    assert request.received_at >= due - 0.001  # not early
    assert json.loads(request.body)["data"]["eventId"] == event["id"]
    await service.wait_delivery(auth, hook["id"], status="delivered")

    # an event without deliverAt says so; a deliverAt in the past is delivered at once
    now_event = await publish_at(service, account_id, None)
    assert now_event["deliverAt"] is None
    past = await publish_at(service, account_id, rfc3339(time.time() - 3600))
    assert past["deliverAt"] == past["createdAt"]  # due at once
    ancient = await publish_at(service, account_id, "0001-01-01T00:00:00+23:59")
    assert ancient["deliverAt"] == ancient["createdAt"]
    await receiver.wait_for(4, path="/later")
    await service.wait_delivery(auth, hook["id"], status="delivered", count=4)


async def test_offsets_and_batch(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    await service.create_webhook(auth, url=receiver.url("/batch"))
    due = time.time() + 1.5
    offset = datetime.fromtimestamp(due, tz=UTC).astimezone(timezone(timedelta(hours=2)))
    response = await service.client.post(
        "/v1/events/batch",
        json={
            "account": account_id,
            "events": [
                {"event": "fabric.completed", "data": PAYLOAD, "deliverAt": offset.isoformat()},
                {"event": "fabric.completed", "data": PAYLOAD},
            ],
        },
        headers=service.admin(),
    )
    assert response.status_code == 201, response.text
    later, now = response.json()["data"]
    assert later["deliverAt"] is not None and now["deliverAt"] is None
    requests = await receiver.wait_for(2, path="/batch", timeout=20)
    by_event = {json.loads(r.body)["data"]["eventId"]: r for r in requests}
    assert by_event[now["id"]].received_at <= by_event[later["id"]].received_at
    assert by_event[later["id"]].received_at >= due - 0.001


async def test_cancel_before_sending(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    first = await service.create_webhook(auth, url=receiver.url("/cancelled"))
    second = await service.create_webhook(auth, url=receiver.url("/cancelled"))
    control = await service.create_webhook(
        auth, url=receiver.url("/control"), events=["credits.low"]
    )
    due = time.time() + 2.0
    event = await publish_at(service, account_id, rfc3339(due))
    response = await service.client.delete(f"/v1/events/{event['id']}/deliveries", headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["cancelled"] == 2 and body["eventId"] == event["id"]
    assert {d["webhookId"] for d in body["deliveries"]} == {first["id"], second["id"]}
    assert {d["status"] for d in body["deliveries"]} == {"cancelled"}
    assert all(d["nextAttemptAt"] is None for d in body["deliveries"])
    # again: nothing left to cancel
    again = await service.client.delete(f"/v1/events/{event['id']}/deliveries", headers=auth)
    assert again.json()["cancelled"] == 0
    one = body["deliveries"][0]["id"]
    conflict = await service.client.post(f"/v1/deliveries/{one}/cancel", headers=auth)
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["error"]["type"] == "conflict"

    # A control event due after the cancelled one's time arrives: by then the cancelled one
    # would have been sent.
    response = await service.client.post(
        "/v1/events",
        json={
            "account": account_id,
            "event": "credits.low",
            "data": {"remaining": 1, "threshold": 5, "userId": "u"},
            "deliverAt": rfc3339(due + 0.5),
        },
        headers=service.admin(),
    )
    assert response.status_code == 201, response.text
    await receiver.wait_for(1, path="/control", timeout=20)
    await service.wait_delivery(auth, control["id"], status="delivered")
    assert receiver.on("/cancelled") == []
    for hook in (first, second):
        [row] = await service.wait_delivery(auth, hook["id"], status="cancelled")
        assert row["attemptCount"] == 0
    # the log filters by the new status; stats count no failure for a cancel
    stats = (await service.client.get("/v1/stats", params={"window": "1h"}, headers=auth)).json()
    assert stats["failed"] == 0 and stats["failuresByReason"] == []
    health = (await service.client.get(f"/v1/webhooks/{first['id']}", headers=auth)).json()
    assert health["enabled"] is True

    # a cancelled delivery may be resent: an explicit action
    resent = await service.client.post(f"/v1/deliveries/{one}/retry", headers=auth)
    assert resent.status_code == 200, resent.text
    assert resent.json()["status"] == "delivered"
    assert len(receiver.on("/cancelled")) == 1


async def test_cancel_one_delivery(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    kept = await service.create_webhook(auth, url=receiver.url("/kept"))
    dropped = await service.create_webhook(auth, url=receiver.url("/dropped"))
    event = await publish_at(service, account_id, rfc3339(time.time() + 1.5))
    by_hook = {d["webhookId"]: d["id"] for d in await event_deliveries(service, auth, event["id"])}
    response = await service.client.post(
        f"/v1/deliveries/{by_hook[dropped['id']]}/cancel", headers=auth
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled" and response.json()["attempts"] == []
    await receiver.wait_for(1, path="/kept", timeout=20)
    await service.wait_delivery(auth, kept["id"], status="delivered")
    # after success: 409, and the event's cancel cancels nothing
    done = await service.client.post(f"/v1/deliveries/{by_hook[kept['id']]}/cancel", headers=auth)
    assert done.status_code == 409
    assert "already delivered" in done.json()["error"]["message"]
    after = await service.client.delete(f"/v1/events/{event['id']}/deliveries", headers=auth)
    assert after.json()["cancelled"] == 0
    assert {d["status"] for d in after.json()["deliveries"]} == {"delivered", "cancelled"}
    assert receiver.on("/dropped") == []


async def test_in_flight_is_not_cancelled(service: Service, receiver: Receiver) -> None:
    """A delivery a worker holds (its attempt on the wire) is not cancellable: 409, and it
    ends delivered, never both sent and cancelled."""
    release = asyncio.Event()

    async def held(_request: ReceivedRequest) -> web.Response:
        await asyncio.wait_for(release.wait(), 15)
        return web.Response(status=200)

    receiver.responders["/held"] = held
    account_id, auth = await service.create_account()
    hook = await service.create_webhook(auth, url=receiver.url("/held"))
    event = await publish_at(service, account_id, None)
    await receiver.wait_for(1, path="/held")
    [delivery] = await event_deliveries(service, auth, event["id"])
    response = await service.client.post(f"/v1/deliveries/{delivery['id']}/cancel", headers=auth)
    assert response.status_code == 409, response.text
    assert "in flight" in response.json()["error"]["message"]
    whole = await service.client.delete(f"/v1/events/{event['id']}/deliveries", headers=auth)
    assert whole.json()["cancelled"] == 0
    release.set()
    [row] = await service.wait_delivery(auth, hook["id"], status="delivered")
    assert row["id"] == delivery["id"]


async def test_cancel_racing_the_claim(make_service: ServiceFactory, receiver: Receiver) -> None:
    """Cancels sent while the deliveries fall due: each delivery ends either cancelled (and
    never arrived) or delivered (and arrived), never both."""
    service = await make_service(poll_interval_s=0.01)
    account_id, auth = await service.create_account()
    hook = await service.create_webhook(auth, url=receiver.url("/race"))
    due = time.time() + 1.0
    events = [await publish_at(service, account_id, rfc3339(due)) for _ in range(30)]
    delay = due - time.time()
    if delay > 0:
        await asyncio.sleep(delay)  # cancel just as they fall due
    answers = await asyncio.gather(
        *(
            service.client.delete(f"/v1/events/{event['id']}/deliveries", headers=auth)
            for event in events
        )
    )
    assert all(answer.status_code == 200 for answer in answers)
    cancelled = sum(answer.json()["cancelled"] for answer in answers)
    delivered = 30 - cancelled
    if delivered:
        await receiver.wait_for(delivered, path="/race")
        await service.wait_delivery(auth, hook["id"], status="delivered", count=delivered)
    final = []
    for event in events:
        [row] = await event_deliveries(service, auth, event["id"])
        final.append(row)
    arrived = {json.loads(r.body)["data"]["eventId"] for r in receiver.on("/race")}
    for event, row in zip(events, final, strict=True):
        assert row["status"] in ("cancelled", "delivered")
        assert (row["status"] == "delivered") == (event["id"] in arrived)
    assert sum(row["status"] == "cancelled" for row in final) == cancelled


async def test_other_account_and_unknown_ids(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    await service.create_webhook(auth, url=receiver.url("/mine"))
    event = await publish_at(service, account_id, rfc3339(time.time() + 600))
    [delivery] = await event_deliveries(service, auth, event["id"])
    _other, other_auth = await service.create_account("Other")
    for path, method in (
        (f"/v1/events/{event['id']}/deliveries", "DELETE"),
        (f"/v1/deliveries/{delivery['id']}/cancel", "POST"),
        ("/v1/events/evt_nope/deliveries", "DELETE"),
        ("/v1/deliveries/dlv_nope/cancel", "POST"),
        ("/v1/deliveries/%ED%A0%80/cancel", "POST"),  # a lone surrogate, UTF-8 encoded
    ):
        response = await service.client.request(method, path, headers=other_auth)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["type"] == "not_found"
    [still] = await event_deliveries(service, auth, event["id"])
    assert still["status"] == "pending"


async def test_bad_deliver_at_is_refused(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    hook = await service.create_webhook(auth, url=receiver.url("/bad"))
    now = time.time()
    bad: list[Any] = [
        "\ud800",
        "2026-12-24T09:00:00",  # no offset
        "2026-12-24",
        "2026-13-40T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "tomorrow",
        "2026-12-24T09:00:00Z\n",
        "x" * 200_000,  # under the body limit: the field itself is refused
        rfc3339(now + 31 * 24 * 3600),  # more than 30 days ahead
        "9999-12-31T23:59:59Z",
        1767000000,
        True,
        {"at": "2026-12-24T09:00:00Z"},
        [[[[[[[["x"]]]]]]]],
    ]
    bodies = [
        json.dumps(
            {"account": account_id, "event": "fabric.completed", "data": PAYLOAD, "deliverAt": v}
        )
        for v in bad
    ]
    prefix = json.dumps({"account": account_id, "event": "fabric.completed", "data": PAYLOAD})
    bodies.append(prefix[:-1] + ', "deliverAt": ' + "[" * 50_000 + "]" * 50_000 + "}")
    for value, body in zip([*bad, "deep"], bodies, strict=True):
        response = await service.client.post(
            "/v1/events",
            content=body,
            headers=service.admin() | {"Content-Type": "application/json"},
        )
        assert response.status_code == 400, (repr(value)[:80], response.text[:300])
        error = response.json()["error"]
        assert error["type"] == "invalid_request"
        assert error.get("field") in ("deliverAt", "body.deliverAt", None), error
    batch = await service.client.post(
        "/v1/events/batch",
        json={
            "account": account_id,
            "events": [
                {"event": "fabric.completed", "data": PAYLOAD},
                {"event": "fabric.completed", "data": PAYLOAD, "deliverAt": "2026-02-30T00:00Z"},
            ],
        },
        headers=service.admin(),
    )
    assert batch.status_code == 400, batch.text
    assert batch.json()["error"]["field"] == "events[1].deliverAt"
    # nothing stored, nothing sent; 30 days ahead exactly is fine
    page = await service.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth)
    assert page.json()["data"] == []
    fine = await publish_at(service, account_id, rfc3339(time.time() + 30 * 24 * 3600 - 60))
    assert fine["deliveryCount"] == 1
    assert receiver.on("/bad") == []


async def test_idempotency_key_covers_deliver_at(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    await service.create_webhook(auth, url=receiver.url("/once"))
    body = {"account": account_id, "event": "fabric.completed", "data": PAYLOAD}
    later = rfc3339(time.time() + 3600)
    past = "2020-01-01T00:00:00Z"
    for key, deliver_at in (("k-later", later), ("k-past", past)):
        headers = service.admin() | {"Idempotency-Key": key}
        first = await service.client.post(
            "/v1/events", json=body | {"deliverAt": deliver_at}, headers=headers
        )
        assert first.status_code == 201, first.text
        again = await service.client.post(
            "/v1/events", json=body | {"deliverAt": deliver_at}, headers=headers
        )
        assert again.status_code == 201, again.text
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["deliverAt"] == first.json()["deliverAt"]
    other = await service.client.post(
        "/v1/events",
        json=body | {"deliverAt": rfc3339(time.time() + 7200)},
        headers=service.admin() | {"Idempotency-Key": "k-later"},
    )
    assert other.status_code == 409, other.text
    await receiver.wait_for(1, path="/once")  # the past one, once
    assert len(receiver.on("/once")) == 1
