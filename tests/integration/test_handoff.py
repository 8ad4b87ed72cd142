"""Hand-off: with the API and the dispatcher in one process (`serve`), a publish stores its new
deliveries already claimed by that dispatcher and gives them to it once committed, instead of
the dispatcher claiming them with a statement of its own. The stored claim is an ordinary one,
so a delivery handed to a process that dies is delivered after its lease."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from promptha_webhooks.store.queries import ClaimedDelivery

from support import Receiver, Service, ServiceFactory

PAYLOAD = {"executionId": "e1", "fabricId": "f1", "result": {"output": "x"}, "usage": {}}


def counter(metrics_text: str, name: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exposed")


async def taken(service: Service) -> tuple[float, float]:
    """(claimed, handed off) deliveries so far, from /metrics."""
    response = await service.client.get("/metrics", headers=service.admin())
    assert response.status_code == 200
    return (
        counter(response.text, "promptha_claimed_deliveries_total"),
        counter(response.text, "promptha_handed_off_deliveries_total"),
    )


def signed_with(request: Any, secret: str) -> bool:
    timestamp = request.headers["x-promptha-timestamp"]
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(request.headers["x-promptha-signature"], expected)


@pytest.mark.parametrize("handoff", [True, False])
async def test_published_deliveries_are_sent_without_a_claim(
    make_service: ServiceFactory, receiver: Receiver, handoff: bool
) -> None:
    # Fewer events than the webhook's concurrency cap (10): none can be refused a hand-off.
    service = await make_service(handoff=handoff)
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=receiver.url("/h"), secret="whsec_handoff_secret_1"
    )
    claimed_before, handed_before = await taken(service)
    events = [await service.publish(account_id, "fabric.completed", PAYLOAD) for _ in range(8)]
    await receiver.wait_for(8, path="/h")
    delivered = await service.wait_delivery(auth, webhook["id"], status="delivered", count=8)
    assert all(d["attemptCount"] == 1 for d in delivered)
    requests = receiver.on("/h")
    assert sorted(r.headers["x-promptha-event-id"] for r in requests) == sorted(
        e["id"] for e in events
    )
    assert all(signed_with(r, "whsec_handoff_secret_1") for r in requests)
    claimed, handed = await taken(service)
    assert (claimed - claimed_before, handed - handed_before) == ((0, 8) if handoff else (8, 0))


async def test_handed_over_attempts_use_the_current_url_and_secret(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=receiver.url("/old"), secret="whsec_old_secret_00001"
    )
    await service.publish(account_id, "fabric.completed", PAYLOAD)  # the fan-out is cached
    await receiver.wait_for(1, path="/old")
    changed = await service.client.patch(
        f"/v1/webhooks/{webhook['id']}",
        json={"url": receiver.url("/new"), "secret": "whsec_new_secret_00002"},
        headers=auth,
    )
    assert changed.status_code == 200, changed.text
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    [request] = await receiver.wait_for(1, path="/new")
    assert signed_with(request, "whsec_new_secret_00002")
    assert len(receiver.on("/old")) == 1


class DeadDispatcher:
    """A dispatcher that takes hand-offs and dies before attempting them: the process was
    killed between the publish's commit and the first attempt."""

    token = "dead-process"

    def __init__(self, lease_s: float) -> None:
        self.lease_ms = int(lease_s * 1000)
        self.reserved: list[str] = []
        self.taken: list[ClaimedDelivery] = []

    def reserve(self, webhook_id: str, max_concurrency: int | None = None) -> bool:
        self.reserved.append(webhook_id)
        return True

    def lease_until(self, now: int) -> int:
        return now + self.lease_ms

    def release(self, webhook_ids: list[str]) -> None:
        raise AssertionError(f"nothing to release: the publish was stored ({webhook_ids})")

    def take(self, deliveries: list[ClaimedDelivery]) -> None:
        self.taken += deliveries  # and never attempted


@pytest.fixture
async def api_and_worker(make_service: ServiceFactory) -> AsyncIterator[tuple[Service, Service]]:
    api = await make_service(run_dispatcher=False)
    worker = await make_service(run_dispatcher=True)
    yield api, worker


async def test_delivery_handed_to_a_dead_process_is_sent_after_its_lease(
    api_and_worker: tuple[Service, Service], receiver: Receiver
) -> None:
    api, _worker = api_and_worker
    dead = DeadDispatcher(lease_s=2.0)
    api.app.state.services.publisher.handoff = dead
    account_id, auth = await api.create_account()
    webhook = await api.create_webhook(auth, url=receiver.url("/late"))
    published = time.monotonic()
    event = await api.publish(account_id, "fabric.completed", PAYLOAD)
    [taken] = dead.taken
    assert (taken.event_id, taken.webhook_id, taken.url) == (
        event["id"],
        webhook["id"],
        receiver.url("/late"),
    )
    # Stored claimed: the running worker (polling every 20 ms) leaves it alone for the lease.
    await asyncio.sleep(1.0)
    assert receiver.on("/late") == []
    [pending] = await api.wait_delivery(auth, webhook["id"], status="pending")
    assert pending["attemptCount"] == 0
    [request] = await receiver.wait_for(1, path="/late", timeout=15)
    assert time.monotonic() - published >= 2.0
    assert request.headers["x-promptha-event-id"] == event["id"]
    await api.wait_delivery(auth, webhook["id"], status="delivered")
    await asyncio.sleep(0.3)
    assert len(receiver.on("/late")) == 1


async def test_reservations_follow_the_sending_slots(make_service: ServiceFactory) -> None:
    service = await make_service(max_in_flight=3, per_webhook_concurrency=2)
    dispatcher = service.app.state.dispatcher
    assert service.app.state.services.publisher.handoff is dispatcher
    assert [dispatcher.reserve("w1") for _ in range(3)] == [True, True, False]  # webhook cap
    assert dispatcher.reserve("w2") is True
    assert dispatcher.reserve("w3") is False  # every sending slot promised
    dispatcher.release(["w1"])
    assert dispatcher.reserve("w3") is True
    dispatcher.release(["w1", "w2", "w3"])
    assert [dispatcher.reserve("w4") for _ in range(3)] == [True, True, False]
    dispatcher.release(["w4", "w4"])
    await dispatcher.stop(grace_s=1.0)
    assert dispatcher.reserve("w1") is False  # stopped: deliveries are stored due


async def test_no_handoff_without_a_dispatcher_in_the_process(
    make_service: ServiceFactory,
) -> None:
    api = await make_service(run_dispatcher=False)
    assert api.app.state.services.publisher.handoff is None
    off = await make_service(handoff=False)
    assert off.app.state.services.publisher.handoff is None
