"""The bare senders of the dispatch benchmark (`python -m bench.baseline`), each in a process
of its own, with no database, no signing and no attempt log: COUNT POSTs of the service's body
(a typical event) and header set (static values) to the same receiver, round-robin over the
endpoints' URLs, IN_FLIGHT at once over keep-alive connections. Their rate is measured at the
receiver, like the service's.

Every bare sender runs on uvloop with the garbage-collector settings the service's processes
use (`promptha_webhooks.gc_tuning.tune_for_service`, called, not copied), so a gap to the
service is the service's own work. Clients:
- `aiohttp`: the service's own HTTP client, the baseline the targets are set against;
- `pyreqwest`: reqwest (Rust, on hyper) behind a Python API, the fastest client this machine
  has measured (docs/performance.md): what a faster transport could give.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench import events
from bench.common import PYTHON, ROOT
from bench.receiver import OK, Receiver
from bench.seed import event_id

CLIENTS = ("aiohttp", "pyreqwest")
Send = Callable[[str], Awaitable[int]]


def _headers() -> dict[str, str]:
    """The header names the service sends, with values of the same length (not computed)."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "Promptha-Webhooks/0.1.0",
        "x-promptha-timestamp": str(int(time.time())),
        "x-promptha-signature": "0" * 64,
        "x-promptha-event": events.EVENT_TYPE,
        "x-promptha-event-id": event_id(0),
        "x-promptha-delivery-id": "dlv_" + "0" * 26,
        "x-promptha-attempt": "1",
    }


async def _drive(send: Send, urls: list[str], count: int, in_flight: int) -> int:
    """`in_flight` loops sending `count` requests in all; returns the failures."""
    remaining = count
    failures = 0

    async def loop() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            try:
                if await send(urls[remaining % len(urls)]) != 200:
                    failures += 1
            except Exception:  # any failure of the client counts, whatever its type
                failures += 1

    await asyncio.gather(*(loop() for _ in range(in_flight)))
    return failures


async def _with_aiohttp(urls: list[str], count: int, in_flight: int, body: bytes) -> int:
    import aiohttp

    headers = _headers()
    connector = aiohttp.TCPConnector(limit=in_flight)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def send(url: str) -> int:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status

        return await _drive(send, urls, count, in_flight)


async def _with_pyreqwest(urls: list[str], count: int, in_flight: int, body: bytes) -> int:
    from datetime import timedelta

    from pyreqwest.client import ClientBuilder

    headers = _headers()
    builder = ClientBuilder().max_connections(in_flight).timeout(timedelta(seconds=30))
    async with builder.build() as client:

        async def send(url: str) -> int:
            request = client.post(url).headers(headers).body_bytes(body).build()
            response = await request.send()
            await response.bytes()
            return response.status

        return await _drive(send, urls, count, in_flight)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--client", choices=CLIENTS, default="aiohttp")
    parser.add_argument("--urls", required=True, help="comma-separated endpoint URLs")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--in-flight", type=int, required=True)
    args = parser.parse_args()
    import uvloop

    from promptha_webhooks.gc_tuning import tune_for_service

    body = events.delivered_body(event_id(0), int(time.time()))
    urls = args.urls.split(",")
    run = _with_aiohttp if args.client == "aiohttp" else _with_pyreqwest
    tune_for_service()  # after the imports, as the service's processes call it
    # CPU from here on, as the worker's is counted once it is ready: not the imports.
    started = _cpu_s()
    failures = uvloop.run(run(urls, args.count, args.in_flight, body))
    result = {"sent": args.count, "failures": failures, "cpu_s": _cpu_s() - started}
    print(json.dumps(result), flush=True)


def _cpu_s() -> float:
    """User + system CPU of the process so far, every thread (pyreqwest sends from its own)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Bare:
    """One run of bare senders: `processes` of them sharing `count` and `in_flight`."""

    client: str
    processes: int
    in_flight: int  # all processes together
    endpoints: int
    rate: float  # requests/s at the receiver, first to last arrival
    cpu_us: float  # CPU per request, all processes together
    failures: int

    def describe(self) -> str:
        who = f"{self.processes} {self.client} processes" if self.processes > 1 else self.client
        return f"{who}, {self.in_flight} in flight, {self.endpoints} endpoint(s)"


async def _sender(
    client: str, urls: list[str], count: int, in_flight: int, timeout: float
) -> dict[str, float]:
    process = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "bench.baseline",
        "--client",
        client,
        "--urls",
        ",".join(urls),
        "--count",
        str(count),
        "--in-flight",
        str(in_flight),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"bare {client} sender did not finish within {timeout:g} s") from None
    if process.returncode != 0:
        raise RuntimeError(f"bare {client} sender failed:\n{stderr.decode()[-1500:]}")
    outcome: dict[str, float] = json.loads(stdout.decode().strip().splitlines()[-1])
    return outcome


async def run_bare(
    receiver: Receiver,
    urls: list[str],
    count: int,
    in_flight: int,
    timeout: float,
    *,
    client: str = "aiohttp",
    processes: int = 1,
) -> Bare:
    """Send `count` bare POSTs over `urls` from `processes` senders sharing `count` and
    `in_flight` evenly; the rate is measured at the receiver."""
    await receiver.reset()
    outcomes = await asyncio.gather(
        *(
            _sender(client, urls, count // processes, max(1, in_flight // processes), timeout)
            for _ in range(processes)
        )
    )
    stats = (await receiver.stats()).group(OK)
    sent = sum(outcome["sent"] for outcome in outcomes)
    return Bare(
        client,
        processes,
        in_flight,
        len(urls),
        stats.rate,
        1e6 * sum(outcome["cpu_s"] for outcome in outcomes) / sent,
        int(sum(outcome["failures"] for outcome in outcomes)),
    )


if __name__ == "__main__":
    main()
