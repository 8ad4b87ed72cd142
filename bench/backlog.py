"""Benchmark 6, backlog: 1,000,000 pending deliveries (--quick: 100,000) on PostgreSQL, typical
1.3 KB events fanned out to 50 webhooks on 50 ports (seeded with SQL: publishing a million
events would take longer than the benchmark), drained by a worker at the default configuration
within a deadline of 4 minutes (the rate is over what arrived by then).
Figures: the drain rate compared with the dispatch figure on the same backend from this run
(target: within 20 %, ≥ 0.8×), and the worker's peak RSS, VmHWM of its process (< 300 MB).
"""

from __future__ import annotations

import time

from bench.common import Context, Result, Target, log
from bench.database import ScratchDatabase
from bench.drain import drain
from bench.receiver import OK, Receiver
from bench.seed import TYPICAL, seed_backlog

NAME = "backlog"
DELIVERIES = 1_000_000
# As many endpoints as dispatch/postgresql, whose rate this drain is compared with: at the
# default per-webhook cap (10 in flight), fewer endpoints would cap the drain below it.
WEBHOOKS = 50
DEADLINE_S = 240.0
RATIO_TARGET = 0.8
RSS_TARGET_MB = 300.0


async def run(ctx: Context) -> list[Result]:
    count = ctx.scale(DELIVERIES)
    deadline = DEADLINE_S if not ctx.options.quick else 90.0
    results: list[Result] = []
    for backend in ctx.backends(("postgresql",)):
        async with Receiver(WEBHOOKS) as receiver, ScratchDatabase(ctx, backend) as db:
            urls = [receiver.url(f"/{OK}/w{i}", i) for i in range(WEBHOOKS)]
            log(f"backlog/{backend}: seeding {count:,} deliveries")
            started = time.monotonic()
            await seed_backlog(db, urls, count, TYPICAL)
            seeded_s = time.monotonic() - started
            result = await drain(
                ctx, db, receiver, name=f"backlog-{backend}", expected=count, deadline_s=deadline
            )
        dispatch = ctx.find(f"dispatch/{backend}")
        baseline = dispatch.figure if dispatch is not None else None
        notes = [*result.notes(), f"seeded in {seeded_s:.0f} s"]
        if baseline is None:
            notes.append(f"no ratio: dispatch/{backend} did not run in this invocation")
        results.append(
            Result(
                f"backlog/{backend}/drain",
                result.rate,
                "deliveries/s",
                baseline=baseline,
                baseline_label=f"dispatch/{backend}",
                target=Target(">=", RATIO_TARGET, of_baseline=True),
                notes=notes,
            )
        )
        results.append(
            Result(
                f"backlog/{backend}/peak-rss",
                result.peak_rss_mb,
                "MB",
                target=Target("<", RSS_TARGET_MB, unit=" MB"),
                notes=["VmHWM of the worker process (MiB)"],
            )
        )
    return results
