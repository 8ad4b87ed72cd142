"""Queue mode: the protocol between the router and a durable job queue, and what a job carries.

The router answers 202 once ``enqueue`` returns; a worker of the queue later calls the function
the router gave to ``bind`` with the same :class:`QueuedEvent`. The implementation in this SDK is
``.procrastinate`` (PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["EventQueue", "ProcessQueued", "QueuedEvent"]


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    """A verified, well-formed delivery, as stored in a job: the body text and delivery headers."""

    body: str
    event: str
    event_id: str
    delivery_id: str | None = None
    attempt: int | None = None
    test: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueuedEvent:
        return cls(
            body=str(data["body"]),
            event=str(data["event"]),
            event_id=str(data["event_id"]),
            delivery_id=data.get("delivery_id"),
            attempt=data.get("attempt"),
            test=bool(data.get("test", False)),
        )


ProcessQueued = Callable[[QueuedEvent], Awaitable[None]]
"""Runs a queued event's handler in the worker; raising makes the queue retry the job."""


@runtime_checkable
class EventQueue(Protocol):
    """A durable queue. Driver errors surface as QueueUnavailableError."""

    def bind(self, process: ProcessQueued) -> None:
        """Register the worker-side function; called once, by the router that uses the queue."""
        ...

    async def enqueue(self, queued: QueuedEvent) -> bool:
        """Store a job durably; False when a job for this event is already waiting."""
        ...

    async def aclose(self) -> None:
        """Close connections the queue opened itself."""
        ...
