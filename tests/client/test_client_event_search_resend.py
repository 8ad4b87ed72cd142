"""Event search, an event's deliveries and bulk resend through the sync client, against the
real service process on both backends, with a receiver that fails, then succeeds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from client_support import BACKENDS, RunningApi, shared_api
from test_client_events import COMPLETED, wait_for_deliveries

from promptha_webhooks.client import InvalidRequestError, NotFoundError

from support import Receiver


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest) -> RunningApi:
    return shared_api(request, request.param)


async def test_search_events_and_their_deliveries(api: RunningApi, receiver: Receiver) -> None:
    receiver.script("/down", [500])
    with api.client() as client:
        up = client.webhooks.create(receiver.url("/up"), ["fabric.*"])
        down = client.webhooks.create(
            receiver.url("/down"), ["fabric.completed"], retry_schedule=[]
        )
        low = client.events.publish("credits.low", {"remaining": 1, "threshold": 5, "userId": "u"})
        event = client.events.publish("fabric.completed", COMPLETED)
        await wait_for_deliveries(client, up.id, "delivered")
        await wait_for_deliveries(client, down.id, "failed")

        # (the failure also published a delivery.failed alert to the account)
        mine = {event.id, low.id}
        assert [e.id for e in client.events.list().data if e.id in mine] == [event.id, low.id]
        assert [e.id for e in client.events.list(type="fabric.*").data] == [event.id]
        assert [e.id for e in client.events.list(id=low.id).data] == [low.id]
        hour_ago = datetime.now(tz=UTC) - timedelta(hours=1)
        paged = client.events.list_all(since=hour_ago, page_size=1)
        assert [e.id for e in paged if e.id in mine] == [event.id, low.id]
        assert client.events.list(until=hour_ago).data == []

        deliveries = {d.webhook_id: d for d in client.events.deliveries(event.id).data}
        assert deliveries[up.id].status == "delivered"
        assert deliveries[up.id].webhook_url == receiver.url("/up")
        assert deliveries[down.id].status == "failed"
        assert deliveries[down.id].last_response_status == 500
        with pytest.raises(InvalidRequestError) as raised:
            client.events.list(type="nothing.*")
        assert raised.value.field == "type"
    with api.client("Other") as other, pytest.raises(NotFoundError):
        other.events.deliveries(event.id)


async def test_bulk_resend_by_ids_and_by_time_range(api: RunningApi, receiver: Receiver) -> None:
    receiver.script("/flaky", [500])
    with api.client() as client:
        hook = client.webhooks.create(
            receiver.url("/flaky"), ["fabric.completed"], retry_schedule=[]
        )
        start = datetime.now(tz=UTC) - timedelta(seconds=5)
        for _ in range(5):
            client.events.publish("fabric.completed", COMPLETED)
        failed = await wait_for_deliveries(client, hook.id, "failed", count=5)
        receiver.script("/flaky", [200])

        chosen = client.deliveries.resend([failed[0].id, "dlv_00000000000000000000000000"])
        assert chosen.resent == 1
        assert [(s.id, s.reason) for s in chosen.skipped] == [
            ("dlv_00000000000000000000000000", "not_found")
        ]
        await wait_for_deliveries(client, hook.id, "delivered", count=1)

        done: list[int] = []
        for _ in range(10):  # 4 left, 2 a call
            result = await asyncio.to_thread(
                client.deliveries.resend, since=start, webhook_id=hook.id, limit=2
            )
            done.append(result.resent)
            if not result.more:
                break
        assert done == [2, 2]
        delivered = await wait_for_deliveries(client, hook.id, "delivered", count=5)
        assert {d.id for d in delivered} == {d.id for d in failed}
