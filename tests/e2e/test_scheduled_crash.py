"""Scheduled deliveries survive a kill -9 of the real process: publish events due 2-3 s
ahead, SIGKILL the service before they are due, restart it, and every one arrives once, none
before its deliverAt."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from support import ADMIN_KEY, Receiver, ServiceProcess

pytestmark = pytest.mark.slow

EVENTS = 30


@pytest.fixture
def service_process(database_url: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(database_url, tmp_path / "service.log")
    try:
        yield proc
    finally:
        proc.stop()


def rfc3339(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).isoformat().replace("+00:00", "Z")


async def test_kill_9_loses_no_scheduled_delivery(
    service_process: ServiceProcess, receiver: Receiver
) -> None:
    service_process.start()
    await service_process.wait_ready()
    url = service_process.url
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    due_at: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=10) as client:
        created = (
            await client.post(url + "/v1/accounts", json={"name": "Crash"}, headers=admin)
        ).json()
        account_id = created["account"]["id"]
        auth = {"Authorization": f"Bearer {created['apiKey']['key']}"}
        response = await client.post(
            url + "/v1/webhooks",
            json={"url": receiver.url("/scheduled"), "events": ["credits.low"]},
            headers=auth,
        )
        assert response.status_code == 201, response.text
        start = time.time()
        for i in range(EVENTS):
            at = start + 2.0 + (i % 3) * 0.5  # 2, 2.5 and 3 s ahead
            response = await client.post(
                url + "/v1/events",
                json={
                    "account": account_id,
                    "event": "credits.low",
                    "data": {"remaining": i, "threshold": 500, "userId": f"u{i}"},
                    "deliverAt": rfc3339(at),
                },
                headers=admin,
            )
            assert response.status_code == 201, response.text
            due_at[response.json()["id"]] = at
        # killed before the first is due (publishing 30 events takes well under 2 s; if this
        # host was too slow for that, the test says so instead of proving nothing)
        assert receiver.on("/scheduled") == [], "a delivery was due before the kill"
        service_process.kill(signal.SIGKILL)
        await asyncio.to_thread(service_process.wait_exit)
        assert receiver.on("/scheduled") == []

        service_process.start()
        await service_process.wait_ready()
        await receiver.wait_for(EVENTS, path="/scheduled", timeout=60)
        # the log agrees: each delivered, in one attempt
        deadline = time.monotonic() + 30
        while True:
            log = (
                await client.get(
                    url + "/v1/events",
                    params={"limit": 100},
                    headers=auth,
                )
            ).json()["data"]
            assert {event["id"] for event in log} == set(due_at)
            statuses = []
            for event in log:
                deliveries = (
                    await client.get(url + f"/v1/events/{event['id']}/deliveries", headers=auth)
                ).json()["data"]
                statuses += [(d["status"], d["attemptCount"]) for d in deliveries]
            if all(status == "delivered" for status, _ in statuses):
                break
            assert time.monotonic() < deadline, statuses
            await asyncio.sleep(0.2)
        assert Counter(statuses) == Counter({("delivered", 1): EVENTS})
    received = receiver.on("/scheduled")
    ids = [json.loads(r.body)["data"]["eventId"] for r in received]
    assert Counter(ids) == Counter(dict.fromkeys(due_at, 1))  # every one, exactly once
    for request, event_id in zip(received, ids, strict=True):
        assert request.received_at >= due_at[event_id] - 0.001, "delivered before its time"
