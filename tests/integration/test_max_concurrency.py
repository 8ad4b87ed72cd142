"""A webhook's maxConcurrency: the API stores and validates it, and the worker never has more
requests in flight to the webhook than it allows (real receivers on 127.0.0.1, both backends).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from support import Service, ServiceFactory, loopback_receiver

COMPLETED = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}
DELIVERIES = 20
# A request is held until this many are in flight at once, or HOLD_S has passed: a cap of 2
# never lets the gate open (each request then takes HOLD_S), a cap above 2 opens it.
GATE = 3
HOLD_S = 0.3


class CountingReceiver:
    """An aiohttp receiver that counts the requests it is answering at once."""

    def __init__(self) -> None:
        self.url = ""
        self.active = 0
        self.most = 0
        self.received = 0
        self.gate = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.active += 1
        self.most = max(self.most, self.active)
        if self.active >= GATE:
            self.gate.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.gate.wait(), HOLD_S)
        finally:
            self.active -= 1
            self.received += 1
        return web.Response(status=200)


@pytest.fixture
async def counting() -> AsyncIterator[CountingReceiver]:
    receiver = CountingReceiver()
    async with loopback_receiver(receiver.handle) as url:
        receiver.url = url
        yield receiver


async def _deliver_all(
    service: Service, account: tuple[str, dict[str, str]], webhook_id: str
) -> None:
    """Publish DELIVERIES events at once (hand-offs and claims both) and wait for them all."""
    account_id, auth = account
    await asyncio.gather(
        *[service.publish(account_id, "fabric.completed", COMPLETED) for _ in range(DELIVERIES)]
    )
    await service.wait_delivery(auth, webhook_id, status="delivered", count=DELIVERIES, timeout=60)


async def test_a_cap_of_two_is_never_exceeded(
    make_service: ServiceFactory, counting: CountingReceiver
) -> None:
    service = await make_service()
    account = await service.create_account()
    auth = account[1]
    webhook = await service.create_webhook(auth, url=counting.url, maxConcurrency=2)
    assert webhook["maxConcurrency"] == 2
    await _deliver_all(service, account, webhook["id"])
    assert counting.received == DELIVERIES
    assert counting.most == 2


async def test_a_cap_of_five_lets_more_through(
    make_service: ServiceFactory, counting: CountingReceiver
) -> None:
    service = await make_service()
    account = await service.create_account()
    auth = account[1]
    webhook = await service.create_webhook(auth, url=counting.url, maxConcurrency=5)
    await _deliver_all(service, account, webhook["id"])
    assert counting.received == DELIVERIES
    assert GATE <= counting.most <= 5


async def test_the_default_is_the_workers_setting(
    make_service: ServiceFactory, counting: CountingReceiver
) -> None:
    service = await make_service(per_webhook_concurrency=2)
    account = await service.create_account()
    auth = account[1]
    webhook = await service.create_webhook(auth, url=counting.url)
    assert webhook["maxConcurrency"] is None
    await _deliver_all(service, account, webhook["id"])
    assert counting.most == 2


async def test_a_raised_cap_takes_effect(
    make_service: ServiceFactory, counting: CountingReceiver
) -> None:
    """PATCH changes the cap of later deliveries (the fan-out cache follows the change)."""
    service = await make_service(per_webhook_concurrency=2)
    account = await service.create_account()
    auth = account[1]
    webhook = await service.create_webhook(auth, url=counting.url)
    response = await service.client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"maxConcurrency": 4}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert response.json()["maxConcurrency"] == 4
    await _deliver_all(service, account, webhook["id"])
    assert GATE <= counting.most <= 4


async def test_a_worker_never_exceeds_its_max_in_flight(make_service: ServiceFactory) -> None:
    service = await make_service(max_in_flight=3, per_webhook_concurrency=2)
    dispatcher = service.app.state.dispatcher
    assert dispatcher.cap(None) == 2
    assert dispatcher.cap(1) == 1
    assert dispatcher.cap(100) == 3
    assert [dispatcher.reserve("w1", 1) for _ in range(2)] == [True, False]
    dispatcher.release(["w1"])


async def _webhook(service: Service, auth: dict[str, str], webhook_id: str) -> dict[str, Any]:
    response = await service.client.get(f"/v1/webhooks/{webhook_id}", headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("value", [0, -1, 10**9, 101, "x", True, 1.5, "2"])
async def test_bad_values_are_refused_and_nothing_is_stored(service: Service, value: Any) -> None:
    _, auth = await service.create_account()
    created = await service.client.post(
        "/v1/webhooks",
        json={
            "url": "http://127.0.0.1:9/x",
            "events": ["fabric.completed"],
            "maxConcurrency": value,
        },
        headers=auth,
    )
    assert created.status_code == 400, created.text
    assert created.json()["error"]["field"] == "maxConcurrency"
    listed = await service.client.get("/v1/webhooks", headers=auth)
    assert listed.json()["data"] == []
    webhook = await service.create_webhook(auth, url="http://127.0.0.1:9/x", maxConcurrency=7)
    patched = await service.client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"maxConcurrency": value}, headers=auth
    )
    assert patched.status_code == 400, patched.text
    assert patched.json()["error"]["field"] == "maxConcurrency"
    assert (await _webhook(service, auth, webhook["id"]))["maxConcurrency"] == 7


async def test_null_resets_to_the_default_and_the_bounds_are_accepted(service: Service) -> None:
    _, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url="http://127.0.0.1:9/x", maxConcurrency=1)
    assert webhook["maxConcurrency"] == 1
    path = f"/v1/webhooks/{webhook['id']}"
    response = await service.client.patch(path, json={"maxConcurrency": 100}, headers=auth)
    assert response.json()["maxConcurrency"] == 100
    response = await service.client.patch(path, json={"description": "d"}, headers=auth)
    assert response.json()["maxConcurrency"] == 100  # left alone
    response = await service.client.patch(path, json={"maxConcurrency": None}, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["maxConcurrency"] is None
    row = await service.sql_row(
        "SELECT max_concurrency FROM webhooks WHERE id = :id", id=webhook["id"]
    )
    assert row[0] is None
