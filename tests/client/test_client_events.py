"""Publishing, the delivery log and resends through the sync client, against the real service
process on both backends, with deliveries going to a real receiver."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from client_support import BACKENDS, RunningApi, shared_api

from promptha_webhooks import signing
from promptha_webhooks.catalog import EVENT_NAMES
from promptha_webhooks.client import BatchEvent, Client, ConflictError, InvalidRequestError
from promptha_webhooks.models import Delivery, DeliveryStatus

from support import Receiver

SECRET = "whsec_client_events_test"
COMPLETED = {
    "executionId": "exec_9f3a2c71",
    "fabricId": "product-description",
    "result": {"output": "Lightweight trail shoes."},
    "usage": {"totalTokens": 246},
}


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest) -> RunningApi:
    return shared_api(request, request.param)


async def wait_for_deliveries(
    client: Client, webhook_id: str, status: DeliveryStatus, count: int = 1
) -> list[Delivery]:
    deadline = time.monotonic() + 15
    while True:
        found = await asyncio.to_thread(
            lambda: list(client.deliveries.list_all(webhook_id, status=status))
        )
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} {status} deliveries, wanted {count}"
        await asyncio.sleep(0.05)


async def test_publish_deliver_inspect_and_retry(api: RunningApi, receiver: Receiver) -> None:
    with api.client() as client:
        hook = client.webhooks.create(receiver.url("/hooks"), ["fabric.completed"], secret=SECRET)
        event = client.events.publish("fabric.completed", COMPLETED)
        assert event.id.startswith("evt_")
        assert event.delivery_count == 1
        assert event.data == {**COMPLETED, "eventId": event.id}

        (request,) = await receiver.wait_for(1, path="/hooks")
        signing.verify(request.body, request.headers, SECRET)
        (delivery,) = await wait_for_deliveries(client, hook.id, "delivered")
        assert delivery.event_id == event.id

        detail = client.deliveries.get(delivery.id)
        assert detail.payload["data"]["eventId"] == event.id
        (attempt,) = detail.attempts
        assert (attempt.number, attempt.trigger, attempt.response_status) == (1, "scheduled", 200)
        assert attempt.request_headers["x-promptha-delivery-id"] == delivery.id

        resent = await asyncio.to_thread(client.deliveries.retry, delivery.id)
        assert [a.trigger for a in resent.attempts] == ["scheduled", "manual"]
        assert resent.attempts[-1].number == 2
        await receiver.wait_for(2, path="/hooks")

        assert client.events.get(event.id).delivery_count == 1


async def test_delivery_log_filters_and_pages(api: RunningApi, receiver: Receiver) -> None:
    receiver.script("/down", [410])  # a permanent failure: failed at once
    with api.client() as client:
        hook = client.webhooks.create(receiver.url("/down"), ["fabric.completed", "credits.low"])
        for _ in range(3):
            client.events.publish("fabric.completed", COMPLETED)
        client.events.publish("credits.low", {"remaining": 1, "threshold": 5, "userId": "u_1"})
        failed = await wait_for_deliveries(client, hook.id, "failed", count=4)
        assert len(failed) == 4

        only_low = list(client.deliveries.list_all(hook.id, status="failed", event="credits.low"))
        assert [d.event for d in only_low] == ["credits.low"]
        page = client.deliveries.list(hook.id, status="failed", limit=2)
        assert len(page.data) == 2 and page.has_more
        paged = list(client.deliveries.list_all(hook.id, page_size=1))
        assert [d.id for d in paged] == [d.id for d in failed]
        assert client.deliveries.get(failed[0].id).attempts[-1].response_status == 410
        assert list(client.deliveries.list_all(hook.id, status="delivered")) == []


def test_idempotency_keys(api: RunningApi) -> None:
    with api.client() as client:
        first = client.events.publish("fabric.completed", COMPLETED, idempotency_key="exec-1")
        again = client.events.publish("fabric.completed", COMPLETED, idempotency_key="exec-1")
        assert again.id == first.id
        with pytest.raises(ConflictError) as raised:
            client.events.publish(
                "fabric.completed", {**COMPLETED, "fabricId": "other"}, idempotency_key="exec-1"
            )
        assert raised.value.status_code == 409
        assert raised.value.field == "Idempotency-Key"
        # Without a key each publish gets a key of its own: two events.
        one = client.events.publish("fabric.completed", COMPLETED)
        two = client.events.publish("fabric.completed", COMPLETED)
        assert one.id != two.id


def test_publish_batch(api: RunningApi) -> None:
    low: dict[str, Any] = {"remaining": 1, "threshold": 5, "userId": "u_1"}
    with api.client() as client:
        batch = [BatchEvent("credits.low", low, idempotency_key=f"low-{n}") for n in range(3)] + [
            BatchEvent("fabric.completed", COMPLETED)
        ]
        published = client.events.publish_batch(batch)
        assert [e.event for e in published.data] == ["credits.low"] * 3 + ["fabric.completed"]
        assert published.replayed == 0
        replay = client.events.publish_batch(batch[:3])
        assert replay.replayed == 3
        assert [e.id for e in replay.data] == [e.id for e in published.data[:3]]
        with pytest.raises(InvalidRequestError) as raised:
            client.events.publish_batch([BatchEvent("credits.low", {"userId": "u_1"})])
        assert raised.value.field is not None and raised.value.field.startswith("events[0]")


def test_admin_publishes_for_an_account(api: RunningApi) -> None:
    account_id, _ = api.new_account()
    with api.admin() as admin:
        event = admin.events.publish("fabric.completed", COMPLETED, account=account_id)
        assert event.account_id == account_id
        with pytest.raises(InvalidRequestError) as raised:
            admin.events.publish("fabric.completed", COMPLETED)
        assert raised.value.field == "account"


def test_event_types(api: RunningApi) -> None:
    with api.client() as client:
        types = client.event_types.list()
    assert {t.name for t in types} == EVENT_NAMES
    completed = next(t for t in types if t.name == "fabric.completed")
    assert set(completed.schema_["required"]) >= {"executionId", "fabricId", "result", "usage"}
    assert completed.sample["fabricId"] == "product-description"
