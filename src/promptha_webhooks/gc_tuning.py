"""The garbage collector's settings for the long-running processes (`serve` and `worker`).

CPython's defaults run a young-generation collection every 700 container allocations, and
every 100th one becomes a full collection that walks every object of the process: the modules,
classes and functions imported, the app's routes and schemas, SQLAlchemy's metadata. A
delivery attempt or a publish allocates hundreds of containers (requests, responses, rows,
dicts), so those collections ran all the time and their cost was spread over every allocating
line of a profile. Measured here (docs/performance.md): worker CPU per delivery 210 → 150 µs,
batch publish API CPU per event 45 → 27 µs, single publish 687 → 531 µs.

Two changes, as long-running Python servers commonly make:
- `gc.freeze()` once start-up is done: what exists then lives as long as the process, so it is
  moved to a permanent generation that later collections skip.
- Thresholds of 50,000 / 20 / 100 instead of 700 / 10 / 10: reference counting frees almost
  everything the moment it is unused; only objects in reference cycles wait for the collector,
  now somewhat longer (a few MB at most under load; the worker's peak RSS stays the figure
  bench/backlog.py reports).
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def tune_for_service() -> None:
    """Call once, after start-up imports and set-up, in a process that will run for long."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
