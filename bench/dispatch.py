"""Benchmark 1, dispatch: 20,000 due deliveries, drained by the service at its DEFAULT
configuration (no setting changed but development mode, see bench/service.py), with full
signing and attempt logging; deliveries/s at the receiver from first to last arrival, compared
with the best bare sender of the same run.

The backlog is set up through the service's API (bench/api.py): an account, one webhook per
endpoint, each filtered on its own `fabricId`, and 20,000 typical `fabric.completed` events
(1.3 KB) published in batches across the fabrics, so the filters, not a fan-out, spread them:
one delivery per event. Each endpoint listens on a port of its own (one receiver process).

Configurations (each drained ROUNDS times, the configurations taking turns; its figure is
the round whose ratio is the median):
- 50 endpoints: SQLite, one `worker` (target ≥ 0.7× the one-process bare sender); PostgreSQL,
  one worker (≥ 0.8× the one-process bare sender) and two workers (≥ 0.8× the two-process
  bare sender);
- 1 endpoint, one worker, on each backend: bound by the per-webhook concurrency (10 in flight
  by default), so compared with a bare sender held to the same 10 in flight (no target).

Bare senders (bench/baseline.py), measured before the first round and after each round, so
every drain sits between two measurements and is compared with their mean:
- aiohttp on uvloop with the service's garbage-collector settings, one process, at each of
  IN_FLIGHT_SWEEP: the best is the one-process baseline;
- two such processes sharing the load, at each of TWO_PROCESS_SWEEP (total): the best is the
  ceiling for two workers;
- pyreqwest, a faster client (docs/performance.md), at each of FAST_SWEEP: no target, it
  shows what another transport could give (the issue's moonshot: the service ≥ 1.0× the aiohttp
  baseline);
- aiohttp at 10 in flight to one endpoint: what the per-webhook cap allows a bare sender.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from bench.api import seed_through_api
from bench.baseline import Bare, run_bare
from bench.common import Backend, Context, Result, Target, log
from bench.database import ScratchDatabase
from bench.drain import Drain, drain
from bench.receiver import OK, Receiver
from bench.timing import median
from promptha_webhooks.config import PER_WEBHOOK_CONCURRENCY

NAME = "dispatch"
DELIVERIES = 20_000
ENDPOINTS = 50
DEADLINE_S = 180.0
QUICK_DEADLINE_S = 60.0
ROUNDS = 3
UNIT = "deliveries/s"
IN_FLIGHT_SWEEP = (32, 64, 128, 256)
TWO_PROCESS_SWEEP = (64, 128, 256)  # in flight, both processes together
FAST_SWEEP = (64, 256)
MOONSHOT = 1.0  # the moonshot: ≥ 1.0× the aiohttp baseline, by a faster transport


@dataclass(frozen=True)
class Config:
    """One drained configuration: backend, worker processes, endpoints, what it is compared
    with ("one": the one-process bare sender, "two": the two-process one, "capped": aiohttp
    held to the per-webhook cap) and its target ratio."""

    backend: Backend
    workers: int
    endpoints: int
    reference: str
    target: float | None

    @property
    def label(self) -> str:
        label = str(self.backend)
        if self.workers > 1:
            label += f"/{self.workers}-workers"
        if self.endpoints == 1:
            label += "/1-endpoint"
        return label


CONFIGS = (
    Config("sqlite", 1, ENDPOINTS, "one", 0.7),
    Config("postgresql", 1, ENDPOINTS, "one", 0.8),
    Config("postgresql", 2, ENDPOINTS, "two", 0.8),
    Config("postgresql", 1, 1, "capped", None),
    Config("sqlite", 1, 1, "capped", None),
)


@dataclass(frozen=True)
class Block:
    """The bare senders measured at one moment of the run."""

    one: tuple[Bare, ...]
    two: tuple[Bare, ...]
    fast: tuple[Bare, ...]
    capped: Bare

    def best(self, kind: str) -> Bare | None:
        runs = {"one": self.one, "two": self.two, "fast": self.fast, "capped": (self.capped,)}
        return max(runs[kind], key=lambda bare: bare.rate, default=None)


@dataclass(frozen=True)
class Round:
    """One drain with the bare sender it is compared with (mean of the blocks around it)."""

    drain: Drain
    reference: float
    before: float
    after: float

    @property
    def ratio(self) -> float:
        return self.drain.rate / self.reference


async def run(ctx: Context) -> list[Result]:
    count = ctx.scale(DELIVERIES)
    deadline = QUICK_DEADLINE_S if ctx.options.quick else DEADLINE_S
    rounds = 1 if ctx.options.quick else ROUNDS
    backends = ctx.backends(("sqlite", "postgresql"))
    configs = [config for config in CONFIGS if config.backend in backends]
    fast_client = importlib.util.find_spec("pyreqwest") is not None
    async with Receiver(ENDPOINTS) as receiver:
        urls = [receiver.url(f"/{OK}/e{k}", k) for k in range(ENDPOINTS)]

        async def block() -> Block:
            return await _block(receiver, urls, count, deadline, fast_client=fast_client)

        blocks = [await block()]
        drained: dict[Config, list[Drain]] = {config: [] for config in configs}
        for number in range(1, rounds + 1):
            for config in configs:
                name = f"dispatch-{config.label.replace('/', '-')}-{number}"
                async with ScratchDatabase(ctx, config.backend) as db:
                    log(f"{name}: round {number} of {rounds}, {count:,} events through the API")
                    await seed_through_api(ctx, db, urls[: config.endpoints], count, name=name)
                    drained[config].append(
                        await drain(
                            ctx,
                            db,
                            receiver,
                            name=name,
                            expected=count,
                            deadline_s=deadline,
                            workers=config.workers,
                        )
                    )
            blocks.append(await block())
    results = _bare_results(blocks)
    for config, drains in drained.items():
        results.append(_drain_result(config, drains, blocks))
    return results


async def _block(
    receiver: Receiver, urls: list[str], count: int, deadline: float, *, fast_client: bool
) -> Block:
    async def sweep(values: tuple[int, ...], client: str, processes: int) -> tuple[Bare, ...]:
        runs = []
        for in_flight in values:
            bare = await run_bare(
                receiver, urls, count, in_flight, deadline, client=client, processes=processes
            )
            log(f"dispatch: bare {bare.describe()}: {bare.rate:,.0f}/s, {bare.cpu_us:.0f} µs/POST")
            runs.append(bare)
        return tuple(runs)

    one = await sweep(IN_FLIGHT_SWEEP, "aiohttp", 1)
    two = await sweep(TWO_PROCESS_SWEEP, "aiohttp", 2)
    fast = await sweep(FAST_SWEEP, "pyreqwest", 1) if fast_client else ()
    capped = await run_bare(receiver, urls[:1], count, PER_WEBHOOK_CONCURRENCY, deadline)
    log(f"dispatch: bare {capped.describe()}: {capped.rate:,.0f}/s")
    return Block(one, two, fast, capped)


def _bare_results(blocks: list[Block]) -> list[Result]:
    """One row per bare sender: the median over the blocks of its best in-flight setting."""
    rows = [
        ("dispatch/bare/aiohttp", "one", "one aiohttp+uvloop process, the service's GC settings"),
        ("dispatch/bare/aiohttp-2-processes", "two", "two such processes sharing the load"),
        ("dispatch/bare/pyreqwest", "fast", "one pyreqwest process (Rust reqwest), same settings"),
        (
            f"dispatch/bare/aiohttp-{PER_WEBHOOK_CONCURRENCY}-in-flight-1-endpoint",
            "capped",
            f"aiohttp held to {PER_WEBHOOK_CONCURRENCY} in flight (the per-webhook default) to "
            "one endpoint",
        ),
    ]
    one = median([b.rate for block in blocks if (b := block.best("one")) is not None])
    results = []
    for name, kind, what in rows:
        bests = [b for block in blocks if (b := block.best(kind)) is not None]
        if not bests:
            results.append(Result(name, None, UNIT, text="n/a", notes=["pyreqwest not installed"]))
            continue
        notes = [
            what,
            "best per measurement: "
            + ", ".join(f"{b.rate:,.0f}/s at {b.in_flight} in flight" for b in bests),
            f"CPU {median([b.cpu_us for b in bests]):.0f} µs per request (median of the bests)",
        ]
        if kind != "capped":
            runs = [bare for block in blocks for bare in getattr(block, kind)]
            by_setting = {
                n: median([b.rate for b in runs if b.in_flight == n])
                for n in sorted({b.in_flight for b in runs})
            }
            notes.append(
                "median rate by in-flight setting: "
                + ", ".join(f"{n}: {rate:,.0f}/s" for n, rate in by_setting.items())
            )
        failures = sum(b.failures for b in bests)
        if failures:
            notes.append(f"{failures} bare requests failed")
        fast = kind == "fast"
        results.append(
            Result(
                name,
                median([b.rate for b in bests]),
                UNIT,
                baseline=one if fast else None,
                baseline_label="dispatch/bare/aiohttp" if fast else "",
                notes=notes,
            )
        )
    return results


def _drain_result(config: Config, drains: list[Drain], blocks: list[Block]) -> Result:
    rounds: list[Round] = []
    for index, result in enumerate(drains):
        before = blocks[index].best(config.reference)
        after = blocks[index + 1].best(config.reference)
        assert before is not None and after is not None
        rounds.append(Round(result, (before.rate + after.rate) / 2, before.rate, after.rate))
    chosen = sorted(rounds, key=lambda r: r.ratio)[(len(rounds) - 1) // 2]
    index = rounds.index(chosen)
    notes = list(chosen.drain.notes())
    notes.append(
        f"{config.endpoints} endpoint(s), {config.workers} worker(s), default configuration"
    )
    reference = {
        "one": "the best one-process bare aiohttp sender",
        "two": "the best two-process bare aiohttp sender",
        "capped": f"bare aiohttp held to {PER_WEBHOOK_CONCURRENCY} in flight, one endpoint",
    }[config.reference]
    notes.append(
        f"{reference}: {chosen.before:,.0f}/s before, {chosen.after:,.0f}/s after this round"
    )
    if len(rounds) > 1:
        notes.append(
            f"median of {len(rounds)} rounds; ratios by round "
            + ", ".join(f"{r.ratio:.2f}× ({r.drain.rate:,.0f}/s)" for r in rounds)
        )
    around = (blocks[index], blocks[index + 1])
    best_one = [b for block in around if (b := block.best("one")) is not None]
    one_rate = sum(b.rate for b in best_one) / len(best_one)
    cpu = chosen.drain.cpu_per_delivery_us
    if cpu is not None:
        bare_cpu = sum(b.cpu_us for b in best_one) / len(best_one)
        notes.append(
            f"CPU per delivery {cpu / bare_cpu:.2f}× the bare aiohttp sender's per request "
            f"({bare_cpu:.0f} µs)"
        )
    if config.reference == "capped":
        notes.append(
            f"{chosen.drain.rate / one_rate:.2f}× the best one-process bare sender "
            f"({one_rate:,.0f}/s): the per-webhook cap of {PER_WEBHOOK_CONCURRENCY} in flight "
            "sets this figure"
        )
    else:
        fast = [b for block in around if (b := block.best("fast")) is not None]
        if fast:
            fast_rate = sum(b.rate for b in fast) / len(fast)
            notes.append(f"{chosen.drain.rate / fast_rate:.2f}× the bare pyreqwest sender")
        moonshot = chosen.drain.rate / one_rate
        verdict = "met" if moonshot >= MOONSHOT else f"misses by {MOONSHOT - moonshot:.2f}×"
        notes.append(f"moonshot ≥ {MOONSHOT:.2f}× the aiohttp baseline: {verdict}")
    target = Target(">=", config.target, of_baseline=True) if config.target else None
    return Result(
        f"dispatch/{config.label}",
        chosen.drain.rate,
        UNIT,
        baseline=chosen.reference,
        baseline_label=reference + " (mean of the measurements before and after)",
        target=target,
        notes=notes,
    )
