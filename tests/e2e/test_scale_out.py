"""Scale-out on PostgreSQL: one API process and several workers on one database, killed at
random with SIGKILL while 20,000 events fan out to 10 webhooks; and PostgreSQL itself
restarted while deliveries are under way."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiohttp import web

from promptha_webhooks.store.database import migrate_sync
from promptha_webhooks.store.dispatch_statements import WAITING_RESULTS_FACTOR

from support import ADMIN_KEY, ServiceProcess, free_port, require_postgres

pytestmark = pytest.mark.slow

EVENTS = 20_000
WEBHOOKS = 10
WORKERS = 3
MAX_IN_FLIGHT = 200
BATCH = 1000
_RUNNING = re.compile(r"worker \S+ running")


@pytest.fixture
def pg_url(fresh_postgres_url: str) -> str:
    migrate_sync(fresh_postgres_url)
    return fresh_postgres_url


class CountingReceiver:
    """A lean receiver: counts deliveries by `x-promptha-delivery-id`, answers 200."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.port = free_port()

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.seen[request.headers["x-promptha-delivery-id"]] += 1
        return web.Response(text="ok")


@pytest.fixture
async def counting_receiver() -> AsyncIterator[CountingReceiver]:
    receiver = CountingReceiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    try:
        yield receiver
    finally:
        await runner.cleanup()


@pytest.fixture
def processes(pg_url: str, tmp_path: Path) -> Iterator[list[ServiceProcess]]:
    settings = {
        "PROMPTHA_WEBHOOKS_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
        "PROMPTHA_WEBHOOKS_PER_WEBHOOK_CONCURRENCY": "50",
    }
    api = ServiceProcess(pg_url, tmp_path / "api.log", "serve", "--no-dispatcher", **settings)
    workers = [
        ServiceProcess(pg_url, tmp_path / f"worker{i}.log", "worker", **settings)
        for i in range(WORKERS)
    ]
    started = [api, *workers]
    try:
        yield started
    finally:
        for process in started:
            process.stop()


async def _pg(url: str, query: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        value: int = await conn.fetchval(query)
        return value
    finally:
        await conn.close()


async def test_random_kill_9_of_workers_loses_nothing(
    pg_url: str, processes: list[ServiceProcess], counting_receiver: CountingReceiver
) -> None:
    api, *workers = processes
    api.start()
    for worker in workers:
        worker.start()
    await api.wait_ready()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    base = f"http://127.0.0.1:{counting_receiver.port}"
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        created = (await client.post("/v1/accounts", json={"name": "Scale"}, headers=admin)).json()
        auth = {"Authorization": f"Bearer {created['apiKey']['key']}"}
        for i in range(WEBHOOKS):
            response = await client.post(
                "/v1/webhooks",
                json={"url": f"{base}/w{i}", "events": ["credits.low"]},
                headers=auth,
            )
            assert response.status_code == 201

        kills = 0
        rng = random.Random(7)
        stop_killing = asyncio.Event()
        starts = dict.fromkeys(range(WORKERS), 1)

        def running(index: int) -> bool:
            """Started and running since its last start (a worker takes about a second to
            start on a fast host, three on a slow one)."""
            log = workers[index].log_path.read_text(errors="replace")
            return len(_RUNNING.findall(log)) >= starts[index]

        async def killer() -> None:
            nonlocal kills
            while not stop_killing.is_set():
                await asyncio.sleep(rng.uniform(0.7, 1.3))
                if stop_killing.is_set():
                    return
                # A random running worker, never the last one running: otherwise, where a
                # start takes longer than the time between kills, workers spend their lives
                # starting and nothing is delivered.
                candidates = [i for i in range(WORKERS) if running(i)]
                if len(candidates) < 2:
                    continue
                index = rng.choice(candidates)
                victim = workers[index]
                victim.kill(signal.SIGKILL)
                await asyncio.to_thread(victim.wait_exit)
                kills += 1
                starts[index] += 1
                victim.start()

        killing = asyncio.create_task(killer())
        for start in range(0, EVENTS, BATCH):
            batch = [
                {
                    "event": "credits.low",
                    "data": {"remaining": i, "threshold": 500, "userId": f"user_{i}"},
                }
                for i in range(start, start + BATCH)
            ]
            response = await client.post("/v1/events/batch", json={"events": batch}, headers=auth)
            assert response.status_code == 201, response.text

        expected = EVENTS * WEBHOOKS
        deadline = time.monotonic() + 600
        while len(counting_receiver.seen) < expected:
            assert time.monotonic() < deadline, (
                f"{expected - len(counting_receiver.seen)} deliveries never arrived"
            )
            if kills >= 8 and len(counting_receiver.seen) > expected * 0.8:
                stop_killing.set()
            await asyncio.sleep(0.5)
        stop_killing.set()
        await killing

    total = await _pg(pg_url, "SELECT count(*) FROM deliveries")
    assert total == expected
    assert set(counting_receiver.seen) == set(
        row["id"] for row in await _fetch(pg_url, "SELECT id FROM deliveries")
    )
    # Duplicates: only what was in flight at a kill, i.e. sent and not yet recorded: at most
    # the killed worker's sending slots plus the results it had waiting for its writer.
    duplicates = sum(counting_receiver.seen.values()) - expected
    assert kills >= 3
    window = (1 + WAITING_RESULTS_FACTOR["postgresql"]) * MAX_IN_FLIGHT
    assert duplicates <= kills * window, (duplicates, kills)
    # Final states settle once the last results are written.
    deadline = time.monotonic() + 60
    while await _pg(pg_url, "SELECT count(*) FROM deliveries WHERE status <> 'delivered'"):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.5)
    # Each delivery's log is consistent: attempts numbered 1..attempt_count, the last delivered.
    inconsistent = await _pg(
        pg_url,
        """
        SELECT count(*) FROM deliveries d
        WHERE d.attempt_count <> (SELECT max(number) FROM attempts a WHERE a.delivery_id = d.id)
           OR NOT EXISTS (SELECT 1 FROM attempts a WHERE a.delivery_id = d.id
                          AND a.number = d.attempt_count AND a.outcome = 'delivered')
        """,
    )
    assert inconsistent == 0
    assert await _pg(pg_url, "SELECT count(*) FROM deliveries WHERE claim_token IS NOT NULL") == 0


async def _fetch(url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(query)
        return rows
    finally:
        await conn.close()


def _pg_ctl(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action, "--", "-m", "fast"]
        if action == "stop"
        else ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        check=True,
        capture_output=True,
        timeout=60,
    )


async def _wait_postgres(up: bool, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test", timeout=2)
            await conn.close()
            if up:
                return
        except (OSError, asyncpg.PostgresError, TimeoutError):
            if not up:
                return
        await asyncio.sleep(0.2)
    raise AssertionError(f"PostgreSQL did not come {'up' if up else 'down'}")


def _can_control_postgres() -> bool:
    return (
        os.geteuid() == 0
        and os.path.isdir("/etc/postgresql")
        and bool(subprocess.run(["which", "pg_ctlcluster"], capture_output=True).stdout)
    )


async def test_postgres_restart_during_delivery(pg_url: str, tmp_path: Path) -> None:
    require_postgres()
    if not _can_control_postgres():
        pytest.skip("needs root and pg_ctlcluster to restart the local PostgreSQL")
    service = ServiceProcess(pg_url, tmp_path / "serve.log")
    receiver_seen: Counter[str] = Counter()

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        receiver_seen[request.headers["x-promptha-event-id"]] += 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    accepted: set[str] = set()
    try:
        service.start()
        await service.wait_ready()
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            created = (
                await client.post("/v1/accounts", json={"name": "Restart"}, headers=admin)
            ).json()
            auth = {"Authorization": f"Bearer {created['apiKey']['key']}"}
            await client.post(
                "/v1/webhooks",
                json={"url": f"http://127.0.0.1:{port}/hook", "events": ["credits.low"]},
                headers=auth,
            )

            async def publish(i: int) -> httpx.Response:
                return await client.post(
                    "/v1/events",
                    json={
                        "event": "credits.low",
                        "data": {"remaining": i, "threshold": 1, "userId": "u"},
                    },
                    headers=auth,
                )

            for i in range(200):
                response = await publish(i)
                assert response.status_code == 201
                accepted.add(response.json()["id"])
            _pg_ctl("stop")
            await _wait_postgres(up=False)
            down = await publish(-1)
            assert down.status_code == 503, down.text
            assert down.json()["error"]["type"] == "service_unavailable"
            listing = await client.get("/v1/webhooks", headers=auth)
            assert listing.status_code == 503
            _pg_ctl("start")
            await _wait_postgres(up=True)
            # The API reconnects by itself...
            for _ in range(100):
                response = await publish(1000)
                if response.status_code == 201:
                    accepted.add(response.json()["id"])
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("API did not recover: " + response.text)
            # ...and so does the dispatcher: every accepted event arrives.
            deadline = time.monotonic() + 60
            while not accepted <= set(receiver_seen):
                assert time.monotonic() < deadline, service.log()
                await asyncio.sleep(0.2)
    finally:
        if not await _is_up():
            _pg_ctl("start")
            await _wait_postgres(up=True)
        service.stop()
        await runner.cleanup()


async def _is_up() -> bool:
    try:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test", timeout=2)
        await conn.close()
        return True
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
