"""Benchmark 3, latency: publish → arrival at the receiver at a steady 1,000 events/s for 30 s
(--quick: 5 s), API and dispatcher in one `serve` process on PostgreSQL, one webhook.

Latency = the receiver's arrival time − the time taken just before the publish request was
handed to the client library (both CLOCK_MONOTONIC, one machine). The load is an open loop, so
a slow service makes requests wait in the client, and that wait counts. A warm-up (2 s; --quick:
1 s) before the measured window is not counted. Events that never arrive count as infinitely
late. Targets: p50 ≤ 5 ms, p99 ≤ 25 ms.
"""

from __future__ import annotations

import json

from bench.common import Context, Result, Target, log
from bench.database import ScratchDatabase
from bench.loadgen import run_loadgen
from bench.receiver import OK, Receiver
from bench.seed import seed_account, seed_webhooks
from bench.service import ServiceProcess
from bench.timing import percentile

NAME = "latency"
RATE = 1000.0
DURATION_S = 30.0
QUICK_DURATION_S = 5.0
WARMUP_S = 2.0
QUICK_WARMUP_S = 1.0
GRACE_S = 10.0  # after the last publish, how long late deliveries may still arrive


async def run(ctx: Context) -> list[Result]:
    quick = ctx.options.quick
    duration = QUICK_DURATION_S if quick else DURATION_S
    warmup = QUICK_WARMUP_S if quick else WARMUP_S
    results: list[Result] = []
    for backend in ctx.backends(("postgresql",)):
        async with Receiver(record=True) as receiver, ScratchDatabase(ctx, backend) as db:
            account = await seed_account(db)
            await seed_webhooks(db, [receiver.url(f"/{OK}/latency")])
            service = ServiceProcess(ctx, f"latency-{backend}", db.url, "serve")
            await service.start()
            try:
                records_path = ctx.work_dir / f"latency-{backend}-records.json"
                log(f"latency/{backend}: {RATE:g} events/s for {warmup:g} + {duration:g} s")
                outcome = await run_loadgen(
                    "rate",
                    "--base",
                    service.url,
                    "--account",
                    account,
                    "--rate",
                    str(RATE),
                    "--duration",
                    str(duration),
                    "--warmup",
                    str(warmup),
                    "--out",
                    str(records_path),
                    timeout=warmup + duration + 120,
                )
                await receiver.wait(int(outcome["ok"]), group=OK, timeout=GRACE_S)
                arrivals = dict(await receiver.arrivals())
            finally:
                await service.stop()
        records = json.loads(records_path.read_text())
        latencies: list[float] = []
        answers: list[float] = []
        for event_id, sent, answered, is_warmup in records:
            if is_warmup:
                continue
            arrived = arrivals.get(event_id)
            latencies.append((arrived - sent) * 1000 if arrived is not None else float("inf"))
            answers.append((answered - sent) * 1000)
        missing = sum(1 for x in latencies if x == float("inf"))
        notes = [
            f"{len(latencies):,} events measured at {outcome['send_rate']:,.0f}/s sent "
            f"(max schedule lag {outcome['max_schedule_lag_ms']:.1f} ms)",
            f"publish answer p50 {percentile(answers, 50):.1f} ms, "
            f"p99 {percentile(answers, 99):.1f} ms",
        ]
        failed = {k: v for k, v in outcome["statuses"].items() if k != "201"}
        if failed or outcome["errors"] or missing:
            notes.append(
                f"non-201 {failed}, client errors {outcome['errors']}, "
                f"{missing} never arrived within {GRACE_S:g} s"
            )
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        log(f"latency/{backend}: p50 {p50:.1f} ms, p99 {p99:.1f} ms; " + "; ".join(notes))
        results.append(
            Result(
                f"latency/{backend}/p50", p50, "ms", target=Target("<=", 5, unit="ms"), notes=notes
            )
        )
        results.append(
            Result(f"latency/{backend}/p99", p99, "ms", target=Target("<=", 25, unit="ms"))
        )
    return results
