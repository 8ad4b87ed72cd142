"""Who may publish what, and where: a publish to an account that does not exist is a 404 whatever
else the request holds (an Idempotency-Key, a batch, keys per event), and the operational alert
types are the platform's (403 to an account key). Both on the FastAPI route and on the publish
fast path (api/publish_fast_path.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from promptha_webhooks.api.events import router as events_router
from promptha_webhooks.api.publish_fast_path import PublishFastPath
from promptha_webhooks.catalog import EVENT_TYPES_BY_NAME, OPERATIONAL_EVENT_NAMES
from promptha_webhooks.services import Services

from support import Receiver, Service

COMPLETED = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}
UNKNOWN_ACCOUNT = "acct_01JDQ3W6Z5K1V8R4T2N9M0B7XC"
FALLBACK_STATUS = 599


def fast_path_alone(service: Service, fallbacks: list[bytes]) -> PublishFastPath:
    """The service's publish fast path in front of a stand-in for the route, which records
    what it was handed and answers 599: an answer other than 599 is the fast path's own."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        fallbacks.append((await receive()).get("body", b""))
        await send({"type": "http.response.start", "status": FALLBACK_STATUS, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def services() -> Services:
        current: Services = service.app.state.services
        return current

    [publish_route] = [
        r
        for r in events_router.routes
        if getattr(r, "path", "") == "/v1/events" and "POST" in getattr(r, "methods", ())
    ]
    return PublishFastPath(route, services=services, route=publish_route)


async def fast_path_post(
    service: Service, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    fallbacks: list[bytes] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fast_path_alone(service, fallbacks)),
        base_url="http://api",
    ) as client:
        response = await client.post("/v1/events", json=body, headers=headers)
    assert fallbacks == [], "the fast path handed the request to the route"
    return response


async def new_admin_key(service: Service) -> dict[str, str]:
    """An admin key of the database, unknown to the process until its first use: that first
    publish is answered by the route, later ones by the fast path."""
    created = await service.app.state.services.create_admin_key()
    return {"Authorization": f"Bearer {created.key}"}


def assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["error"] == {
        "type": "not_found",
        "message": f"No account {UNKNOWN_ACCOUNT}",
        "field": "account",
    }


@pytest.mark.parametrize("idempotency_key", [None, "exec_9f3a2c71-completed"])
async def test_publishing_to_an_unknown_account_is_404(
    service: Service, idempotency_key: str | None
) -> None:
    """What `promptha-webhooks events publish --account <typo>` sends: it always sends a key."""
    key_header = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    body = {"account": UNKNOWN_ACCOUNT, "event": "fabric.completed", "data": COMPLETED}
    admin = await new_admin_key(service)
    by_route = await service.client.post("/v1/events", json=body, headers=admin | key_header)
    assert_not_found(by_route)
    assert_not_found(await fast_path_post(service, body, admin | key_header))
    assert_not_found(await fast_path_post(service, body, service.admin() | key_header))
    # ... and again, now that the key was tried once (a replay must not turn it into a 201)
    assert_not_found(await fast_path_post(service, body, service.admin() | key_header))


@pytest.mark.parametrize("keys", [(None, None), ("k-1", None), ("k-1", "k-2")])
async def test_a_batch_to_an_unknown_account_is_404(
    service: Service, keys: tuple[str | None, str | None]
) -> None:
    events = [
        {"event": "fabric.completed", "data": COMPLETED} | ({"idempotencyKey": key} if key else {})
        for key in keys
    ]
    for _ in range(2):
        response = await service.client.post(
            "/v1/events/batch",
            json={"account": UNKNOWN_ACCOUNT, "events": events},
            headers=service.admin(),
        )
        assert_not_found(response)


async def test_publishing_to_a_deleted_account_is_404(service: Service) -> None:
    account_id, _auth = await service.create_account()
    await service.publish(account_id, "fabric.completed", COMPLETED, **{"Idempotency-Key": "a"})
    deleted = await service.client.delete(f"/v1/accounts/{account_id}", headers=service.admin())
    assert deleted.status_code == 204
    for key in ("a", "b"):
        response = await service.client.post(
            "/v1/events",
            json={"account": account_id, "event": "fabric.completed", "data": COMPLETED},
            headers=service.admin() | {"Idempotency-Key": key},
        )
        assert response.status_code == 404, response.text


def _alert(event: str) -> dict[str, Any]:
    return {"event": event, "data": dict(EVENT_TYPES_BY_NAME[event].sample)}


@pytest.mark.parametrize("event", sorted(OPERATIONAL_EVENT_NAMES))
async def test_account_keys_cannot_publish_operational_alerts(
    service: Service, receiver: Receiver, event: str
) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/alerts"), events=[event])
    denied = {
        "type": "permission_denied",
        "message": f"{event} is an operational alert the platform publishes; "
        "an account key may publish the other event types",
    }
    # The route (the key is new to the process), then the fast path (it is known now).
    for _ in range(2):
        response = await service.client.post("/v1/events", json=_alert(event), headers=auth)
        assert response.status_code == 403, response.text
        assert response.json()["error"] == denied | {"field": "event"}
    fast = await fast_path_post(service, _alert(event), auth | {"Idempotency-Key": "forged"})
    assert fast.status_code == 403 and fast.json()["error"] == denied | {"field": "event"}
    batch = await service.client.post(
        "/v1/events/batch",
        json={"events": [{"event": "fabric.completed", "data": COMPLETED}, _alert(event)]},
        headers=auth,
    )
    assert batch.status_code == 403, batch.text
    assert batch.json()["error"] == denied | {"field": "events[1].event"}
    listed = await service.client.get("/v1/events", headers=auth)
    assert listed.json()["data"] == []  # nothing stored, not even the batch's first event

    # The platform may publish them (admin key), and the account may test its own endpoint.
    published = await service.publish(account_id, event, _alert(event)["data"])
    assert published["deliveryCount"] == 1
    test = await service.client.post(
        "/v1/webhooks/test", json={"webhookId": webhook["id"], "event": event}, headers=auth
    )
    assert test.status_code == 200 and test.json()["success"] is True, test.text
    arrived = await receiver.wait_for(2, path="/alerts")
    assert [r.headers.get("x-promptha-test") for r in arrived].count("true") == 1
    assert len(receiver.on("/alerts")) == 2
