"""Drain measurement shared by dispatch, isolation and backlog: start a dispatcher on a seeded
database and time the deliveries arriving at the receiver, first to last, within a deadline.

The dispatcher is the `worker` command (dispatch only, no API in the process), or several of
them (scale-out on PostgreSQL), each at the service's default configuration. The figure is
arrivals / (last arrival − first arrival) of the counted group, so process start-up is not in
it; then it waits (≤ 30 s) until the table shows the deliveries delivered, the attempt log and
outcomes written, and reports how long that took after the last arrival.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench.common import Context, log
from bench.database import ScratchDatabase
from bench.receiver import OK, Receiver, Stats
from bench.service import ServiceProcess

SETTLE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Drain:
    expected: int
    stats: Stats
    group: str
    reached: bool
    waited_s: float
    settle_s: float | None  # last arrival → all `expected` recorded as delivered
    peak_rss_mb: float | None  # the largest worker's
    cpu_s: float | None = None  # the workers' CPU time from ready to all recorded
    workers: int = 1

    @property
    def arrived(self) -> int:
        return self.stats.group(self.group).count

    @property
    def rate(self) -> float:
        return self.stats.group(self.group).rate

    def notes(self) -> list[str]:
        group = self.stats.group(self.group)
        span = group.last - group.first
        notes = [f"{self.arrived:,} of {self.expected:,} in {span:.1f} s (first→last arrival)"]
        if not self.reached:
            notes.append(f"deadline: stopped after {self.waited_s:.0f} s; rate over what arrived")
        elif self.arrived > self.expected:
            notes.append(f"{self.arrived - self.expected} duplicate arrivals")
        if self.reached and self.settle_s is None:
            notes.append(f"table not all delivered {SETTLE_TIMEOUT_S:g} s after the last arrival")
        elif self.reached:
            notes.append(f"table all delivered {self.settle_s:.2f} s after the last arrival")
        if self.cpu_s is not None and self.arrived:
            whose = "worker" if self.workers == 1 else f"{self.workers} workers'"
            notes.append(f"{whose} CPU {1e6 * self.cpu_s / self.arrived:,.0f} µs per delivery")
        return notes

    @property
    def cpu_per_delivery_us(self) -> float | None:
        return None if self.cpu_s is None or not self.arrived else 1e6 * self.cpu_s / self.arrived


class _Workers:
    """`count` worker processes, each with the service's default configuration."""

    def __init__(self, ctx: Context, name: str, url: str, count: int) -> None:
        self.processes = [
            ServiceProcess(ctx, name if count == 1 else f"{name}-{i}", url, "worker")
            for i in range(count)
        ]

    @property
    def alive(self) -> bool:
        return all(process.alive for process in self.processes)

    async def start(self) -> None:
        await asyncio.gather(*(process.start() for process in self.processes))

    async def stop(self) -> None:
        await asyncio.gather(*(process.stop() for process in self.processes))

    def cpu_seconds(self) -> float | None:
        times = [process.cpu_seconds() for process in self.processes]
        return None if None in times else sum(t for t in times if t is not None)

    def peak_rss_mb(self) -> float | None:
        peaks = [process.peak_rss_mb() for process in self.processes]
        return None if None in peaks else max(p for p in peaks if p is not None)

    def log_tail(self) -> str:
        return "\n".join(p.log_tail() for p in self.processes if not p.alive)


async def drain(
    ctx: Context,
    db: ScratchDatabase,
    receiver: Receiver,
    *,
    name: str,
    expected: int,
    deadline_s: float,
    group: str = OK,
    workers: int = 1,
) -> Drain:
    """Start `workers` worker processes on `db` (already seeded) and wait for `expected`
    arrivals in `group`."""
    await receiver.reset()
    worker = _Workers(ctx, name, db.url, workers)
    log(
        f"{name}: {workers} worker{'s' if workers > 1 else ''} started, "
        f"waiting for {expected:,} deliveries (≤ {deadline_s:g} s)"
    )
    await worker.start()
    cpu_at_start = worker.cpu_seconds()  # imports, migrations: not per-delivery work
    try:
        start = time.monotonic()
        stats, reached = await receiver.wait(
            expected, group=group, timeout=deadline_s, alive=worker
        )
        waited = time.monotonic() - start
        if not worker.alive:
            raise RuntimeError(f"{name}: a worker died:\n{worker.log_tail()}")
        peak = worker.peak_rss_mb()
        settle = await _settle(db, expected, stats.group(group).last) if reached else None
        peak = worker.peak_rss_mb() or peak
        cpu_now = worker.cpu_seconds()
        cpu = None if cpu_now is None or cpu_at_start is None else cpu_now - cpu_at_start
    finally:
        await worker.stop()
    result = Drain(expected, stats, group, reached, waited, settle, peak, cpu, workers)
    log(f"{name}: {result.rate:,.0f} deliveries/s; " + "; ".join(result.notes()))
    return result


async def _settle(db: ScratchDatabase, expected: int, last_arrival: float) -> float | None:
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        if await db.count("WHERE status = 'delivered'") >= expected:
            return max(0.0, time.monotonic() - last_arrival)
        await asyncio.sleep(0.1)
    return None
