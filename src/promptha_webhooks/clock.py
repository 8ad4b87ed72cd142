"""Time as the service sees it; tests pass a clock they control."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Unix time in seconds."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


def ms(seconds: float) -> int:
    """Unix seconds → integer milliseconds, the unit stored in the database."""
    return int(seconds * 1000)
