"""The publishing client, in a process of its own (`python -m bench.loadgen`) so it does not
share the API's core: aiohttp on uvloop, keep-alive connections.

Two modes, each printing one JSON line of results on stdout:
- `closed`: N clients, each sending its next request when the previous one is answered, for a
  fixed time; one event per request (POST /v1/events) or `--batch K` events per request
  (POST /v1/events/batch). Events are small `credits.low` ones, or with `--typical` the
  typical 1.3 KB `fabric.completed` of bench/events.py.
- `rate`: an open loop at a fixed rate (one event per request, each sent at its scheduled time
  whatever the earlier ones are doing); writes (eventId, send time, answer time, warm-up?) to
  `--out` for latency. Send times are taken just before the request is handed to aiohttp, on
  CLOCK_MONOTONIC (system-wide), like the receiver's arrival times. To stay bounded when the
  service cannot keep up, at most `--max-outstanding` requests wait at once (a send due while
  that many wait is dropped and counted), and requests still unanswered `--drain` seconds
  after the last send are abandoned.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench import events
from bench.common import ADMIN_KEY, PYTHON, ROOT
from bench.seed import EVENT_TYPE, PAYLOAD


def _item(number: int, typical: bool) -> dict[str, Any]:
    """A small `credits.low` event, or the typical 1.3 KB `fabric.completed` (bench/events.py)."""
    return events.batch_item(number, 1) if typical else {"event": EVENT_TYPE, "data": PAYLOAD}


def _single_body(account: str, typical: bool = False) -> bytes:
    return json.dumps({"account": account, **_item(0, typical)}).encode()


def _batch_body(account: str, size: int, typical: bool = False) -> bytes:
    items = [_item(number, typical) for number in range(size)]
    return json.dumps({"account": account, "events": items}).encode()


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"}


async def closed_loop(
    base: str, account: str, clients: int, duration: float, batch: int, typical: bool
) -> dict[str, Any]:
    url = f"{base}/v1/events/batch" if batch else f"{base}/v1/events"
    body = _batch_body(account, batch, typical) if batch else _single_body(account, typical)
    headers = _headers()
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=120)
    last_done = 0.0
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.monotonic()
        end = start + duration

        async def client() -> None:
            nonlocal last_done
            while time.monotonic() < end:
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        statuses[response.status] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                last_done = time.monotonic()

        await asyncio.gather(*(client() for _ in range(clients)))
    ok = statuses.get(201, 0)
    elapsed = last_done - start
    return {
        "requests": ok,
        "events": ok * (batch or 1),
        "elapsed": elapsed,
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": dict(errors),
    }


async def open_loop(
    base: str,
    account: str,
    rate: float,
    duration: float,
    warmup: float,
    out: Path,
    max_outstanding: int,
    drain: float,
    typical: bool,
) -> dict[str, Any]:
    url = f"{base}/v1/events"
    body = _single_body(account, typical)
    headers = _headers()
    records: list[tuple[str, float, float, bool]] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    total = round((warmup + duration) * rate)
    warm = round(warmup * rate)
    connector = aiohttp.TCPConnector(limit=512)
    timeout = aiohttp.ClientTimeout(total=60)
    max_lag = 0.0
    dropped = 0
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def publish(is_warmup: bool) -> None:
            sent = time.monotonic()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    data = await response.read()
                    answered = time.monotonic()
                    statuses[response.status] += 1
                    if response.status == 201:
                        records.append((json.loads(data)["id"], sent, answered, is_warmup))
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors[type(exc).__name__] += 1

        tasks: set[asyncio.Task[None]] = set()
        start = time.monotonic() + 0.05
        for k in range(total):
            due = start + k / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                max_lag = max(max_lag, -delay)
            if len(tasks) >= max_outstanding:
                dropped += 1
                continue
            task = asyncio.create_task(publish(k < warm))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sent_span = time.monotonic() - start
        abandoned = 0
        if tasks:
            _, pending = await asyncio.wait(set(tasks), timeout=drain)
            abandoned = len(pending)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
    out.write_text(json.dumps(records))
    return {
        "due": total,
        "dropped": dropped,
        "abandoned": abandoned,
        "ok": statuses.get(201, 0),
        "send_rate": (total - 1) / sent_span if sent_span > 0 else float("nan"),
        "max_schedule_lag_ms": max_lag * 1000,
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": dict(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["closed", "rate"])
    parser.add_argument("--base", required=True, help="the API, http://127.0.0.1:PORT")
    parser.add_argument("--account", required=True)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--batch", type=int, default=0, help="events per request (batch API)")
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--rate", type=float, default=1000, help="events/s (rate mode)")
    parser.add_argument("--warmup", type=float, default=0, help="seconds (rate mode)")
    parser.add_argument("--out", type=Path, help="records file (rate mode)")
    parser.add_argument("--max-outstanding", type=int, default=2000, help="rate mode")
    parser.add_argument("--drain", type=float, default=10, help="seconds (rate mode)")
    parser.add_argument(
        "--typical", action="store_true", help="typical 1.3 KB fabric.completed events"
    )
    args = parser.parse_args()
    import uvloop

    if args.mode == "closed":
        coro = closed_loop(
            args.base, args.account, args.clients, args.duration, args.batch, args.typical
        )
    else:
        if args.out is None:
            parser.error("rate mode needs --out")
        coro = open_loop(
            args.base,
            args.account,
            args.rate,
            args.duration,
            args.warmup,
            args.out,
            args.max_outstanding,
            args.drain,
            args.typical,
        )
    print(json.dumps(uvloop.run(coro)), flush=True)


async def run_loadgen(*args: str, timeout: float) -> dict[str, Any]:
    """Run `python -m bench.loadgen ARGS` and return its JSON result."""
    process = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "bench.loadgen",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"loadgen did not finish within {timeout:g} s") from None
    if process.returncode != 0:
        raise RuntimeError(f"loadgen failed:\n{stderr.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    main()
