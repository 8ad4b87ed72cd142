"""`python -m bench`: run the benchmarks of Promptha Webhooks and print one table.

    .venv/bin/python -m bench                       # everything (what `make bench` runs)
    .venv/bin/python -m bench --only dispatch       # one benchmark (or several: a,b)
    .venv/bin/python -m bench --quick               # smaller sizes: a smoke run
    .venv/bin/python -m bench --backend postgresql  # every benchmark on one backend

With `--backend both` (the default) each benchmark runs on the backends the issue names for it:
dispatch, publish and routing on SQLite and PostgreSQL, the others on PostgreSQL. Exit status: 0
when every benchmark ran (whether or not it met its target), 1 when one of them crashed or the
run was interrupted (SIGINT/SIGTERM: the benchmarks that finished are printed).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import backlog, dispatch, fanout, isolation, latency, publish, routing
from bench.common import Context, Options, Result, log
from bench.machine import LoadMonitor, wait_quiet
from bench.report import table, write_json

Benchmark = Callable[[Context], Awaitable[list[Result]]]
BENCHMARKS: dict[str, Benchmark] = {
    dispatch.NAME: dispatch.run,
    publish.NAME: publish.run,
    latency.NAME: latency.run,
    fanout.NAME: fanout.run,
    isolation.NAME: isolation.run,
    backlog.NAME: backlog.run,
    routing.NAME: routing.run,
}


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of Promptha Webhooks (one table on stdout, progress on stderr).",
    )
    parser.add_argument(
        "--only", help=f"comma-separated benchmarks to run, of: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql", "both"],
        default="both",
        help="both (default): the issue's backends per benchmark; else all on one backend",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="attach py-spy to every service process; collapsed stacks go to DIR",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the run folder (service logs)"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120,
        metavar="SECONDS",
        help="before each benchmark, wait up to this long for other processes to go quiet "
        "(default 120; 0: do not wait)",
    )
    args = parser.parse_args(argv)
    only: tuple[str, ...] | None = None
    if args.only:
        only = tuple(name.strip() for name in args.only.split(",") if name.strip())
        unknown = [name for name in only if name not in BENCHMARKS]
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; of {', '.join(BENCHMARKS)}")
    return Options(
        only=only,
        quick=args.quick,
        backend=args.backend,
        json_path=args.json,
        profile_dir=args.profile,
        keep_logs=args.keep_logs,
        wait_quiet_s=args.wait_quiet,
    )


async def run_all(ctx: Context) -> bool:
    """Run the selected benchmarks in order; returns whether every one of them ran.

    SIGINT and SIGTERM cancel the run, so services stop and scratch databases are dropped."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    ok = True
    for name, benchmark in BENCHMARKS.items():
        if ctx.options.only is not None and name not in ctx.options.only:
            continue
        log(f"== {name} ==")
        if ctx.options.wait_quiet_s > 0:
            await wait_quiet(ctx.options.wait_quiet_s)
        started = time.monotonic()
        async with LoadMonitor() as load:
            try:
                results = await benchmark(ctx)
            except Exception as exc:
                ok = False
                traceback.print_exc(file=sys.stderr)
                results = [Result(name, None, "", text=f"error: {type(exc).__name__}")]
                results[0].notes.append(str(exc).splitlines()[0] if str(exc) else repr(exc))
        if results:
            results[0].notes.append(load.note())
        ctx.results += results
        log(f"== {name} done in {time.monotonic() - started:.0f} s; {load.note()} ==")
    return ok


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="promptha-bench-"))
    ctx = Context(options, work_dir)
    started = time.monotonic()
    log(f"run folder {work_dir}{' (quick)' if options.quick else ''}")
    try:
        ok = asyncio.run(run_all(ctx))
    except asyncio.CancelledError:
        log("interrupted: services stopped, scratch databases dropped")
        ok = False
    finally:
        if options.keep_logs or not ctx.results:
            log(f"logs kept in {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    elapsed = time.monotonic() - started
    print(table(ctx.results))
    print(f"\ntotal {elapsed:.0f} s{' (--quick)' if options.quick else ''}")
    if options.json_path is not None:
        meta = {
            "quick": options.quick,
            "backend": options.backend,
            "python": platform.python_version(),
            "seconds": round(elapsed),
        }
        write_json(options.json_path, ctx.results, meta)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
