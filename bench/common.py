"""What every benchmark shares: options, the run context, results with their targets, paths,
the fixed admin key, logging to stderr and free-port lookup."""

from __future__ import annotations

import math
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Backend = Literal["sqlite", "postgresql"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "postgresql")

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
CLI = str(ROOT / ".venv" / "bin" / "promptha-webhooks")
ADMIN_KEY = "pwa_bench_admin_key_0123456789abcdef"
# The fixed encryption key ring of every service the benchmarks start (32 bytes 0x02: bench
# data, not a secret); seeded webhooks are sealed with it (seed.py).
ENCRYPTION_KEYS = "bench1:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
PG_ADMIN_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
QUICK_DIVISOR = 10

_started = time.monotonic()


def log(message: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(f"[bench {time.monotonic() - _started:7.1f}s] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Options:
    only: tuple[str, ...] | None = None
    quick: bool = False
    backend: Literal["sqlite", "postgresql", "both"] = "both"
    json_path: Path | None = None
    profile_dir: Path | None = None
    keep_logs: bool = False
    wait_quiet_s: float = 120.0


@dataclass(frozen=True)
class Target:
    """A pass mark: `figure OP value`, or `figure / baseline OP value` when of_baseline."""

    op: Literal[">=", "<=", "<"]
    value: float
    of_baseline: bool = False
    unit: str = ""

    def describe(self) -> str:
        symbol = {">=": "≥", "<=": "≤", "<": "<"}[self.op]
        if self.of_baseline:
            return f"{symbol} {self.value:.2f}×"
        return f"{symbol} {format_number(self.value)}{self.unit}"

    def miss(self, figure: float, ratio: float | None) -> str:
        """How far a figure that does not meet the target is from it."""
        value = ratio if self.of_baseline else figure
        if value is None or math.isnan(value):
            return ""
        if math.isinf(value):
            return "never arrived"
        gap = abs(self.value - value)
        if self.of_baseline:
            return f"by {gap:.2f}× (needs {self.value / value - 1:+.0%})"
        return f"by {format_number(gap)}{self.unit} ({gap / self.value:.0%} of the target)"

    def met(self, figure: float, ratio: float | None) -> bool | None:
        value = ratio if self.of_baseline else figure
        if value is None or math.isnan(value):
            return None
        if self.op == ">=":
            return value >= self.value
        if self.op == "<=":
            return value <= self.value
        return value < self.value


@dataclass
class Result:
    """One row of the table."""

    name: str
    figure: float | None
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: Target | None = None
    notes: list[str] = field(default_factory=list)
    text: str | None = None  # shown instead of the figure (n/a, error)

    @property
    def ratio(self) -> float | None:
        if self.figure is None or not self.baseline:
            return None
        return self.figure / self.baseline

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        if self.figure is None:
            return False if self.text and self.text.startswith("error") else None
        return self.target.met(self.figure, self.ratio)


@dataclass
class Context:
    """The run: options, a scratch folder for logs and SQLite files, and results so far."""

    options: Options
    work_dir: Path
    results: list[Result] = field(default_factory=list)

    def scale(self, full: int) -> int:
        """A size from the issue, divided for --quick."""
        return max(1, full // QUICK_DIVISOR) if self.options.quick else full

    def backends(self, issue_backends: tuple[Backend, ...]) -> tuple[Backend, ...]:
        """`--backend both` runs a benchmark on the backends the issue names for it; a single
        backend runs every benchmark on that one."""
        if self.options.backend == "both":
            return issue_backends
        return (self.options.backend,)

    def find(self, name: str) -> Result | None:
        for result in self.results:
            if result.name == name:
                return result
        return None


def format_number(value: float) -> str:
    if math.isinf(value):
        return "∞"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
