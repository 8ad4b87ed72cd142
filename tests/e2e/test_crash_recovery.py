"""Durability of the real process: kill -9 during a burst of events, restart, every accepted
event arrives; SIGTERM finishes or releases in-flight attempts."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import ADMIN_KEY, Receiver, ServiceProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def service_process(database_url: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(database_url, tmp_path / "service.log")
    try:
        yield proc
    finally:
        proc.stop()


async def _setup_account(
    client: httpx.AsyncClient, url: str, hook_url: str
) -> tuple[str, dict[str, str], str]:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    created = (
        await client.post(url + "/v1/accounts", json={"name": "Crash"}, headers=admin)
    ).json()
    auth = {"Authorization": f"Bearer {created['apiKey']['key']}"}
    response = await client.post(
        url + "/v1/webhooks", json={"url": hook_url, "events": ["credits.low"]}, headers=auth
    )
    assert response.status_code == 201, response.text
    return created["account"]["id"], auth, response.json()["id"]


def _received_event_ids(receiver: Receiver) -> set[str]:
    return {json.loads(r.body)["data"]["eventId"] for r in receiver.requests}


async def test_kill_9_during_burst_loses_nothing(
    service_process: ServiceProcess, receiver: Receiver
) -> None:
    service_process.start()
    await service_process.wait_ready()
    url = service_process.url
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    accepted: set[str] = set()
    async with httpx.AsyncClient(timeout=10) as client:
        account_id, _auth, _webhook_id = await _setup_account(client, url, receiver.url("/crash"))

        async def publish(i: int) -> None:
            try:
                response = await client.post(
                    url + "/v1/events",
                    json={
                        "account": account_id,
                        "event": "credits.low",
                        "data": {"remaining": i, "threshold": 500, "userId": f"u{i}"},
                    },
                    headers=admin,
                )
            except httpx.TransportError:
                return  # the process died before answering: not accepted
            if response.status_code == 201:
                accepted.add(response.json()["id"])

        async def publisher() -> None:
            for start in range(0, 600, 20):
                await asyncio.gather(*(publish(i) for i in range(start, start + 20)))

        burst = asyncio.create_task(publisher())
        while len(accepted) < 150:
            await asyncio.sleep(0.01)
        service_process.kill(signal.SIGKILL)
        service_process.wait_exit()
        await burst
        assert 150 <= len(accepted) < 600

        service_process.start()
        await service_process.wait_ready()
        deadline = time.monotonic() + 60
        while not accepted <= _received_event_ids(receiver):
            assert time.monotonic() < deadline, (
                f"{len(accepted - _received_event_ids(receiver))} accepted events never arrived"
            )
            await asyncio.sleep(0.1)
    # At least once: every accepted event arrived; duplicates only for in-flight attempts.
    received = [json.loads(r.body)["data"]["eventId"] for r in receiver.requests]
    assert accepted <= set(received)


async def test_sigterm_finishes_in_flight_attempts(
    service_process: ServiceProcess, receiver: Receiver
) -> None:
    from aiohttp import web

    release = asyncio.Event()

    async def slow(_request: object) -> web.Response:
        await asyncio.wait_for(release.wait(), 5)
        return web.Response(text="ok")

    receiver.responders["/slow"] = slow
    service_process.start()
    await service_process.wait_ready()
    url = service_process.url
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(timeout=10) as client:
        account_id, auth, webhook_id = await _setup_account(client, url, receiver.url("/slow"))
        ids = []
        for i in range(3):
            response = await client.post(
                url + "/v1/events",
                json={
                    "account": account_id,
                    "event": "credits.low",
                    "data": {"remaining": i, "threshold": 1, "userId": "u"},
                },
                headers=admin,
            )
            ids.append(response.json()["id"])
        await receiver.wait_for(3, path="/slow")
        service_process.kill(signal.SIGTERM)
        await asyncio.sleep(0.5)
        assert service_process.process is not None
        assert service_process.process.poll() is None  # still finishing in-flight attempts
        release.set()
        # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status is -15.
        assert await asyncio.to_thread(service_process.wait_exit, 15) in (0, -signal.SIGTERM)
        assert "released" not in service_process.log()
        # Restart: the results were recorded before exit, so nothing is sent again.
        service_process.start()
        await service_process.wait_ready()
        await asyncio.sleep(1.0)
        log = (await client.get(f"{url}/v1/webhooks/{webhook_id}/deliveries", headers=auth)).json()
        assert sorted(d["status"] for d in log["data"]) == ["delivered"] * 3
        assert all(d["attemptCount"] == 1 for d in log["data"])
    assert len(receiver.on("/slow")) == 3
    assert _received_event_ids(receiver) == set(ids)
