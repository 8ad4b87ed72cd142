"""Benchmark 3, latency: publish → arrival at the receiver at a steady 500 single publishes/s
for 30 s (--quick: 5 s), API and dispatcher in one `serve` process at the default
configuration, one webhook, typical 1.3 KB events (bench/events.py), on PostgreSQL and on
SQLite (the embedded default). On this 2-core machine one process measured lower than an API
process plus a worker process, which add a NOTIFY hop and compete with the load generator,
receiver and PostgreSQL for the two cores.

Latency = the receiver's arrival time − the time taken just before the publish request was
handed to the client library (both CLOCK_MONOTONIC, one machine). The load is an open loop, so
a slow service makes requests wait in the client, and that wait counts. A warm-up (2 s; --quick:
1 s) before the measured window is not counted. Events that never arrive count as infinitely
late, and so do events the client could not send because 2,000 requests were already waiting
(so an overloaded service ends the run in bounded time). Target: p99 ≤ 5 ms on both backends
(p50 is shown beside it). Before it, the same at 50 events/s for 10 s (rows `@50/s`, no
target), which shows the pipeline's own latency when the API is far from busy.

The account and the webhook are made through the API of the `serve` process under test.
"""

from __future__ import annotations

import json
from typing import Any

from bench.api import Api
from bench.common import Context, Result, Target, log
from bench.database import ScratchDatabase
from bench.loadgen import run_loadgen
from bench.receiver import OK, Receiver
from bench.service import ServiceProcess
from bench.timing import percentile

NAME = "latency"
RATE = 500.0
DURATION_S = 30.0
QUICK_DURATION_S = 5.0
WARMUP_S = 2.0
QUICK_WARMUP_S = 1.0
GRACE_S = 10.0  # after the last send, how long late answers and deliveries may still come
MAX_OUTSTANDING = 2000  # publish requests waiting at once in the client (4 s at the rate)
INF = float("inf")
P99_TARGET_MS = 5.0
# A second, lighter phase run first (no target): the latency of the pipeline itself when the
# API is not saturated, to tell queueing from the publish → dispatch path.
LOW_RATE = 50.0
LOW_DURATION_S = 10.0
QUICK_LOW_DURATION_S = 3.0


async def run(ctx: Context) -> list[Result]:
    quick = ctx.options.quick
    # (rate, measured seconds, warm-up seconds, whether the targets apply)
    phases = [
        (LOW_RATE, QUICK_LOW_DURATION_S if quick else LOW_DURATION_S, QUICK_WARMUP_S, False),
        (
            RATE,
            QUICK_DURATION_S if quick else DURATION_S,
            QUICK_WARMUP_S if quick else WARMUP_S,
            True,
        ),
    ]
    results: list[Result] = []
    for backend in ctx.backends(("postgresql", "sqlite")):
        async with Receiver(record=True) as receiver, ScratchDatabase(ctx, backend) as db:
            service = ServiceProcess(ctx, f"latency-{backend}", db.url, "serve")
            await service.start()
            try:
                async with Api(service.url) as api:
                    account = await api.create_account()
                    await api.create_webhook(account, receiver.url(f"/{OK}/latency"))
                for rate, duration, warmup, targeted in phases:
                    await receiver.reset()
                    records_path = ctx.work_dir / f"latency-{backend}-{rate:g}.json"
                    log(f"latency/{backend}: {rate:g} events/s for {warmup:g} + {duration:g} s")
                    cpu_before = service.cpu_seconds()
                    outcome = await run_loadgen(
                        "rate", "--base", service.url, "--account", account.id,
                        "--rate", str(rate), "--duration", str(duration),
                        "--warmup", str(warmup), "--out", str(records_path),
                        "--drain", str(GRACE_S), "--max-outstanding", str(MAX_OUTSTANDING),
                        "--typical",
                        timeout=warmup + duration + GRACE_S + 120,
                    )  # fmt: skip
                    await receiver.wait(int(outcome["ok"]), group=OK, timeout=GRACE_S)
                    arrivals = dict(await receiver.arrivals())
                    records = json.loads(records_path.read_text())
                    name = f"latency/{backend}" if targeted else f"latency/{backend}@{rate:g}/s"
                    cpu = _cpu_note(service, cpu_before, int(outcome["ok"]))
                    results += _results(
                        name, records, arrivals, outcome, round(duration * rate), targeted, cpu
                    )
            finally:
                await service.stop()
    return results


def _cpu_note(service: ServiceProcess, before: float | None, events: int) -> str | None:
    now = service.cpu_seconds()
    if now is None or before is None or not events:
        return None
    return f"service CPU {1e6 * (now - before) / events:,.0f} µs per event (warm-up included)"


def _results(
    name: str,
    records: list[tuple[str, float, float, bool]],
    arrivals: dict[str, float],
    outcome: dict[str, Any],
    measured_due: int,
    targeted: bool,
    cpu_note: str | None = None,
) -> list[Result]:
    latencies: list[float] = []  # every measured event; INF when it never arrived
    delivered: list[float] = []
    answers: list[float] = []
    for event_id, sent, answered, is_warmup in records:
        if is_warmup:
            continue
        arrived = arrivals.get(event_id)
        if arrived is None:
            latencies.append(INF)
        else:
            delivered.append((arrived - sent) * 1000)
            latencies.append(delivered[-1])
        answers.append((answered - sent) * 1000)
    unpublished = max(0, measured_due - len(latencies))
    latencies += [INF] * unpublished
    notes = [
        f"{len(delivered):,} of {measured_due:,} measured events delivered "
        f"(sends scheduled at {outcome['send_rate']:,.0f}/s, max schedule lag "
        f"{outcome['max_schedule_lag_ms']:.1f} ms)",
        f"publish answered p50 {percentile(answers, 50):.1f} ms, "
        f"p99 {percentile(answers, 99):.1f} ms",
    ]
    if cpu_note:
        notes.append(cpu_note)
    if len(delivered) < measured_due:
        failed = {k: v for k, v in outcome["statuses"].items() if k != "201"}
        notes.append(
            f"missing events count as ∞: {outcome['dropped']:,} not sent (client queue at "
            f"{MAX_OUTSTANDING:,}), {outcome['abandoned']:,} unanswered {GRACE_S:g} s after "
            f"the last send, non-201 {failed}, client errors {outcome['errors']}, "
            f"{_lost(records, arrivals):,} published but not delivered within {GRACE_S:g} s"
        )
        notes.append(
            f"over delivered events only: p50 {percentile(delivered, 50):.1f} ms, "
            f"p99 {percentile(delivered, 99):.1f} ms"
        )
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    log(f"{name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms; " + "; ".join(notes))
    if not targeted:
        notes.append("no target: a lighter load, to show the latency without API overload")
    return [
        Result(f"{name}/p50", p50, "ms", notes=notes),
        Result(
            f"{name}/p99",
            p99,
            "ms",
            target=Target("<=", P99_TARGET_MS, unit=" ms") if targeted else None,
        ),
    ]


def _lost(records: list[tuple[str, float, float, bool]], arrivals: dict[str, float]) -> int:
    return sum(1 for event_id, _s, _a, warm in records if not warm and event_id not in arrivals)
