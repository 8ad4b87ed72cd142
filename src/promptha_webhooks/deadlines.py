"""Attempt deadlines: cancel an HTTP attempt still running when its time is up.

Every attempt of a sender has the same timeout, so deadlines come in the order attempts start,
and one loop timer armed for the earliest live deadline serves them all. aiohttp's own `total`
timeout arms a timer and enters two timer contexts per request, which cost about 15 µs of CPU
per attempt here (about 12 % of a bare POST; `bench/baseline.py` measures the POST).

Usage, inside the task making the attempt:

    task = deadlines.start()
    try:
        ...                      # the request
    except asyncio.CancelledError:
        if not deadlines.expired(task):
            raise                # someone else cancelled us
        ...                      # the attempt timed out
    finally:
        deadlines.finish(task)
"""

from __future__ import annotations

import asyncio


class Deadlines:
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        # Live attempts in start order, each with its deadline (loop.time()). A dict keeps
        # insertion order and removes a finished attempt in O(1).
        self._live: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._live)

    def start(self) -> asyncio.Task[object]:
        """Register the current task's attempt; returns the task (for expired/finish)."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("an attempt with a deadline must run in a task")
        loop = task.get_loop()
        deadline = loop.time() + self.timeout_s
        self._live[task] = deadline
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._fire, loop)
        return task

    def finish(self, task: asyncio.Task[object]) -> None:
        self._live.pop(task, None)
        self._expired.discard(task)

    def expired(self, task: asyncio.Task[object]) -> bool:
        """Whether a CancelledError in `task` is this deadline's: if so the cancellation is
        withdrawn (the task goes on to record a timeout) unless the task was also cancelled
        from elsewhere, in which case it must still stop."""
        if task not in self._expired:
            return False
        self._expired.discard(task)
        return task.uncancel() == 0

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        due: list[asyncio.Task[object]] = []
        for task, deadline in self._live.items():
            if deadline > now:
                self._timer = loop.call_at(deadline, self._fire, loop)
                break
            due.append(task)
        for task in due:
            del self._live[task]
            if not task.done():
                self._expired.add(task)
                task.cancel()
