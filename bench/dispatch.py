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

        async def baseline() -> tuple[float, list[str]]:
            log(f"dispatch: baseline sender, {count:,} POSTs, {MAX_IN_FLIGHT} in flight")
            rate, notes = await run_baseline(receiver, count, MAX_IN_FLIGHT, deadline)
            log(f"dispatch: baseline {rate:,.0f}/s")
            return rate, notes

        before, base_notes = await baseline()
        rates = [before]
        drains: list[tuple[str, float, list[str]]] = []
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
            after, _ = await baseline()
            rates.append(after)
            drains.append((backend, result.rate, result.notes()))
        mean = sum(rates) / len(rates)
        base_notes.append("baseline runs " + ", ".join(f"{rate:,.0f}/s" for rate in rates))
        results.append(Result("dispatch/baseline", mean, UNIT, notes=base_notes))
        for i, (backend, rate, notes) in enumerate(drains):
            around = (rates[i] + rates[i + 1]) / 2
            notes.append(f"baseline {rates[i]:,.0f}/s before, {rates[i + 1]:,.0f}/s after")
            results.append(
                Result(
                    f"dispatch/{backend}",
                    rate,
                    UNIT,
                    baseline=around,
                    baseline_label="the baselines just before and after it",
                    target=Target(">=", TARGETS[backend], of_baseline=True),
                    notes=notes,
                )
            )
    return results
