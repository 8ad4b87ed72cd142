"""A webhook's rateLimit and ordering "fifo" (pacing.py), end to end on both backends: the API
stores and validates them, a burst to a rate-limited webhook arrives spread out and whole
(arrival times counted by a real receiver on 127.0.0.1), and a FIFO webhook's deliveries
arrive one at a time in publish order, a failing one holding back the rest until it succeeds.
Several worker processes and a kill -9: tests/e2e/test_pacing_processes.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from support import ServiceFactory, loopback_receiver

BURST = 300
RATE = 20
# Arrivals within any one second, over the limit: the receiver's clock reads a request when
# the event loop gets to it, so two requests sent 50 ms apart may be read a little closer.
TOLERANCE = 1


class ArrivalReceiver:
    """Records each request's arrival (monotonic time, the event's sequence number, delivery
    id) and how many it answers at once; answers 500 to the first attempt of the sequence
    numbers in `fail_once`, or to every request while `failing`."""

    def __init__(self) -> None:
        self.url = ""
        self.arrivals: list[tuple[float, int, str]] = []
        self.active = 0
        self.most_active = 0
        self.fail_once: set[int] = set()
        self.hold_s = 0.0
        self.failing = False  # answer 500 to every request

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        seq = int(body["data"]["remaining"])
        self.arrivals.append((time.monotonic(), seq, request.headers["x-promptha-delivery-id"]))
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            if self.hold_s:
                await asyncio.sleep(self.hold_s)
            if self.failing:
                return web.Response(status=500)
            if seq in self.fail_once:
                self.fail_once.discard(seq)
                return web.Response(status=500)
            return web.Response(status=200)
        finally:
            self.active -= 1

    def delivered(self) -> int:
        return len({delivery for _, _, delivery in self.arrivals})


@pytest.fixture
async def arrivals() -> AsyncIterator[ArrivalReceiver]:
    receiver = ArrivalReceiver()
    async with loopback_receiver(receiver.handle) as url:
        receiver.url = url
        yield receiver


def credits_low(seq: int) -> dict[str, Any]:
    return {"event": "credits.low", "data": {"remaining": seq, "threshold": 1, "userId": "u"}}


def most_in_one_second(times: list[float]) -> int:
    """The most arrivals in any window [t, t + 1 s) starting at an arrival."""
    times = sorted(times)
    most = 0
    end = 0
    for start, at in enumerate(times):
        while end < len(times) and times[end] < at + 1.0:
            end += 1
        most = max(most, end - start)
    return most


async def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_pacing_settings_are_stored_validated_and_changed(
    make_service: ServiceFactory,
) -> None:
    service = await make_service()
    _, auth = await service.create_account()
    plain = await service.create_webhook(auth, url="https://example.com/a")
    assert plain["rateLimit"] is None and plain["ordering"] == "none"
    paced = await service.create_webhook(
        auth, url="https://example.com/b", rateLimit=5, ordering="fifo"
    )
    assert paced["rateLimit"] == 5 and paced["ordering"] == "fifo"
    for bad in (
        {"rateLimit": 0},
        {"rateLimit": 1001},
        {"rateLimit": "5"},
        {"rateLimit": 2.5},
        {"ordering": "lifo"},
        {"ordering": None},
        {"ordering": 1},
    ):
        for response in (
            await service.client.post(
                "/v1/webhooks",
                json={"url": "https://example.com/c", "events": ["credits.low"], **bad},
                headers=auth,
            ),
            await service.client.patch(f"/v1/webhooks/{paced['id']}", json=bad, headers=auth),
        ):
            assert response.status_code == 400, (bad, response.text)
            assert response.json()["error"]["type"] == "invalid_request"
    unchanged = (await service.client.get(f"/v1/webhooks/{paced['id']}", headers=auth)).json()
    assert unchanged["rateLimit"] == 5 and unchanged["ordering"] == "fifo"
    response = await service.client.patch(
        f"/v1/webhooks/{paced['id']}", json={"rateLimit": None, "ordering": "none"}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert response.json()["rateLimit"] is None and response.json()["ordering"] == "none"


async def test_a_burst_to_a_rate_limited_webhook_arrives_spread_out_and_whole(
    make_service: ServiceFactory, arrivals: ArrivalReceiver
) -> None:
    service = await make_service()
    _, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=arrivals.url, events=["credits.low"], rateLimit=RATE
    )
    response = await service.client.post(
        "/v1/events/batch", json={"events": [credits_low(i) for i in range(BURST)]}, headers=auth
    )
    assert response.status_code == 201, response.text
    await wait_for(lambda: arrivals.delivered() >= BURST, 60, "not every delivery arrived")
    await service.wait_delivery(auth, webhook["id"], status="delivered", count=100, timeout=30)
    assert sorted(seq for _, seq, _ in arrivals.arrivals) == list(range(BURST))
    assert most_in_one_second([at for at, _, _ in arrivals.arrivals]) <= RATE + TOLERANCE


async def test_an_unlimited_webhook_is_not_held_back_by_a_rate_limited_one(
    make_service: ServiceFactory, arrivals: ArrivalReceiver
) -> None:
    """A slow (rate 1/s) webhook's backlog does not delay another webhook's deliveries."""
    service = await make_service()
    _, auth = await service.create_account()
    await service.create_webhook(
        auth, url=arrivals.url + "/slow", events=["credits.low"], rateLimit=1
    )
    fast = await service.create_webhook(auth, url=arrivals.url + "/fast", events=["credits.low"])
    response = await service.client.post(
        "/v1/events/batch", json={"events": [credits_low(i) for i in range(40)]}, headers=auth
    )
    assert response.status_code == 201, response.text
    # All 40 of the unlimited webhook's are delivered while the limited one has sent a few.
    await service.wait_delivery(auth, fast["id"], status="delivered", count=40, timeout=30)
    assert arrivals.delivered() < 40 + 10


async def test_fifo_deliveries_arrive_one_at_a_time_in_publish_order(
    make_service: ServiceFactory, arrivals: ArrivalReceiver
) -> None:
    service = await make_service()
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=arrivals.url, events=["credits.low"], ordering="fifo", maxConcurrency=10
    )
    arrivals.fail_once = {3, 7}  # retried (the test schedule: 50 ms), the rest wait for them
    arrivals.hold_s = 0.02
    count = 25
    for i in range(count):
        await service.publish(account_id, "credits.low", credits_low(i)["data"])
    await wait_for(lambda: arrivals.delivered() >= count, 60, "not every delivery arrived")
    await service.wait_delivery(auth, webhook["id"], status="delivered", count=count, timeout=30)
    order = [seq for _, seq, _ in arrivals.arrivals]
    # Each failed once, then succeeded before the next one started.
    expected = [*range(4), 3, *range(4, 8), 7, *range(8, count)]
    assert order == expected
    assert arrivals.most_active == 1


async def test_turning_fifo_on_orders_what_is_pending(
    make_service: ServiceFactory, arrivals: ArrivalReceiver
) -> None:
    """Deliveries stored before ordering became fifo (here: by an API process without a
    dispatcher) are moved to the paced claim by the change, and go out in creation order."""
    api = await make_service(run_dispatcher=False)
    account_id, auth = await api.create_account()
    webhook = await api.create_webhook(auth, url=arrivals.url, events=["credits.low"])
    for i in range(10):
        await api.publish(account_id, "credits.low", credits_low(i)["data"])
        await asyncio.sleep(0.003)  # a new millisecond: creation order is publish order
    response = await api.client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"ordering": "fifo"}, headers=auth
    )
    assert response.status_code == 200
    row = await api.sql_row(
        "SELECT count(*) FROM deliveries WHERE webhook_id = :id AND pace_order IS NULL",
        id=webhook["id"],
    )
    assert row[0] == 0
    worker = await make_service()
    await worker.wait_delivery(auth, webhook["id"], status="delivered", count=10, timeout=30)
    assert [seq for _, seq, _ in arrivals.arrivals] == list(range(10))
    assert arrivals.most_active == 1
    response = await api.client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"ordering": "none"}, headers=auth
    )
    assert response.status_code == 200
    row = await api.sql_row(
        "SELECT count(*) FROM deliveries WHERE pace_order IS NOT NULL AND status = 'pending'"
    )
    assert row[0] == 0


async def test_recovered_deliveries_follow_the_webhooks_pacing(
    make_service: ServiceFactory, arrivals: ArrivalReceiver
) -> None:
    """A delivery that failed before ordering became fifo is re-queued by recovery into the
    paced claim, and sent."""
    service = await make_service()
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=arrivals.url, events=["credits.low"])
    arrivals.failing = True  # every attempt (the test schedule is quick): finally failed
    await service.publish(account_id, "credits.low", credits_low(0)["data"])
    await service.wait_delivery(auth, webhook["id"], status="failed", timeout=30)
    arrivals.failing = False
    response = await service.client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"ordering": "fifo"}, headers=auth
    )
    assert response.status_code == 200
    recovered = await service.client.post(
        f"/v1/webhooks/{webhook['id']}/recover",
        json={"since": "2000-01-01T00:00:00Z"},
        headers=auth,
    )
    assert recovered.status_code == 200, recovered.text
    assert recovered.json()["count"] == 1
    await service.wait_delivery(auth, webhook["id"], status="delivered", timeout=30)
    row = await service.sql_row(
        "SELECT count(*) FROM deliveries WHERE webhook_id = :id AND pace_order IS NULL",
        id=webhook["id"],
    )
    assert row[0] == 0
