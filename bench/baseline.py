"""The dispatch baseline: a bare aiohttp + uvloop sender (`python -m bench.baseline`), in a
process of its own, with no database, no signing and no attempt log: COUNT POSTs of the
service's body size and header set (static values) to the same receiver, CONCURRENCY in flight
over one keep-alive session. Its rate is measured at the receiver, like the service's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time

import aiohttp

from bench.common import PYTHON, ROOT
from bench.receiver import OK, Receiver
from bench.seed import event_id, sample_body


def _headers() -> dict[str, str]:
    """The header names the service sends, with values of the same length (not computed)."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "Promptha-Webhooks/0.1.0",
        "x-promptha-timestamp": str(int(time.time())),
        "x-promptha-signature": "0" * 64,
        "x-promptha-event": "credits.low",
        "x-promptha-event-id": event_id(0),
        "x-promptha-delivery-id": "dlv_" + "0" * 26,
        "x-promptha-attempt": "1",
    }


async def send(url: str, count: int, concurrency: int, body: bytes) -> dict[str, float]:
    headers = _headers()
    connector = aiohttp.TCPConnector(limit=concurrency)
    remaining = count
    failures = 0
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:

        async def worker() -> None:
            nonlocal remaining, failures
            while remaining > 0:
                remaining -= 1
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        if response.status != 200:
                            failures += 1
                except (aiohttp.ClientError, TimeoutError):
                    failures += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"sent": count, "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=512)
    args = parser.parse_args()
    import uvloop

    result: dict[str, float] = uvloop.run(
        send(args.url, args.count, args.concurrency, sample_body())
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    print(json.dumps(result), flush=True)


async def run_baseline(
    receiver: Receiver, count: int, concurrency: int, timeout: float
) -> tuple[float, list[str]]:
    """Send `count` bare POSTs to the receiver; returns (deliveries/s, notes)."""
    await receiver.reset()
    process = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "bench.baseline",
        "--url",
        receiver.url(f"/{OK}/baseline"),
        "--count",
        str(count),
        "--concurrency",
        str(concurrency),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"baseline sender did not finish within {timeout:g} s") from None
    outcome = json.loads(stdout.decode().strip().splitlines()[-1])
    stats = (await receiver.stats()).group(OK)
    notes = [f"bare aiohttp+uvloop sender, {concurrency} in flight, {count:,} POSTs"]
    if outcome["failures"]:
        notes.append(f"{outcome['failures']} baseline requests failed")
    notes.append(f"sender CPU {1e6 * outcome['cpu_s'] / count:,.0f} µs per POST")
    return stats.rate, notes


if __name__ == "__main__":
    main()
