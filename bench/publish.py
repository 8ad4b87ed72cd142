"""Benchmark 2, publish: events/s accepted by the API alone (`serve --no-dispatcher`), from a
client process: POST /v1/events one event per request with 64 concurrent clients, and
POST /v1/events/batch with 1,000 events per request ("n/a (endpoint missing)" if it answers
404). The account has one webhook subscribed, so each event also stores one delivery.
Targets on PostgreSQL: 3,000/s single, 30,000/s batched.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bench.common import ADMIN_KEY, Context, Result, Target, log
from bench.database import ScratchDatabase
from bench.loadgen import run_loadgen
from bench.seed import EVENT_TYPE, PAYLOAD, seed_account, seed_webhooks
from bench.service import ServiceProcess

NAME = "publish"
CLIENTS = 64
BATCH = 1000
BATCH_CLIENTS = 4
DURATION_S = 20.0
QUICK_DURATION_S = 4.0
SINGLE_TARGET = 3000.0
BATCH_TARGET = 30000.0
UNIT = "events/s"


async def run(ctx: Context) -> list[Result]:
    duration = QUICK_DURATION_S if ctx.options.quick else DURATION_S
    results: list[Result] = []
    for backend in ctx.backends(("sqlite", "postgresql")):
        # The targets are for PostgreSQL; SQLite figures are shown without one.
        pg = backend == "postgresql"
        async with ScratchDatabase(ctx, backend) as db:
            account = await seed_account(db)
            # Never called: no dispatcher runs. Port 9 (discard) on loopback.
            await seed_webhooks(db, ["http://127.0.0.1:9/never-called"])
            api = ServiceProcess(ctx, f"publish-{backend}", db.url, "serve", "--no-dispatcher")
            await api.start()
            try:
                log(f"publish/{backend}: single, {CLIENTS} clients, {duration:g} s")
                cpu_before = api.cpu_seconds()
                single = await run_loadgen(
                    "closed",
                    "--base",
                    api.url,
                    "--account",
                    account,
                    "--clients",
                    str(CLIENTS),
                    "--duration",
                    str(duration),
                    timeout=duration + 180,
                )
                single["api_cpu_s"] = _cpu_used(api, cpu_before)
                results.append(
                    _result(
                        f"publish/{backend}/single",
                        single,
                        Target(">=", SINGLE_TARGET, unit="/s") if pg else None,
                        f"{CLIENTS} clients, one event per request",
                    )
                )
                if await _batch_endpoint_missing(api.url, account):
                    results.append(
                        Result(
                            f"publish/{backend}/batch",
                            None,
                            UNIT,
                            target=Target(">=", BATCH_TARGET, unit="/s") if pg else None,
                            text="n/a (endpoint missing)",
                        )
                    )
                    continue
                log(f"publish/{backend}: batch of {BATCH}, {BATCH_CLIENTS} clients")
                cpu_before = api.cpu_seconds()
                batch = await run_loadgen(
                    "closed",
                    "--base",
                    api.url,
                    "--account",
                    account,
                    "--clients",
                    str(BATCH_CLIENTS),
                    "--batch",
                    str(BATCH),
                    "--duration",
                    str(duration),
                    timeout=duration + 300,
                )
                batch["api_cpu_s"] = _cpu_used(api, cpu_before)
                results.append(
                    _result(
                        f"publish/{backend}/batch",
                        batch,
                        Target(">=", BATCH_TARGET, unit="/s") if pg else None,
                        f"{BATCH_CLIENTS} clients, {BATCH} events per request",
                    )
                )
            finally:
                await api.stop()
    return results


def _result(name: str, outcome: dict[str, Any], target: Target | None, what: str) -> Result:
    elapsed = float(outcome["elapsed"])
    events = int(outcome["events"])
    rate = events / elapsed if elapsed > 0 else float("nan")
    notes = [f"{what}: {events:,} events in {elapsed:.1f} s"]
    cpu = outcome.get("api_cpu_s")
    if cpu is not None and events:
        # CPU per event is steadier than events/s on a shared machine: it does not count the
        # time the API waited for a core.
        notes.append(f"API process CPU {1e6 * cpu / events:,.0f} µs per event")
    failed = {k: v for k, v in outcome["statuses"].items() if k != "201"}
    if failed or outcome["errors"]:
        notes.append(f"non-201 answers {failed}, client errors {outcome['errors']}")
    log(f"{name}: {rate:,.0f} events/s; " + "; ".join(notes))
    return Result(name, rate, UNIT, target=target, notes=notes)


def _cpu_used(api: ServiceProcess, before: float | None) -> float | None:
    after = api.cpu_seconds()
    return None if before is None or after is None else after - before


async def _batch_endpoint_missing(base: str, account: str) -> bool:
    body = {"account": account, "events": [{"event": EVENT_TYPE, "data": PAYLOAD}]}
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
        session.post(f"{base}/v1/events/batch", json=body, headers=headers) as response,
    ):
        if response.status == 404:
            text = await response.text()
            # A 404 naming our account would be the service's answer, not a missing route.
            return account not in text
        return False
