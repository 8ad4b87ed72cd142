"""`AsyncClient`: the same API awaited, against the real service process (both backends) and
in-process over ASGI (`make_service`), with deliveries to a real receiver."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from client_support import BACKENDS, FAST_RETRIES, RunningApi, shared_api

from promptha_webhooks import signing
from promptha_webhooks.client import (
    AsyncClient,
    BatchEvent,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from promptha_webhooks.models import Delivery

from support import ADMIN_KEY, Receiver, Service

SECRET = "whsec_async_client_test"
LOW = {"remaining": 120, "threshold": 500, "userId": "user_7d2f"}


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest) -> RunningApi:
    return shared_api(request, request.param)


async def delivered(client: AsyncClient, webhook_id: str, count: int) -> list[Delivery]:
    deadline = time.monotonic() + 15
    while True:
        found = [d async for d in client.deliveries.list_all(webhook_id, status="delivered")]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} delivered, wanted {count}"
        await asyncio.sleep(0.05)


async def test_the_whole_flow(api: RunningApi, receiver: Receiver) -> None:
    async with AsyncClient(ADMIN_KEY, api.url, retry=FAST_RETRIES) as admin:
        created = await admin.accounts.create("Async")
        assert created.api_key.key is not None
        assert created.account.id in [a.id async for a in admin.accounts.list_all(page_size=1)]
        extra = await admin.keys.create(created.account.id)
        assert extra.id in [k.id for k in await admin.keys.list(created.account.id)]
        await admin.keys.delete(created.account.id, extra.id)

    async with AsyncClient(created.api_key.key, api.url, retry=FAST_RETRIES) as client:
        hook = await client.webhooks.create(
            receiver.url("/async"), ["credits.low", "credits.purchased"], secret=SECRET
        )
        assert (await client.webhooks.get(hook.id)).events == hook.events
        assert (await client.webhooks.secret(hook.id)).secret == SECRET
        assert [w.id async for w in client.webhooks.list_all()] == [hook.id]

        event = await client.events.publish("credits.low", LOW)
        batch = await client.events.publish_batch(
            [BatchEvent("credits.purchased", {"amount": 5000, "newBalance": 5120, "userId": "u"})]
        )
        requests = await receiver.wait_for(2, path="/async")
        for request in requests:
            signing.verify(request.body, request.headers, SECRET)
        assert {r.headers["x-promptha-event-id"] for r in requests} == {
            event.id,
            batch.data[0].id,
        }

        deliveries = await delivered(client, hook.id, 2)
        detail = await client.deliveries.get(deliveries[-1].id)
        assert detail.attempts[0].response_status == 200
        resent = await client.deliveries.retry(detail.id)
        assert len(resent.attempts) == 2
        page = await client.deliveries.list(hook.id, event="credits.low")
        assert [d.event_id for d in page.data] == [event.id]
        assert (await client.events.get(event.id)).delivery_count == 1

        result = await client.webhooks.test(hook.id, "credits.low")
        assert result.success and result.delivery.is_test

        updated = await client.webhooks.update(hook.id, enabled=False)
        assert not updated.enabled
        await client.webhooks.delete(hook.id)
        with pytest.raises(NotFoundError):
            await client.webhooks.get(hook.id)
        with pytest.raises(PermissionDeniedError):
            await client.accounts.list()
        await client.events.publish("credits.low", LOW, idempotency_key="k-1")
        with pytest.raises(ConflictError):
            await client.events.publish(
                "credits.low", {**LOW, "remaining": 1}, idempotency_key="k-1"
            )
        assert len(await client.event_types.list()) == 13  # 9 + 4 operational


async def test_in_process_over_asgi(service: Service, receiver: Receiver) -> None:
    """`transport=` drives an app in the same process (both backends via `service`)."""
    transport = httpx.ASGITransport(app=service.app)
    async with AsyncClient(ADMIN_KEY, "http://testserver", transport=transport) as admin:
        created = await admin.accounts.create("In-process")
    assert created.api_key.key is not None
    async with AsyncClient(
        created.api_key.key, "http://testserver/v1/", transport=transport
    ) as client:
        hook = await client.webhooks.create(receiver.url("/asgi"), ["credits.low"])
        await client.events.publish("credits.low", LOW)
        (request,) = await receiver.wait_for(1, path="/asgi")
        signing.verify(request.body, request.headers, hook.secret.get_secret_value())
        assert len(await delivered(client, hook.id, 1)) == 1
