"""The typical event of the benchmarks: a `fabric.completed` whose generated output is a
paragraph, about 1.3 KB as a batch item (so about 200 of them filled the old 256 KiB body of
a batch, and 1,000 of them, 1.3 MB, are the issue's batch).

Each event names a fabric (`fabricId`); with W endpoints, event i goes to fabric i mod W and
webhook k filters on fabric k, so the filters, not a fan-out, spread the events.
"""

from __future__ import annotations

import json
from typing import Any

EVENT_TYPE = "fabric.completed"
# A generated paragraph of the length a fabric's output typically has (≈1.1 KB).
OUTPUT = (
    "Lightweight trail shoes built for long days on rough ground: a rock plate under the "
    "forefoot, a 6 mm drop and a grippy outsole that holds on wet stone. "
) * 7
USAGE = {"promptTokens": 182, "completionTokens": 264, "totalTokens": 446}


def fabric_id(index: int) -> str:
    return f"fabric-{index:03d}"


def data(number: int, fabric: str) -> dict[str, Any]:
    """The payload of event `number` for `fabric`."""
    return {
        "executionId": f"exec_{number:010d}",
        "fabricId": fabric,
        "result": {"output": OUTPUT},
        "usage": USAGE,
    }


def batch_item(number: int, endpoints: int) -> dict[str, Any]:
    """Event `number` of a batch spread over `endpoints` fabrics."""
    return {"event": EVENT_TYPE, "data": data(number, fabric_id(number % endpoints))}


def delivered_body(event_id: str, timestamp: int, fabric: str = "fabric-000") -> bytes:
    """The body the service sends for a typical event: compact JSON in insertion order, as
    canonical JSON writes these values, with the eventId last in `data`."""
    envelope = {
        "event": EVENT_TYPE,
        "data": {**data(0, fabric), "eventId": event_id},
        "timestamp": timestamp,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
