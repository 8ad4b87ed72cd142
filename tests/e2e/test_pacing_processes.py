"""Pacing across processes on PostgreSQL: an API process (`serve --no-dispatcher`) and two
`worker` processes on one database. A rate-limited webhook's burst arrives no faster than its
limit in any second, counted by a real receiver on 127.0.0.1, and whole; a FIFO webhook's
deliveries arrive one at a time in publish order, also when the worker holding one is killed
with SIGKILL (its lease runs out, another worker sends it again, and nothing after it starts
first)."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web

from promptha_webhooks.store.database import migrate_sync

from support import ADMIN_KEY, ServiceProcess, free_port

pytestmark = pytest.mark.slow

WORKERS = 2
BURST = 300
RATE = 20
TOLERANCE = 1  # see tests/integration/test_pacing.py
# Three processes and the receiver share the machine: the receiver reads a request when its
# process next gets the CPU, so a stall of up to STALL_S can bunch requests sent before a
# window into it. Windows of WINDOW_S keep that small next to what they count (a one-second
# window would take a few bunched requests for a broken limit); a limit 15 % too fast still
# fails the window check below.
WINDOW_S = 5.0
STALL_S = 0.5
# The whole burst's span, measured by the same receiver: a stall at either end shortens it.
SPAN_ALLOWANCE_S = 1.5
FIFO_EVENTS = 30
KILLED_AT = 10  # the FIFO event whose first attempt is held until its worker is killed
_RUNNING = re.compile(r"worker \S+ running")


class Arrivals:
    """A receiver recording (monotonic time, path, sequence number, delivery id) per request;
    it holds the first request for `hold_seq` on the FIFO path until `release` is set."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals: list[tuple[float, str, int, str]] = []
        self.active: dict[str, int] = {}
        self.most_active: dict[str, int] = {}
        self.hold_seq: int | None = None
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        seq = int(body["data"]["remaining"])
        path = request.path
        delivery = request.headers["x-promptha-delivery-id"]
        self.arrivals.append((time.monotonic(), path, seq, delivery))
        self.active[path] = self.active.get(path, 0) + 1
        self.most_active[path] = max(self.most_active.get(path, 0), self.active[path])
        try:
            if path == "/fifo" and seq == self.hold_seq:
                self.hold_seq = None
                self.held.set()
                await self.release.wait()
            return web.Response(text="ok")
        finally:
            self.active[path] -= 1

    def on(self, path: str) -> list[tuple[float, int, str]]:
        return [(at, seq, delivery) for at, p, seq, delivery in self.arrivals if p == path]


@pytest.fixture
def pg_url(fresh_postgres_url: str) -> str:
    migrate_sync(fresh_postgres_url)
    return fresh_postgres_url


@pytest.fixture
async def arrivals() -> AsyncIterator[Arrivals]:
    receiver = Arrivals()
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        await runner.cleanup()


@pytest.fixture
def processes(pg_url: str, tmp_path: Path) -> Iterator[list[ServiceProcess]]:
    api = ServiceProcess(pg_url, tmp_path / "api.log", "serve", "--no-dispatcher")
    workers = [
        ServiceProcess(pg_url, tmp_path / f"worker{i}.log", "worker") for i in range(WORKERS)
    ]
    started = [api, *workers]
    for process in started:
        process.start()
    try:
        yield started
    finally:
        for process in started:
            process.stop()


async def _running(workers: list[ServiceProcess]) -> None:
    deadline = time.monotonic() + 60
    for worker in workers:
        while not _RUNNING.search(worker.log_path.read_text(errors="replace")):
            assert time.monotonic() < deadline, worker.log()
            await asyncio.sleep(0.1)


async def _account(client: httpx.AsyncClient) -> dict[str, str]:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    created = (await client.post("/v1/accounts", json={"name": "Paced"}, headers=admin)).json()
    return {"Authorization": f"Bearer {created['apiKey']['key']}"}


async def _webhook(client: httpx.AsyncClient, auth: dict[str, str], **fields: Any) -> str:
    response = await client.post(
        "/v1/webhooks", json={"events": ["credits.low"], **fields}, headers=auth
    )
    assert response.status_code == 201, response.text
    webhook_id: str = response.json()["id"]
    return webhook_id


def _event(seq: int) -> dict[str, Any]:
    return {"event": "credits.low", "data": {"remaining": seq, "threshold": 1, "userId": "u"}}


def most_in_a_window(times: list[float], window_s: float) -> int:
    times = sorted(times)
    most, end = 0, 0
    for start, at in enumerate(times):
        while end < len(times) and times[end] < at + window_s:
            end += 1
        most = max(most, end - start)
    return most


async def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_a_rate_limit_holds_across_two_workers(
    processes: list[ServiceProcess], arrivals: Arrivals
) -> None:
    api, *workers = processes
    await api.wait_ready()
    await _running(workers)
    base = f"http://127.0.0.1:{arrivals.port}"
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        auth = await _account(client)
        await _webhook(client, auth, url=f"{base}/limited", rateLimit=RATE)
        response = await client.post(
            "/v1/events/batch", json={"events": [_event(i) for i in range(BURST)]}, headers=auth
        )
        assert response.status_code == 201, response.text
    await _wait(lambda: len(arrivals.on("/limited")) >= BURST, 90, "not all arrived")
    limited = arrivals.on("/limited")
    assert sorted(seq for _, seq, _ in limited) == list(range(BURST))
    times = [at for at, _, _ in limited]
    assert most_in_a_window(times, WINDOW_S) <= RATE * (WINDOW_S + STALL_S) + TOLERANCE
    # …and all of them took as long as the limit makes them (one second's worth may go first)
    assert max(times) - min(times) >= (BURST - RATE) / RATE - SPAN_ALLOWANCE_S


async def test_fifo_order_survives_a_kill_9_of_the_sending_worker(
    pg_url: str, processes: list[ServiceProcess], arrivals: Arrivals
) -> None:
    api, *workers = processes
    await api.wait_ready()
    await _running(workers)
    base = f"http://127.0.0.1:{arrivals.port}"
    arrivals.hold_seq = KILLED_AT
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        auth = await _account(client)
        webhook_id = await _webhook(client, auth, url=f"{base}/fifo", ordering="fifo")
        for i in range(FIFO_EVENTS):
            response = await client.post("/v1/events", json=_event(i), headers=auth)
            assert response.status_code == 201, response.text
        await asyncio.wait_for(arrivals.held.wait(), 60)
        # The worker holding the delivery: its claim token is "<pid>-<random>".
        held_delivery = arrivals.on("/fifo")[-1][2]
        conn = await asyncpg.connect(pg_url)
        try:
            token = await conn.fetchval(
                "SELECT claim_token FROM deliveries WHERE id = $1", held_delivery
            )
        finally:
            await conn.close()
        pid = int(token.split("-")[0])
        (holder,) = [w for w in workers if w.process is not None and w.process.pid == pid]
        holder.kill(signal.SIGKILL)
        holder.wait_exit()
        arrivals.release.set()
        await _wait(
            lambda: len({d for _, _, d in arrivals.on("/fifo")}) >= FIFO_EVENTS,
            90,
            "not every FIFO delivery arrived",
        )
        deadline = time.monotonic() + 30
        while True:
            delivered = (
                await client.get(
                    f"/v1/webhooks/{webhook_id}/deliveries",
                    params={"status": "delivered", "limit": 100},
                    headers=auth,
                )
            ).json()["data"]
            if len(delivered) == FIFO_EVENTS:
                break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
    order = [seq for _, seq, _ in arrivals.on("/fifo")]
    # The held one went out twice (killed, then sent again after its lease ran out); nothing
    # after it started before its second attempt, and every other one once, in order.
    assert order == [*range(KILLED_AT + 1), *range(KILLED_AT, FIFO_EVENTS)]
    assert arrivals.most_active["/fifo"] == 1
