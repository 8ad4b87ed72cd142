"""Where a delivery's CPU goes, by stage, from the py-spy stacks that `python -m bench
--profile DIR` writes (`python -m bench.stages DIR [--match GLOB] [--cpu-us N]`).

py-spy samples a process 100 times a second while it runs on a CPU (idle samples are not
kept), so the share of samples is the share of CPU time. Each stack is put in one stage:
- by the innermost frame of the service's own code that a rule below names (the stage that
  asked for the work: a claim's asyncpg calls are the claim's, aiohttp under `Sender.post`
  is the send);
- else by the innermost frame of a library a rule names (aiohttp's protocol callbacks are the
  send; a database driver's are claims and result writes together);
- else "event loop, other".

The rules name today's modules and the `delivery/` package the restructure brings (claim,
attempt, transport, record, health, observe, worker); a module the rules do not know counts
as "other", and the table shows which functions fell there, so a rule can be added.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

CLAIM = "claim"
SIGN = "build and sign"
SEND = "send (HTTP client)"
RECORD = "record (results, health, metrics, log)"
SLOTS = "slots and hand-off"
DRIVER = "database driver (claims and writes)"
OTHER = "event loop, other"
STAGES = (CLAIM, SIGN, SEND, RECORD, SLOTS, DRIVER, OTHER)

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*):\d+\)$")


@dataclass(frozen=True)
class Rule:
    stage: str
    file: str  # a fragment of the frame's file path
    functions: frozenset[str] | None = None  # None: every function of the file

    def matches(self, function: str, file: str) -> bool:
        return self.file in file and (self.functions is None or function in self.functions)


def _rule(stage: str, file: str, *functions: str) -> Rule:
    return Rule(stage, file, frozenset(functions) if functions else None)


# The service's own code, checked first, innermost frame first.
SERVICE_RULES = (
    _rule(SIGN, "promptha_webhooks/signing.py"),
    _rule(SIGN, "promptha_webhooks/delivery/transport.py", "receiver_text"),
    _rule(SEND, "promptha_webhooks/delivery/transport.py"),
    _rule(SEND, "promptha_webhooks/destinations.py"),
    _rule(SEND, "promptha_webhooks/deadlines.py"),
    _rule(RECORD, "promptha_webhooks/store/dispatch_statements.py", "record_results"),
    _rule(RECORD, "promptha_webhooks/store/dispatch_statements.py", "record_results_sqlite"),
    _rule(RECORD, "promptha_webhooks/store/dispatch_statements.py", "record_in"),
    _rule(RECORD, "promptha_webhooks/store/dispatch_statements.py", "record_successes"),
    _rule(CLAIM, "promptha_webhooks/store/dispatch_statements.py"),
    _rule(CLAIM, "delivery/worker.py", "Dispatcher._claim", "Dispatcher._claim_loop"),
    _rule(CLAIM, "delivery/worker.py", "Dispatcher._lease_loop"),
    _rule(RECORD, "delivery/worker.py", "Dispatcher._write_loop", "Dispatcher._write"),
    _rule(SLOTS, "delivery/worker.py"),
    _rule(CLAIM, "promptha_webhooks/delivery/claim"),
    _rule(SIGN, "promptha_webhooks/delivery/attempt"),
    _rule(RECORD, "promptha_webhooks/delivery/record"),
    _rule(RECORD, "promptha_webhooks/delivery/health"),
    _rule(RECORD, "promptha_webhooks/delivery/observe"),
    _rule(RECORD, "promptha_webhooks/metrics.py"),
    _rule(RECORD, "promptha_webhooks/logs.py"),
    _rule(SLOTS, "promptha_webhooks/delivery/"),
)
# Libraries, when no frame of the service's code names the stage.
LIBRARY_RULES = (
    _rule(SEND, "aiohttp/"),
    _rule(SEND, "yarl/"),
    _rule(SEND, "multidict/"),
    _rule(SEND, "aiohappyeyeballs/"),
    _rule(DRIVER, "asyncpg/"),
    _rule(DRIVER, "aiosqlite/"),
    _rule(DRIVER, "sqlalchemy/"),
    _rule(RECORD, "prometheus_client/"),
    _rule(RECORD, "logging/"),
)


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for text in stack.split(";"):
        match = _FRAME.match(text)
        frames.append((match["function"], match["file"]) if match else (text, ""))
    return frames


def stage_of(stack: str) -> str:
    frames = _frames(stack)
    for rules in (SERVICE_RULES, LIBRARY_RULES):
        for function, file in reversed(frames):
            for rule in rules:
                if rule.matches(function, file):
                    return rule.stage
    return OTHER


@dataclass
class Profile:
    samples: Counter[str]
    other: Counter[str]  # innermost frames of the "other" samples

    @property
    def total(self) -> int:
        return sum(self.samples.values())


def read(paths: list[Path]) -> Profile:
    samples: Counter[str] = Counter()
    other: Counter[str] = Counter()
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            stage = stage_of(stack)
            samples[stage] += int(count)
            if stage == OTHER:
                other[stack.rsplit(";", 1)[-1]] += int(count)
    return Profile(samples, other)


def table(profile: Profile, cpu_us: float | None) -> str:
    lines = [f"{'stage':40s} {'share':>7s}" + (f" {'µs/delivery':>12s}" if cpu_us else "")]
    for stage in STAGES:
        share = profile.samples[stage] / profile.total if profile.total else 0.0
        line = f"{stage:40s} {share:7.1%}"
        if cpu_us:
            line += f" {share * cpu_us:12.1f}"
        lines.append(line)
    lines.append(f"{'(samples)':40s} {profile.total:7d}")
    if profile.other:
        lines.append("\nmost frequent innermost frames counted as other:")
        for frame, count in profile.other.most_common(8):
            lines.append(f"  {count / profile.total:6.1%}  {frame}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path, help="the --profile folder of a bench run")
    parser.add_argument(
        "--match",
        default="dispatch-postgresql-[0-9].txt",
        help="glob of the profiles to add up (default: one worker on PostgreSQL, every round)",
    )
    parser.add_argument("--cpu-us", type=float, help="CPU per delivery to split, in µs")
    args = parser.parse_args()
    paths = sorted(args.folder.glob(args.match))
    if not paths:
        parser.error(f"no file matches {args.match} in {args.folder}")
    print(f"{len(paths)} profile(s): {', '.join(p.name for p in paths)}\n")
    print(table(read(paths), args.cpu_us))


if __name__ == "__main__":
    main()
