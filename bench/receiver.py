"""The webhook receiver of the benchmarks, in a process of its own (`python -m bench.receiver`)
so it does not share the dispatcher's core: aiohttp on uvloop, answering 200 at once.

It listens on any number of ports (fan-out needs 100). The first path segment names a group:
`/ok/...` answers 200, `/hang/...` never answers (the sender's timeout ends the request). Per
group it counts requests and keeps the first and last arrival time (CLOCK_MONOTONIC, which is
system-wide on Linux, so the controller can compare it with its own clock); with `--record` it
also keeps (x-promptha-event-id, arrival) pairs for latency.

A control port answers GET /stats, POST /reset, GET /wait?count=N&group=G&timeout=S (returns
when the count is reached) and GET /arrivals. `Receiver` is the controller's handle on it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from bench.common import PYTHON, ROOT

HANG = "hang"
OK = "ok"


# -- the receiver process ------------------------------------------------------------------


@dataclass
class _Group:
    count: int = 0
    first: float = 0.0
    last: float = 0.0


@dataclass
class _Tally:
    record: bool
    groups: dict[str, _Group] = field(default_factory=dict)
    total: int = 0
    arrivals: list[tuple[str, float]] = field(default_factory=list)
    waiters: list[tuple[str | None, int, asyncio.Future[None]]] = field(default_factory=list)

    def add(self, group: str, event_id: str | None, now: float) -> None:
        entry = self.groups.get(group)
        if entry is None:
            entry = self.groups[group] = _Group(first=now)
        entry.count += 1
        entry.last = now
        self.total += 1
        if self.record and event_id is not None:
            self.arrivals.append((event_id, now))
        if self.waiters:
            self.wake()

    def reached(self, group: str | None, count: int) -> bool:
        if group is None:
            return self.total >= count
        entry = self.groups.get(group)
        return entry is not None and entry.count >= count

    def wake(self) -> None:
        for group, count, future in self.waiters:
            if not future.done() and self.reached(group, count):
                future.set_result(None)
        self.waiters = [w for w in self.waiters if not w[2].done()]

    def stats(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "groups": {
                name: {"count": g.count, "first": g.first, "last": g.last}
                for name, g in self.groups.items()
            },
        }

    def reset(self) -> None:
        self.groups.clear()
        self.total = 0
        self.arrivals.clear()


# A sender opening hundreds of connections at once must not overflow the accept queue: dropped
# SYNs are retried after 1 s, a stall that would be charged to the sender under test.
LISTEN_BACKLOG = 4096


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(LISTEN_BACKLOG)
    sock.setblocking(False)
    return sock


async def _serve(ports: int, record: bool) -> None:
    tally = _Tally(record)
    never = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        now = time.monotonic()
        await request.read()
        group = request.match_info["group"]
        tally.add(group, request.headers.get("x-promptha-event-id"), now)
        if group == HANG:
            await never.wait()
        return web.Response(text="ok")

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(tally.stats())

    async def reset(_request: web.Request) -> web.Response:
        tally.reset()
        return web.json_response(tally.stats())

    async def wait(request: web.Request) -> web.Response:
        count = int(request.query["count"])
        group = request.query.get("group") or None
        timeout = float(request.query.get("timeout", "10"))
        if not tally.reached(group, count):
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            tally.waiters.append((group, count, future))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, timeout)
        return web.json_response(tally.stats())

    async def arrivals(_request: web.Request) -> web.Response:
        return web.json_response({"arrivals": tally.arrivals})

    app = web.Application()
    app.router.add_post("/{group}/{tail:.*}", receive)
    control = web.Application()
    control.router.add_get("/stats", stats)
    control.router.add_post("/reset", reset)
    control.router.add_get("/wait", wait)
    control.router.add_get("/arrivals", arrivals)

    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    control_runner = web.AppRunner(control, access_log=None, handle_signals=False)
    await runner.setup()
    await control_runner.setup()
    sockets = [_listen() for _ in range(ports)]
    for sock in sockets:
        await web.SockSite(runner, sock, backlog=LISTEN_BACKLOG).start()  # it listens again
    control_sock = _listen()
    await web.SockSite(control_runner, control_sock, backlog=LISTEN_BACKLOG).start()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ready = {
        "control": control_sock.getsockname()[1],
        "ports": [sock.getsockname()[1] for sock in sockets],
    }
    print(json.dumps(ready), flush=True)
    await stop.wait()
    never.set()
    await control_runner.cleanup()
    await runner.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ports", type=int, default=1, help="how many ports to listen on")
    parser.add_argument("--record", action="store_true", help="keep (eventId, arrival) pairs")
    args = parser.parse_args()
    import uvloop

    uvloop.run(_serve(args.ports, args.record))


# -- the controller's handle -----------------------------------------------------------------


@dataclass(frozen=True)
class GroupStats:
    count: int
    first: float
    last: float

    @property
    def rate(self) -> float:
        """Arrivals per second from the first to the last one."""
        span = self.last - self.first
        return self.count / span if span > 0 else float("nan")


@dataclass(frozen=True)
class Stats:
    total: int
    groups: dict[str, GroupStats]

    def group(self, name: str) -> GroupStats:
        return self.groups.get(name, GroupStats(0, 0.0, 0.0))

    @property
    def first(self) -> float:
        return min((g.first for g in self.groups.values()), default=0.0)

    @property
    def last(self) -> float:
        return max((g.last for g in self.groups.values()), default=0.0)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stats:
        groups = {name: GroupStats(**g) for name, g in data["groups"].items()}
        return cls(int(data["total"]), groups)


class Receiver:
    """Start `python -m bench.receiver` and talk to its control port."""

    def __init__(self, ports: int = 1, *, record: bool = False) -> None:
        self._ports_wanted = ports
        self._record = record
        self._process: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None
        self.ports: list[int] = []
        self._control = ""

    async def __aenter__(self) -> Receiver:
        await self.start()
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        args = ["-m", "bench.receiver", "--ports", str(self._ports_wanted)]
        if self._record:
            args.append("--record")
        self._process = await asyncio.create_subprocess_exec(
            PYTHON, *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 30)
        if not line:
            raise RuntimeError("the receiver process exited before it was ready")
        ready = json.loads(line)
        self.ports = list(ready["ports"])
        self._control = f"http://127.0.0.1:{ready['control']}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), 10)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        self._process = None

    def url(self, path: str, port_index: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[port_index]}{path}"

    async def _get(self, path: str, **params: str) -> dict[str, Any]:
        assert self._session is not None
        async with self._session.get(self._control + path, params=params) as response:
            response.raise_for_status()
            data: dict[str, Any] = await response.json()
            return data

    async def stats(self) -> Stats:
        return Stats.from_json(await self._get("/stats"))

    async def reset(self) -> None:
        assert self._session is not None
        async with self._session.post(self._control + "/reset") as response:
            response.raise_for_status()

    async def wait(
        self,
        count: int,
        *,
        group: str | None = OK,
        timeout: float,
        alive: Any = None,
    ) -> tuple[Stats, bool]:
        """Wait until `count` requests of `group` (None: all) arrived or `timeout` passed.

        `alive`: an object with an `alive` property (a ServiceProcess); waiting stops early when
        it turns false. Returns the stats and whether the count was reached.
        """
        deadline = time.monotonic() + timeout
        params = {"count": str(count)} | ({"group": group} if group else {})
        while True:
            left = deadline - time.monotonic()
            step = min(2.0, max(left, 0.0))
            stats = Stats.from_json(await self._get("/wait", timeout=f"{step:.3f}", **params))
            reached = (stats.total if group is None else stats.group(group).count) >= count
            if reached or left <= 0:
                return stats, reached
            if alive is not None and not alive.alive:
                return stats, False

    async def arrivals(self) -> list[tuple[str, float]]:
        data = await self._get("/arrivals")
        return [(str(event_id), float(t)) for event_id, t in data["arrivals"]]


if __name__ == "__main__":
    main()
