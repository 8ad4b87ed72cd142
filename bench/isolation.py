"""Benchmark 5, isolation: 20 webhooks, 10 % of them (2) pointing at a receiver path that never
answers (the service's 30 s delivery timeout is kept), 90 % healthy. The figure is the
throughput to the healthy webhooks (first to last healthy arrival), compared with the same run
with every webhook healthy. Target: within 10 % (≥ 0.9× the all-healthy run).

The all-healthy run goes before and after the hanging one, and the figure is compared with the
mean of the two: the host's speed moves by more than 10 % within a minute (docs/performance.md).
"""

from __future__ import annotations

from bench.common import Context, Result, Target, log
from bench.database import ScratchDatabase
from bench.drain import drain
from bench.receiver import HANG, OK, Receiver
from bench.seed import seed_account, seed_deliveries, seed_webhooks

NAME = "isolation"
WEBHOOKS = 20
HANGING = 2
DELIVERIES = 60_000
DEADLINE_S = 180.0
TARGET = 0.9


async def run(ctx: Context) -> list[Result]:
    count = ctx.scale(DELIVERIES)
    deadline = DEADLINE_S if not ctx.options.quick else 60.0
    per_webhook = count // WEBHOOKS
    count = per_webhook * WEBHOOKS
    healthy = per_webhook * (WEBHOOKS - HANGING)
    results: list[Result] = []
    for backend in ctx.backends(("postgresql",)):
        async with Receiver() as receiver:
            rates: dict[str, list[float]] = {}
            notes: list[str] = []
            phases = (("all-healthy", 0), ("10%-hanging", HANGING), ("all-healthy", 0))
            for number, (phase, hanging) in enumerate(phases, start=1):
                async with ScratchDatabase(ctx, backend) as db:
                    await seed_account(db)
                    urls = [
                        receiver.url(f"/{HANG if i < hanging else OK}/w{i}")
                        for i in range(WEBHOOKS)
                    ]
                    webhook_ids = await seed_webhooks(db, urls)
                    log(f"isolation/{backend} {phase}: seeding {count:,} deliveries")
                    await seed_deliveries(db, webhook_ids, count)
                    expected = count if hanging == 0 else healthy
                    result = await drain(
                        ctx,
                        db,
                        receiver,
                        name=f"isolation-{backend}-{number}-{phase}",  # one log per run
                        expected=expected,
                        deadline_s=deadline,
                    )
                rates.setdefault(phase, []).append(result.rate)
                hang_note = ""
                if hanging:
                    hung = result.stats.group(HANG).count
                    hang_note = f", {hung} requests to the hanging webhooks"
                notes.append(f"{phase}: {result.rate:,.0f}/s, " + result.notes()[0] + hang_note)
                notes += [f"{phase}: {n}" for n in result.notes()[1:2] if "deadline" in n]
            healthy_rates = rates["all-healthy"]
            results.append(
                Result(
                    f"isolation/{backend}",
                    rates["10%-hanging"][0],
                    "deliveries/s",
                    baseline=sum(healthy_rates) / len(healthy_rates),
                    baseline_label="all webhooks healthy (mean of the runs before and after)",
                    target=Target(">=", TARGET, of_baseline=True),
                    notes=notes,
                )
            )
    return results
