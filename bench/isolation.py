"""Benchmark 5, isolation: 20 webhooks, 10 % of them (2) pointing at a receiver path that never
answers (the service's 30 s delivery timeout is kept), 90 % healthy. The figure is the
throughput to the healthy webhooks (first to last healthy arrival), compared with the same run
with every webhook healthy. Target: within 10 % (≥ 0.9× the all-healthy run).

`isolation-fifo`: the same, with the two hanging webhooks on `ordering: "fifo"` (issue 21):
each holds one delivery in flight until the timeout and every later one of it waits in the
database, claimed by the paced claim (store/queries.py: claim_paced), never by the ordinary
one; the healthy webhooks must not notice. Same target.

An all-healthy run goes before and after each hanging one, and each hanging run is compared with
the mean of the two: the host's speed moves by more than 10 % within a minute
(docs/performance.md). There are ROUNDS hanging runs (one with --quick); the figure is the one
whose ratio is the median.
"""

from __future__ import annotations

from bench.common import Backend, Context, Result, Target, log
from bench.database import ScratchDatabase
from bench.drain import drain
from bench.receiver import HANG, OK, Receiver
from bench.seed import seed_backlog
from promptha_webhooks.pacing import PACE_ORDER_PER_MS

NAME = "isolation"
WEBHOOKS = 20
HANGING = 2
DELIVERIES = 60_000
DEADLINE_S = 180.0
TARGET = 0.9
# Hanging runs, each between two all-healthy runs; the figure is the median round (as in
# bench/dispatch.py: one drain's ratio is a sample of this host's spread).
ROUNDS = 3


async def run(ctx: Context) -> list[Result]:
    results: list[Result] = []
    for backend in ctx.backends(("postgresql",)):
        async with Receiver() as receiver:
            results.append(await _measure(ctx, backend, receiver))
            results.append(await _measure(ctx, backend, receiver, fifo=True))
    return results


async def _make_fifo(db: ScratchDatabase, webhook_ids: list[str]) -> None:
    """The hanging webhooks on ordering "fifo", their seeded deliveries in creation order (as
    PATCH /v1/webhooks/{id} {"ordering": "fifo"} leaves them: services/webhooks.py)."""
    if db.backend == "postgresql":
        await db.pg.execute(
            "UPDATE webhooks SET ordering = 'fifo' WHERE id = ANY($1::varchar[])", webhook_ids
        )
        await db.pg.execute(
            f"UPDATE deliveries SET pace_order = created_at * {PACE_ORDER_PER_MS} "
            "WHERE webhook_id = ANY($1::varchar[])",
            webhook_ids,
        )
    else:
        marks = ", ".join("?" for _ in webhook_ids)
        await db.sqlite_script(
            [
                (
                    f"UPDATE webhooks SET ordering = 'fifo' WHERE id IN ({marks})",
                    tuple(webhook_ids),
                ),
                (
                    f"UPDATE deliveries SET pace_order = created_at * {PACE_ORDER_PER_MS} "
                    f"WHERE webhook_id IN ({marks})",
                    tuple(webhook_ids),
                ),
            ]
        )


async def _measure(
    ctx: Context, backend: Backend, receiver: Receiver, *, fifo: bool = False
) -> Result:
    count = ctx.scale(DELIVERIES)
    deadline = DEADLINE_S if not ctx.options.quick else 60.0
    rounds = ROUNDS if not ctx.options.quick else 1
    per_webhook = count // WEBHOOKS
    count = per_webhook * WEBHOOKS
    healthy = per_webhook * (WEBHOOKS - HANGING)
    notes: list[str] = []
    name = "isolation-fifo" if fifo else NAME
    hanging_phase = "10%-fifo-hanging" if fifo else "10%-hanging"

    async def run_phase(number: int, phase: str, hanging: int) -> float:
        async with ScratchDatabase(ctx, backend) as db:
            urls = [receiver.url(f"/{HANG if i < hanging else OK}/w{i}") for i in range(WEBHOOKS)]
            log(f"isolation/{backend} {phase}: seeding {count:,} deliveries")
            webhook_ids = await seed_backlog(db, urls, count)
            if fifo and hanging:
                await _make_fifo(db, webhook_ids[:hanging])
            expected = count if hanging == 0 else healthy
            result = await drain(
                ctx,
                db,
                receiver,
                name=f"{name}-{backend}-{number}-{phase}",  # one log per run
                expected=expected,
                deadline_s=deadline,
            )
        hang_note = ""
        if hanging:
            hung = result.stats.group(HANG).count
            hang_note = f", {hung} requests to the hanging webhooks"
        notes.append(f"{phase}: {result.rate:,.0f}/s, " + result.notes()[0] + hang_note)
        notes.extend(f"{phase}: {n}" for n in result.notes()[1:2] if "deadline" in n)
        return result.rate

    # all-healthy, then (10 %-hanging, all-healthy) for each round
    healthy_rates = [await run_phase(1, "all-healthy", 0)]
    measured: list[tuple[float, float]] = []  # (hanging rate, healthy mean around it)
    for number in range(rounds):
        rate = await run_phase(2 + 2 * number, hanging_phase, HANGING)
        healthy_rates.append(await run_phase(3 + 2 * number, "all-healthy", 0))
        measured.append((rate, (healthy_rates[-2] + healthy_rates[-1]) / 2))
    # The figure is the round whose ratio is the median, against its own healthy runs.
    ranked = sorted(measured, key=lambda pair: pair[0] / pair[1])
    rate, around = ranked[(len(ranked) - 1) // 2]
    if rounds > 1:
        notes.append(
            f"median of {rounds} rounds; ratios by round "
            + ", ".join(f"{r / a:.2f}× ({r:,.0f}/s)" for r, a in measured)
        )
    return Result(
        f"{name}/{backend}",
        rate,
        "deliveries/s",
        baseline=around,
        baseline_label="all webhooks healthy (mean of the runs before and after)",
        target=Target(">=", TARGET, of_baseline=True),
        notes=notes,
    )
