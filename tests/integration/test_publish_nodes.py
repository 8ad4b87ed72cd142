"""Publishing with several API nodes on one database, and results that outlive their delivery.

On PostgreSQL each API process caches an account's fan-out; these tests run two service
instances on one database (two "nodes") and check that a change made on one node is obeyed by
the very next publish on the other: no window in which events miss a new webhook or reach a
disabled one. Those run on PostgreSQL (the scale-out backend; SQLite is one process by design); the
last two run on both backends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from promptha_webhooks.store.database import migrate

from support import ADMIN_KEY, ReceivedRequest, Receiver, Service, ServiceFactory


@pytest.fixture
async def nodes(fresh_postgres_url: str) -> AsyncIterator[tuple[Service, Service]]:
    """Two service instances (API + dispatcher each) on one PostgreSQL database."""
    await migrate(fresh_postgres_url)
    factory = ServiceFactory(fresh_postgres_url)
    try:
        yield await factory(), await factory()
    finally:
        await factory.close()


DATA = {"executionId": "e1", "fabricId": "fab_1", "result": {}, "usage": {}}


async def _publish(node: Service, account_id: str, **headers: str) -> dict[str, Any]:
    response = await node.client.post(
        "/v1/events",
        json={"account": account_id, "event": "fabric.completed", "data": DATA},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"} | headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_webhook_created_on_one_node_gets_the_next_event_published_on_another(
    nodes: tuple[Service, Service], receiver: Receiver
) -> None:
    node_a, node_b = nodes
    account_id, auth = await node_a.create_account()
    first = await node_a.create_webhook(auth, url=receiver.url("/first"))
    # Node B publishes once: on PostgreSQL it now holds the account's fan-out in its cache.
    assert (await _publish(node_b, account_id))["deliveryCount"] == 1

    second = await node_a.create_webhook(auth, url=receiver.url("/second"))
    event = await _publish(node_b, account_id)
    assert event["deliveryCount"] == 2
    await receiver.wait_for(1, path="/second")
    assert json.loads(receiver.on("/second")[0].body)["data"]["eventId"] == event["id"]

    # Disabled on node A: node B's next event goes to the first webhook only.
    response = await node_a.client.patch(
        f"/v1/webhooks/{second['id']}", json={"enabled": False}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert (await _publish(node_b, account_id))["deliveryCount"] == 1

    # Re-targeted to other events on node A: node B stops sending it fabric.completed.
    response = await node_a.client.patch(
        f"/v1/webhooks/{first['id']}", json={"events": ["ask.message"]}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert (await _publish(node_b, account_id))["deliveryCount"] == 0

    # Deleted on node A after being turned back on: node B's next event goes nowhere.
    response = await node_a.client.patch(
        f"/v1/webhooks/{second['id']}", json={"enabled": True}, headers=auth
    )
    assert (await _publish(node_b, account_id))["deliveryCount"] == 1
    response = await node_a.client.delete(f"/v1/webhooks/{second['id']}", headers=auth)
    assert response.status_code == 204
    assert (await _publish(node_b, account_id))["deliveryCount"] == 0
    assert len(receiver.on("/second")) == 2  # the two events published while it was enabled


async def test_filters_changed_on_one_node_apply_on_the_other(
    nodes: tuple[Service, Service], receiver: Receiver
) -> None:
    node_a, node_b = nodes
    account_id, auth = await node_a.create_account()
    hook = await node_a.create_webhook(auth, url=receiver.url("/f"), filters={"fabricId": ["x"]})
    assert (await _publish(node_b, account_id))["deliveryCount"] == 0
    response = await node_a.client.patch(
        f"/v1/webhooks/{hook['id']}", json={"filters": {"fabricId": ["fab_1"]}}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert (await _publish(node_b, account_id))["deliveryCount"] == 1


async def test_idempotency_keys_hold_across_nodes(
    nodes: tuple[Service, Service], receiver: Receiver
) -> None:
    node_a, node_b = nodes
    account_id, auth = await node_a.create_account()
    await node_a.create_webhook(auth, url=receiver.url("/k"))
    first = await _publish(node_a, account_id, **{"Idempotency-Key": "order-1"})
    again = await _publish(node_b, account_id, **{"Idempotency-Key": "order-1"})
    assert again["id"] == first["id"]
    other = await node_b.client.post(
        "/v1/events",
        json={
            "account": account_id,
            "event": "fabric.completed",
            "data": {**DATA, "fabricId": "x"},
        },
        headers={"Authorization": f"Bearer {ADMIN_KEY}", "Idempotency-Key": "order-1"},
    )
    assert other.status_code == 409
    # A batch mixing a used key and a new one: the used one replays, the new one is stored.
    response = await node_b.client.post(
        "/v1/events/batch",
        json={
            "account": account_id,
            "events": [
                {"event": "fabric.completed", "data": DATA, "idempotencyKey": "order-1"},
                {"event": "fabric.completed", "data": DATA, "idempotencyKey": "order-2"},
            ],
        },
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["replayed"] == 1
    assert body["data"][0]["id"] == first["id"]
    assert body["data"][1]["id"] != first["id"]
    await receiver.wait_for(2, path="/k")
    await asyncio.sleep(0.3)
    assert len(receiver.on("/k")) == 2  # order-1 once, order-2 once


async def test_publishing_to_a_deleted_account_is_404(service: Service) -> None:
    account_id, _auth = await service.create_account()
    await _publish(service, account_id)  # cached fan-out for the account
    response = await service.client.delete(f"/v1/accounts/{account_id}", headers=service.admin())
    assert response.status_code == 204, response.text
    response = await service.client.post(
        "/v1/events",
        json={"account": account_id, "event": "fabric.completed", "data": DATA},
        headers=service.admin(),
    )
    assert response.status_code == 404, response.text


async def test_results_of_a_webhook_deleted_mid_attempt_do_not_hold_up_others(
    service: Service, receiver: Receiver
) -> None:
    """The attempt in flight when its webhook (and so its delivery) is deleted is dropped from
    the log; the results written with it in the same batch still land."""
    release = asyncio.Event()

    async def slow(_request: ReceivedRequest) -> web.StreamResponse:
        await release.wait()
        return web.Response(text="late")

    receiver.responders["/slow"] = slow
    account_id, auth = await service.create_account()
    doomed = await service.create_webhook(auth, url=receiver.url("/slow"))
    healthy = await service.create_webhook(auth, url=receiver.url("/fast"))
    await _publish(service, account_id)
    await receiver.wait_for(1, path="/slow")
    await service.wait_delivery(auth, healthy["id"], status="delivered")
    response = await service.client.delete(f"/v1/webhooks/{doomed['id']}", headers=auth)
    assert response.status_code == 204
    release.set()
    await asyncio.sleep(0.2)  # the slow answer arrives and its result is written
    await _publish(service, account_id)
    await service.wait_delivery(auth, healthy["id"], status="delivered", count=2)
