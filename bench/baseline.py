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
    parser.add_argument(
        "--tune-gc",
        action="store_true",
        help="apply the service's garbage-collector settings (promptha_webhooks.gc_tuning)",
    )
    args = parser.parse_args()
    import uvloop

    if args.tune_gc:
        from promptha_webhooks.gc_tuning import tune_for_service

        tune_for_service()

    result: dict[str, float] = uvloop.run(
        send(args.url, args.count, args.concurrency, sample_body())
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    print(json.dumps(result), flush=True)


async def _sender(
    url: str, count: int, concurrency: int, timeout: float, tune_gc: bool
) -> dict[str, float]:
    process = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "bench.baseline",
        "--url",
        url,
        "--count",
        str(count),
        "--concurrency",
        str(concurrency),
        *(("--tune-gc",) if tune_gc else ()),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"baseline sender did not finish within {timeout:g} s") from None
    outcome: dict[str, float] = json.loads(stdout.decode().strip().splitlines()[-1])
    return outcome


async def run_baseline(
    receiver: Receiver,
    count: int,
    concurrency: int,
    timeout: float,
    *,
    processes: int = 1,
    tune_gc: bool = False,
) -> tuple[float, list[str]]:
    """Send `count` bare POSTs to the receiver, from `processes` senders sharing `count` and
    `concurrency` evenly (with the service's garbage-collector settings if `tune_gc`);
    returns (deliveries/s at the receiver, notes)."""
    await receiver.reset()
    url = receiver.url(f"/{OK}/baseline")
    outcomes = await asyncio.gather(
        *(
            _sender(url, count // processes, concurrency // processes, timeout, tune_gc)
            for _ in range(processes)
        )
    )
    stats = (await receiver.stats()).group(OK)
    sent = sum(outcome["sent"] for outcome in outcomes)
    failures = sum(outcome["failures"] for outcome in outcomes)
    cpu_s = sum(outcome["cpu_s"] for outcome in outcomes)
    who = "sender" if processes == 1 else f"{processes} sender processes"
    if tune_gc:
        who += " with the service's garbage-collector settings"
    notes = [f"bare aiohttp+uvloop {who}, {concurrency} in flight, {sent:,.0f} POSTs"]
    if failures:
        notes.append(f"{failures:.0f} baseline requests failed")
    notes.append(f"sender CPU {1e6 * cpu_s / sent:,.0f} µs per POST")
    return stats.rate, notes


if __name__ == "__main__":
    main()
