"""POST /v1/events is answered by a plain-ASGI fast path in front of the FastAPI route
(api/publish_fast_path.py). It must answer exactly as the route does, take the common request
itself, and hand everything else to the route with the body intact."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from promptha_webhooks.api.events import router as events_router
from promptha_webhooks.api.publish_fast_path import PublishFastPath
from promptha_webhooks.services import Services

from support import Receiver, Service

COMPLETED = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}
JSON = {"Content-Type": "application/json"}


def _answer(response: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    """What a client sees, minus what differs per event (ids and times)."""
    body = response.json()
    if response.status_code == 201:
        body = {k: v for k, v in body.items() if k not in ("id", "createdAt", "timestamp")}
        body["data"] = {k: v for k, v in body["data"].items() if k != "eventId"}
    headers = {
        k: v
        for k, v in response.headers.items()
        if k in ("content-type", "idempotent-replayed", "www-authenticate")
    }
    return response.status_code, body, headers


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"event": "fabric.completed", "data": COMPLETED}, {}),
        ({"event": "fabric.completed", "data": COMPLETED}, {"Idempotency-Key": "k-1"}),
        ({"event": "fabric.exploded", "data": {}}, {}),
        ({"event": "fabric.completed", "data": {"executionId": "e"}}, {}),
        ({"event": "fabric.completed", "data": {**COMPLETED, "eventId": "evt_x"}}, {}),
        ({"account": "acct_someone_else", "event": "fabric.completed", "data": COMPLETED}, {}),
        ({"event": "fabric.completed", "data": COMPLETED}, {"Idempotency-Key": ""}),
    ],
)
async def test_the_fast_path_answers_as_the_route_does(
    service: Service, receiver: Receiver, body: dict[str, Any], headers: dict[str, str]
) -> None:
    """A new key is looked up in the database, so its first publish goes to the route; the key
    is then known and the same publish is answered by the fast path: the two answers match."""
    account_id, auth = await service.create_account()
    await service.create_webhook(auth, url=receiver.url("/hook"))
    minted = await service.client.post(f"/v1/accounts/{account_id}/keys", headers=service.admin())
    auth = {"Authorization": f"Bearer {minted.json()['key']}"}  # not used yet: not known
    answers = []
    for _ in range(2):
        response = await service.client.post("/v1/events", json=body, headers=auth | JSON | headers)
        answers.append(_answer(response))
    assert answers[0][0] in (201, 400, 404)
    if "Idempotency-Key" in headers and answers[0][0] == 201:
        # the second answer replays the first event
        assert answers[1][2].pop("idempotent-replayed") == "true"
    assert answers[1] == answers[0]


async def test_a_fast_path_publish_is_stored_delivered_and_counted(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/hook"))
    fallbacks: list[bytes] = []
    fast = _fast_path_alone(service, fallbacks)
    await service.client.get("/v1/webhooks", headers=auth)  # the key is now known
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fast), base_url="http://api"
    ) as client:
        response = await client.post(
            "/v1/events", json={"event": "fabric.completed", "data": COMPLETED}, headers=auth
        )
    assert fallbacks == []
    assert response.status_code == 201, response.text
    event = response.json()
    assert event["accountId"] == account_id and event["deliveryCount"] == 1
    stored = await service.client.get(f"/v1/events/{event['id']}", headers=auth)
    assert stored.status_code == 200 and stored.json()["data"] == event["data"]
    [delivery] = await service.wait_delivery(auth, webhook["id"], status="delivered")
    assert delivery["eventId"] == event["id"]
    assert len(receiver.on("/hook")) == 1


@pytest.mark.parametrize(
    ("content", "headers", "known_key"),
    [
        (b'{"event": "fabric.completed", "data": {', JSON, True),  # malformed
        (b'{"event": "fabric.completed", "data": {"x": NaN}}', JSON, True),  # not strict JSON
        (b'{"event": "fabric.completed", "data": {}, "surprise": 1}', JSON, True),  # schema
        (b'{"event": "fabric.completed", "data": {}}', {"Content-Type": "text/plain"}, True),
        (b'{"event": "fabric.completed", "data": {}}', {}, True),  # no content type
        (b'{"event": "fabric.completed", "data": {}}', JSON, False),  # key not yet known
    ],
)
async def test_everything_else_goes_to_the_route_with_its_body(
    service: Service, content: bytes, headers: dict[str, str], known_key: bool
) -> None:
    _account_id, auth = await service.create_account()
    if known_key:
        await service.client.get("/v1/webhooks", headers=auth)
    fallbacks: list[bytes] = []
    fast = _fast_path_alone(service, fallbacks)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fast), base_url="http://api"
    ) as client:
        response = await client.post("/v1/events", content=content, headers=auth | headers)
    assert response.status_code == 599
    assert fallbacks == [content]


async def test_fast_path_requests_are_in_the_route_metrics(service: Service) -> None:
    account_id, _auth = await service.create_account()
    for _ in range(3):
        await service.publish(account_id, "fabric.completed", COMPLETED)
    metrics = (await service.client.get("/metrics")).text
    line = next(
        line
        for line in metrics.splitlines()
        if line.startswith("promptha_http_request_duration_seconds_count")
        and 'route="/v1/events"' in line
        and 'method="POST"' in line
        and 'status="201"' in line
    )
    assert float(line.rsplit(" ", 1)[1]) == 3


def _fast_path_alone(service: Service, fallbacks: list[bytes]) -> PublishFastPath:
    """The fast path in front of a stand-in for the route that records the body it was handed
    and answers 599."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        fallbacks.append(body)
        await send({"type": "http.response.start", "status": 599, "headers": []})
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
