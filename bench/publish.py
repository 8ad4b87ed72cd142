"""Benchmark 2, publish: events/s accepted by the API alone (`serve --no-dispatcher`, default
configuration), from a client process: POST /v1/events one small event per request with 64
concurrent clients; POST /v1/events/batch with 1,000 typical events per request (1.3 KB each,
1.3 MB per request: a batch the 256 KiB body limit used to refuse, bench/events.py); and, for
continuity with earlier runs, batches of 1,000 small events. The account has one webhook
subscribed, so each event also stores one delivery. Each row also reports the API's CPU per
event. Targets on PostgreSQL: 3,000/s single, 30,000/s batched (typical events).

Baseline, first and with the same 64 clients: a bare uvicorn app that parses the body and
answers 201 without a database (bench/publish_baseline.py), the HTTP ceiling of one API
process on this machine; the single-publish rows show their ratio to it. (Batches have no
baseline: without per-event work, a bare app's batch rate says nothing about the service's.)

The account and the webhook are made through the API of the process under test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench import events
from bench.api import Api
from bench.common import Context, Result, Target, log
from bench.database import ScratchDatabase
from bench.loadgen import run_loadgen
from bench.publish_baseline import baseline_server, cpu_seconds
from bench.seed import EVENT_TYPE as SMALL_EVENT_TYPE
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
BASELINE_ACCOUNT = "acct_baseline"  # the baseline app reads no account
BASELINE_LABEL = "a bare uvicorn app answering 201 without a database, same clients"


async def run(ctx: Context) -> list[Result]:
    duration = QUICK_DURATION_S if ctx.options.quick else DURATION_S
    results: list[Result] = []
    async with baseline_server() as (url, pid):
        log("publish: baseline (bare uvicorn app, no database), single")
        outcome = await _closed_loop(
            url, lambda: cpu_seconds(pid), BASELINE_ACCOUNT, CLIENTS, duration, batch=0
        )
        what = f"{CLIENTS} clients, one event per request, no database"
        results.append(_result("publish/baseline/single", outcome, None, what))
    baseline_single = results[-1].figure
    for backend in ctx.backends(("sqlite", "postgresql")):
        # The targets are for PostgreSQL; SQLite figures are shown without one.
        pg = backend == "postgresql"
        async with ScratchDatabase(ctx, backend) as db:
            api = ServiceProcess(ctx, f"publish-{backend}", db.url, "serve", "--no-dispatcher")
            await api.start()
            try:
                async with Api(api.url) as client:
                    created = await client.create_account()
                    # Never called: no dispatcher runs. Port 9 (discard) on loopback.
                    await client.create_webhook(
                        created,
                        "http://127.0.0.1:9/never-called",
                        event_types=(SMALL_EVENT_TYPE, events.EVENT_TYPE),
                    )
                account = created.id
                log(f"publish/{backend}: single, {CLIENTS} clients, {duration:g} s")
                single = await _closed_loop(
                    api.url, api.cpu_seconds, account, CLIENTS, duration, batch=0
                )
                results.append(
                    _result(
                        f"publish/{backend}/single",
                        single,
                        Target(">=", SINGLE_TARGET, unit="/s") if pg else None,
                        f"{CLIENTS} clients, one event per request",
                        baseline_single,
                    )
                )
                log(f"publish/{backend}: batch of {BATCH} typical events, {BATCH_CLIENTS} clients")
                batch = await _closed_loop(
                    api.url,
                    api.cpu_seconds,
                    account,
                    BATCH_CLIENTS,
                    duration,
                    batch=BATCH,
                    typical=True,
                )
                results.append(
                    _result(
                        f"publish/{backend}/batch",
                        batch,
                        Target(">=", BATCH_TARGET, unit="/s") if pg else None,
                        f"{BATCH_CLIENTS} clients, {BATCH} typical events (1.3 KB) per request",
                    )
                )
                log(f"publish/{backend}: batch of {BATCH} small events, {BATCH_CLIENTS} clients")
                small = await _closed_loop(
                    api.url, api.cpu_seconds, account, BATCH_CLIENTS, duration, batch=BATCH
                )
                results.append(
                    _result(
                        f"publish/{backend}/batch-small",
                        small,
                        None,
                        f"{BATCH_CLIENTS} clients, {BATCH} small credits.low events per "
                        "request (no target: continuity with earlier runs)",
                    )
                )
            finally:
                await api.stop()
    return results


def _result(
    name: str,
    outcome: dict[str, Any],
    target: Target | None,
    what: str,
    baseline: float | None = None,
) -> Result:
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
    return Result(
        name,
        rate,
        UNIT,
        baseline=baseline,
        baseline_label=BASELINE_LABEL if baseline else "",
        target=target,
        notes=notes,
    )


async def _closed_loop(
    url: str,
    cpu: Callable[[], float | None],
    account: str,
    clients: int,
    duration: float,
    *,
    batch: int,
    typical: bool = False,
) -> dict[str, Any]:
    """The load generator's closed loop against a server, with the server's CPU time used."""
    cpu_before = cpu()
    batch_args: tuple[str, ...] = ("--batch", str(batch)) if batch else ()
    batch_args += ("--typical",) if typical else ()
    outcome = await run_loadgen(
        "closed",
        "--base",
        url,
        "--account",
        account,
        "--clients",
        str(clients),
        *batch_args,
        "--duration",
        str(duration),
        timeout=duration + 300,
    )
    cpu_after = cpu()
    outcome["api_cpu_s"] = (
        None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    )
    return outcome
