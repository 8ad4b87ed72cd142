"""The machine under the benchmarks: who else is using the CPU.

The machine is shared (2 cores), so every benchmark records the CPU used by processes that are
not part of the run — neither this process and its children (receiver, service, load
generator) nor the PostgreSQL backends of its `bench_*` databases — sampled from /proc once a
second. Before each benchmark the run waits (a bounded time) for that load to fall, and each
result carries the average and peak foreign load it ran under.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from bench.common import log

TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_S = 1.0
QUIET_CORES = 0.3  # foreign load below which the machine counts as quiet
NOISY_CORES = 0.25  # average foreign load above which a result is flagged


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return None


def _processes() -> dict[int, tuple[int, float]]:
    """pid → (parent pid, CPU seconds so far) for every process."""
    table: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _read(f"/proc/{entry}/stat")
        if stat is None:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)
    return table


def _ours(pid: int, table: dict[int, tuple[int, float]], root: int) -> bool:
    seen = 0
    while pid > 1 and seen < 64:
        if pid == root:
            return True
        pid = table.get(pid, (0, 0.0))[0]
        seen += 1
    return False


def _is_postgres_of_ours_or_shared(pid: int) -> bool:
    """Backends of our bench_* databases and the server's own helper processes."""
    cmdline = _read(f"/proc/{pid}/cmdline")
    if cmdline is None or not cmdline.startswith("postgres"):
        return False
    # "postgres: 15/main: postgres bench_ab12cd 127.0.0.1(5000) idle" for a backend;
    # "postgres: 15/main: checkpointer" etc. for the server's helpers (shared: not counted).
    parts = cmdline.replace("\0", " ").split()
    return "bench_" in cmdline or len(parts) <= 4


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds so far of every process, and which of them are not this run's."""

    cpu: dict[int, float]
    foreign: frozenset[int]

    @classmethod
    def take(cls, root: int | None = None) -> CpuSample:
        root = root or os.getpid()
        table = _processes()
        foreign = frozenset(
            pid
            for pid in table
            if not _ours(pid, table, root) and not _is_postgres_of_ours_or_shared(pid)
        )
        return cls({pid: cpu for pid, (_ppid, cpu) in table.items()}, foreign)

    def foreign_since(self, earlier: CpuSample) -> float:
        """CPU seconds used by foreign processes between `earlier` and this sample (a process
        that started in between counts whole; one that ended in between is not seen)."""
        return sum(max(0.0, self.cpu[pid] - earlier.cpu.get(pid, 0.0)) for pid in self.foreign)


@dataclass
class LoadMonitor:
    """`async with LoadMonitor() as load:` … `load.average`, `load.peak` (cores)."""

    samples: list[float] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LoadMonitor:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        previous = await asyncio.to_thread(CpuSample.take)
        at = time.monotonic()
        while True:
            await asyncio.sleep(SAMPLE_S)
            current = await asyncio.to_thread(CpuSample.take)
            now = time.monotonic()
            self.samples.append(current.foreign_since(previous) / (now - at))
            previous, at = current, now

    @property
    def average(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else 0.0

    @property
    def peak(self) -> float:
        return max(self.samples, default=0.0)

    def note(self) -> str:
        flag = " — NOISY: figures are low" if self.average > NOISY_CORES else ""
        return (
            f"other processes used {self.average:.2f} cores on average "
            f"(peak {self.peak:.2f}) of 2 during this benchmark{flag}"
        )


async def wait_quiet(max_wait_s: float) -> float:
    """Wait until foreign load stays under QUIET_CORES for 3 s (at most `max_wait_s`); returns
    the last measured load, in cores."""
    deadline = time.monotonic() + max_wait_s
    quiet_since: float | None = None
    previous = await asyncio.to_thread(CpuSample.take)
    at = time.monotonic()
    load = 0.0
    warned = False
    while True:
        await asyncio.sleep(SAMPLE_S)
        current = await asyncio.to_thread(CpuSample.take)
        now = time.monotonic()
        load = current.foreign_since(previous) / (now - at)
        previous, at = current, now
        if load < QUIET_CORES:
            quiet_since = quiet_since or now
            if now - quiet_since >= 3 * SAMPLE_S:
                return load
        else:
            quiet_since = None
            if not warned:
                log(f"other processes use {load:.2f} cores; waiting ≤ {max_wait_s:g} s for quiet")
                warned = True
        if now >= deadline:
            log(f"machine still busy ({load:.2f} cores used by others); going on")
            return load
