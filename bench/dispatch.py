"""Benchmark 1, dispatch: 100,000 due deliveries seeded in the database (1 account, 10 webhooks
on one receiver), drained by a worker with full signing and attempt logging; deliveries/s from
first to last arrival, on SQLite and PostgreSQL. Baseline, in the same run: the bare aiohttp
sender (bench/baseline.py) to the same receiver at the same concurrency. Targets: ≥ 0.75× the
baseline on PostgreSQL, ≥ 0.6× on SQLite.
"""

from __future__ import annotations

from bench.baseline import run_baseline
from bench.common import Context, Result, Target, log
from bench.database import ScratchDatabase
from bench.drain import drain
from bench.receiver import OK, Receiver
from bench.seed import seed_account, seed_deliveries, seed_webhooks
from bench.service import MAX_IN_FLIGHT

NAME = "dispatch"
DELIVERIES = 100_000
WEBHOOKS = 10
DEADLINE_S = 240.0
TARGETS = {"postgresql": 0.75, "sqlite": 0.6}
UNIT = "deliveries/s"


async def run(ctx: Context) -> list[Result]:
    count = ctx.scale(DELIVERIES)
    deadline = DEADLINE_S if not ctx.options.quick else 60.0
    results: list[Result] = []
    async with Receiver() as receiver:
        log(f"dispatch: baseline sender, {count:,} POSTs, {MAX_IN_FLIGHT} in flight")
        base_rate, base_notes = await run_baseline(receiver, count, MAX_IN_FLIGHT, deadline)
        log(f"dispatch: baseline {base_rate:,.0f}/s")
        results.append(Result("dispatch/baseline", base_rate, UNIT, notes=base_notes))
        for backend in ctx.backends(("sqlite", "postgresql")):
            async with ScratchDatabase(ctx, backend) as db:
                await seed_account(db)
                urls = [receiver.url(f"/{OK}/w{i}") for i in range(WEBHOOKS)]
                webhook_ids = await seed_webhooks(db, urls)
                log(f"dispatch/{backend}: seeding {count:,} deliveries")
                await seed_deliveries(db, webhook_ids, count)
                result = await drain(
                    ctx,
                    db,
                    receiver,
                    name=f"dispatch-{backend}",
                    expected=count,
                    deadline_s=deadline,
                )
            results.append(
                Result(
                    f"dispatch/{backend}",
                    result.rate,
                    UNIT,
                    baseline=base_rate,
                    baseline_label="dispatch/baseline",
                    target=Target(">=", TARGETS[backend], of_baseline=True),
                    notes=result.notes(),
                )
            )
    return results
