"""Event search (id, type or pattern, time range), an event's deliveries to every webhook, and
bulk resend (by id, by time range a page at a time) against a receiver that fails, then
succeeds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from promptha_webhooks import ids

from support import ManualClock, Receiver, Service, ServiceFactory

FABRIC = {"executionId": "e1", "fabricId": "f1", "result": {"output": "x"}, "usage": {}}
CREDITS = {"remaining": 120, "threshold": 500, "userId": "user_7d2f"}
FAILURE = {"executionId": "e2", "fabricId": "f1", "error": {"type": "x", "message": "y"}}


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()


async def search(service: Service, auth: dict[str, str], **params: Any) -> list[str]:
    response = await service.client.get("/v1/events", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["data"]]


async def resend(service: Service, auth: dict[str, str], body: Any) -> dict[str, Any]:
    response = await service.client.post("/v1/deliveries/resend", json=body, headers=auth)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_search_events_by_id_type_pattern_and_time(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    clock = ManualClock()
    start = clock.now()
    service = await make_service(clock=clock)
    account_id, auth = await service.create_account()
    other_id, other_auth = await service.create_account("Other")
    completed = await service.publish(account_id, "fabric.completed", FABRIC)
    clock.advance(600)
    low = await service.publish(account_id, "credits.low", CREDITS)
    clock.advance(600)
    failed = await service.publish(account_id, "fabric.failed", FAILURE)
    foreign = await service.publish(other_id, "fabric.completed", FABRIC)

    everything = [failed["id"], low["id"], completed["id"]]
    assert await search(service, auth) == everything  # newest first, own account only
    assert await search(service, auth, type="fabric.*") == [failed["id"], completed["id"]]
    assert await search(service, auth, type="credits.low") == [low["id"]]
    assert await search(service, auth, type="*") == everything
    assert await search(service, auth, id=low["id"]) == [low["id"]]
    # Another account's event is not found, as an unknown one is.
    assert await search(service, auth, id=foreign["id"]) == []
    assert await search(service, other_auth, id=foreign["id"]) == [foreign["id"]]
    window = {"since": iso(start + 300), "until": iso(start + 900)}
    assert await search(service, auth, **window) == [low["id"]]
    assert await search(service, auth, since=iso(start + 300), type="fabric.*") == [failed["id"]]
    # Paging keeps the search.
    first = await service.client.get(
        "/v1/events", params={"type": "fabric.*", "limit": 1}, headers=auth
    )
    page = first.json()
    assert [e["id"] for e in page["data"]] == [failed["id"]] and page["hasMore"] is True
    rest = await search(service, auth, type="fabric.*", cursor=page["nextCursor"])
    assert rest == [completed["id"]]
    # The default window is the 24 h before now, unless an id is asked for.
    clock.advance(2 * 24 * 3600)
    assert await search(service, auth) == []
    assert await search(service, auth, id=completed["id"]) == [completed["id"]]


async def test_event_search_bad_input(service: Service) -> None:
    _account_id, auth = await service.create_account()
    now = datetime.now(tz=UTC).timestamp()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"type": "nope.*"}, "type"),
        ({"type": "fabric.completed.extra"}, "type"),
        ({"type": "x" * 10_000}, "type"),
        ({"id": "nope"}, "id"),
        ({"since": iso(now), "until": iso(now - 60)}, "until"),
        ({"since": "yesterday"}, "since"),
        ({"until": "later"}, "until"),
        ({"cursor": "dlv_x"}, "cursor"),
    ]
    for params, field in cases:
        response = await service.client.get("/v1/events", params=params, headers=auth)
        assert response.status_code == 400, (params, response.text)
        error = response.json()["error"]
        assert error["type"] == "invalid_request" and error.get("field") == field, (params, error)
    # A lone surrogate's bytes (what a client that does not check sends).
    for raw in ("type=%ED%A0%80", "id=evt_%ED%A0%80", "type=fabric.%00*", "id=evt_%00"):
        response = await service.client.get(f"/v1/events?{raw}", headers=auth)
        assert response.status_code == 400, (raw, response.text)


async def test_event_deliveries_to_every_webhook(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    service = await make_service(retry_schedule_s=(0.0,))
    account_id, auth = await service.create_account()
    _other_id, other_auth = await service.create_account("Other")
    receiver.script("/bad", [500])
    good = await service.create_webhook(auth, url=receiver.url("/good"))
    bad = await service.create_webhook(auth, url=receiver.url("/bad"), events=["fabric.*"])
    unsubscribed = await service.create_webhook(
        auth, url=receiver.url("/c"), events=["credits.low"]
    )
    event = await service.publish(account_id, "fabric.completed", FABRIC)
    await service.wait_delivery(auth, good["id"], status="delivered")
    await service.wait_delivery(auth, bad["id"], status="failed")

    response = await service.client.get(f"/v1/events/{event['id']}/deliveries", headers=auth)
    assert response.status_code == 200, response.text
    rows = {d["webhookId"]: d for d in response.json()["data"]}
    assert set(rows) == {good["id"], bad["id"]}  # not the webhook that did not subscribe
    assert unsubscribed["id"] not in rows
    assert rows[good["id"]]["status"] == "delivered"
    assert rows[good["id"]]["webhookUrl"] == receiver.url("/good")
    assert rows[good["id"]]["lastResponseStatus"] == 200
    assert rows[bad["id"]]["status"] == "failed"
    assert rows[bad["id"]]["attemptCount"] >= 1 and rows[bad["id"]]["lastResponseStatus"] == 500
    assert all(d["eventId"] == event["id"] for d in rows.values())

    paged = await service.client.get(
        f"/v1/events/{event['id']}/deliveries", params={"limit": 1}, headers=auth
    )
    assert paged.json()["hasMore"] is True and len(paged.json()["data"]) == 1
    # Another account's event and an unknown one look alike: 404.
    for path, who in (
        (f"/v1/events/{event['id']}/deliveries", other_auth),
        (f"/v1/events/{ids.new_id(ids.EVENT)}/deliveries", auth),
    ):
        missing = await service.client.get(path, headers=who)
        assert missing.status_code == 404, missing.text
        assert missing.json()["error"]["type"] == "not_found"
    bad_cursor = await service.client.get(
        f"/v1/events/{event['id']}/deliveries?cursor=%ED%A0%80", headers=auth
    )
    assert bad_cursor.status_code == 400


async def test_bulk_resend_by_id(make_service: ServiceFactory, receiver: Receiver) -> None:
    service = await make_service(retry_schedule_s=(0.0,))
    account_id, auth = await service.create_account()
    other_id, other_auth = await service.create_account("Other")
    receiver.script("/h", [500])
    webhook = await service.create_webhook(auth, url=receiver.url("/h"))
    for _ in range(3):
        await service.publish(account_id, "fabric.completed", FABRIC)
    failed = await service.wait_delivery(auth, webhook["id"], status="failed", count=3)
    foreign_hook = await service.create_webhook(other_auth, url=receiver.url("/other"))
    await service.publish(other_id, "fabric.completed", FABRIC)
    (foreign,) = await service.wait_delivery(other_auth, foreign_hook["id"], status="delivered")
    sent_before = len(receiver.on("/h"))

    receiver.script("/h", [200])
    unknown = ids.new_id(ids.DELIVERY)
    chosen = [failed[0]["id"], failed[1]["id"]]
    result = await resend(
        service, auth, {"deliveryIds": [*chosen, chosen[0], foreign["id"], unknown]}
    )
    assert result["resent"] == 2 and result["more"] is False
    # Another account's delivery is reported exactly as an unknown one.
    assert result["skipped"] == [
        {"id": foreign["id"], "reason": "not_found"},
        {"id": unknown, "reason": "not_found"},
    ]
    delivered = await service.wait_delivery(auth, webhook["id"], status="delivered", count=2)
    assert {d["id"] for d in delivered} == set(chosen)
    assert len(receiver.on("/h")) == sent_before + 2
    still_failed = await service.wait_delivery(auth, webhook["id"], status="failed")
    assert [d["id"] for d in still_failed] == [failed[2]["id"]]
    other_view = await service.client.get(f"/v1/deliveries/{foreign['id']}", headers=other_auth)
    assert other_view.json()["attemptCount"] == 1  # untouched

    again = await resend(service, auth, {"deliveryIds": chosen})
    assert again["resent"] == 0
    assert {s["reason"] for s in again["skipped"]} == {"delivered"}

    await service.client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": False}, headers=auth
    )
    disabled = await resend(service, auth, {"deliveryIds": [failed[2]["id"]]})
    assert disabled == {
        "object": "bulk_resend",
        "resent": 0,
        "skipped": [{"id": failed[2]["id"], "reason": "webhook_disabled"}],
        "more": False,
        "remaining": 0,
    }


async def test_bulk_resend_time_range_in_pages(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    clock = ManualClock()
    start = clock.now()
    service = await make_service(clock=clock, retry_schedule_s=(0.0,))
    account_id, auth = await service.create_account()
    other_id, other_auth = await service.create_account("Other")
    receiver.script("/a", [500])
    receiver.script("/b", [500])
    receiver.script("/o", [500])
    first = await service.create_webhook(auth, url=receiver.url("/a"))
    second = await service.create_webhook(auth, url=receiver.url("/b"))
    foreign = await service.create_webhook(other_auth, url=receiver.url("/o"))
    for _ in range(3):
        await service.publish(account_id, "fabric.completed", FABRIC)
    await service.publish(other_id, "fabric.completed", FABRIC)
    await service.wait_delivery(auth, first["id"], status="failed", count=3)
    await service.wait_delivery(auth, second["id"], status="failed", count=3)
    await service.wait_delivery(other_auth, foreign["id"], status="failed")
    clock.advance(3600)
    late = await service.publish(account_id, "fabric.completed", FABRIC)
    await service.wait_delivery(auth, first["id"], status="failed", count=4)
    await service.wait_delivery(auth, second["id"], status="failed", count=4)

    receiver.script("/a", [200])
    receiver.script("/b", [200])
    window = {"status": "failed", "since": iso(start - 1), "until": iso(start + 1800)}
    progress: list[tuple[int, int]] = []
    for _ in range(10):  # bounded: 6 deliveries, 4 a call
        result = await resend(service, auth, window | {"limit": 4})
        progress.append((result["resent"], result["remaining"]))
        if not result["more"]:
            break
    assert progress == [(4, 2), (2, 0)]
    await service.wait_delivery(auth, first["id"], status="delivered", count=3)
    await service.wait_delivery(auth, second["id"], status="delivered", count=3)
    # Outside the range, and another account's: still failed.
    for webhook in (first, second):
        (left,) = await service.wait_delivery(auth, webhook["id"], status="failed")
        assert left["eventId"] == late["id"]
    foreign_log = await service.client.get(
        f"/v1/webhooks/{foreign['id']}/deliveries", headers=other_auth
    )
    assert [d["status"] for d in foreign_log.json()["data"]] == ["failed"]

    # One webhook only.
    only = await resend(service, auth, {"status": "failed", "webhookId": first["id"]})
    assert (only["resent"], only["more"]) == (1, False)
    await service.wait_delivery(auth, first["id"], status="delivered", count=4)
    (left,) = await service.wait_delivery(auth, second["id"], status="failed")
    assert left["eventId"] == late["id"]
    # Another account's webhook is not found.
    missing = await service.client.post(
        "/v1/deliveries/resend",
        json={"status": "failed", "webhookId": foreign["id"]},
        headers=auth,
    )
    assert missing.status_code == 404, missing.text


async def post_json(service: Service, auth: dict[str, str], body: Any) -> httpx.Response:
    """The body as escaped JSON: a lone surrogate goes as its escape, as hostile clients send."""
    return await service.client.post(
        "/v1/deliveries/resend",
        content=json.dumps(body),
        headers=auth | {"Content-Type": "application/json"},
    )


async def test_bulk_resend_bad_input(service: Service, receiver: Receiver) -> None:
    _account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/h"))
    now = datetime.now(tz=UTC).timestamp()
    too_many = [ids.new_id(ids.DELIVERY) for _ in range(1001)]
    deep: Any = []
    for _ in range(200):
        deep = [deep]
    cases: list[tuple[Any, str | None]] = [
        ({}, "status"),
        ({"status": "delivered"}, "status"),
        ({"deliveryIds": []}, "deliveryIds"),
        ({"deliveryIds": too_many}, "deliveryIds"),
        ({"deliveryIds": ["\ud800"]}, "deliveryIds[0]"),
        ({"deliveryIds": ["dlv_" + "x" * 100_000]}, "deliveryIds[0]"),
        ({"deliveryIds": [1]}, None),
        ({"deliveryIds": deep}, None),
        ({"deliveryIds": [ids.new_id(ids.DELIVERY)], "since": iso(now)}, "deliveryIds"),
        ({"deliveryIds": [ids.new_id(ids.DELIVERY)], "limit": 5}, "limit"),
        ({"status": "failed", "since": iso(now), "until": iso(now - 60)}, "until"),
        ({"status": "failed", "since": "yesterday"}, "since"),
        ({"status": "failed", "limit": 0}, "limit"),
        ({"status": "failed", "limit": 1001}, "limit"),
        ({"status": "failed", "extra": 1}, "extra"),
        ([], None),
    ]
    for body, field in cases:
        response = await post_json(service, auth, body)
        assert response.status_code == 400, (str(body)[:80], response.text[:300])
        error = response.json()["error"]
        assert error["type"] == "invalid_request"
        if field is not None:
            assert error.get("field") == field, (str(body)[:80], error)
    surrogate_hook = await post_json(service, auth, {"status": "failed", "webhookId": "wh_\ud800"})
    assert surrogate_hook.status_code == 400, surrogate_hook.text
    for unknown in (ids.new_id(ids.WEBHOOK), "nope"):
        missing = await post_json(service, auth, {"status": "failed", "webhookId": unknown})
        assert missing.status_code == 404, missing.text
    log = await service.client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=auth)
    assert log.json()["data"] == []  # nothing changed
