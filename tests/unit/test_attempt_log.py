"""The attempt log's batch writer: the same lines as the logging formatters would write, one
per attempt, in JSON (production) or text (development)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from promptha_webhooks import logs
from promptha_webhooks.config import LogFormat

ENTRIES: list[dict[str, Any]] = [
    {
        "delivery_id": f"dlv_{n}",
        "attempt_id": f"att_{n}",
        "webhook_id": "wh_1",
        "event_type": "fabric.completed",
        "attempt": n,
        "trigger": "scheduled",
        "status": status,
        "outcome": outcome,
        "ms": 12.5,
        "error": None if status == 200 else f"HTTP {status}",
    }
    for n, (status, outcome) in enumerate([(503, "retry"), (200, "delivered")], start=1)
]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logs._AttemptLines.handler = None


def _records_through_logging(log_format: LogFormat) -> list[str]:
    """What the ordinary logging path writes for ENTRIES (the reference)."""
    stream = io.StringIO()
    logs.configure(log_format, stream=stream)
    logs._AttemptLines.handler = None  # force the one-record-per-line path
    logs.log_attempts(ENTRIES)
    return stream.getvalue().splitlines()


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_written_in_one_batch_match_the_formatter() -> None:
    expected = [json.loads(line) for line in _records_through_logging(LogFormat.JSON)]
    stream = io.StringIO()
    logs.configure(LogFormat.JSON, stream=stream)
    logs.log_attempts(ENTRIES)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    for line, reference in zip(lines, expected, strict=True):
        assert line.pop("ts")[:16] == reference.pop("ts")[:16]  # same minute
        assert line == reference
    assert lines[0]["status"] == 503 and lines[1]["outcome"] == "delivered"


@pytest.mark.usefixtures("restore_logging")
def test_text_lines_written_in_one_batch_match_the_formatter() -> None:
    expected = _records_through_logging(LogFormat.TEXT)
    stream = io.StringIO()
    logs.configure(LogFormat.TEXT, stream=stream)
    logs.log_attempts(ENTRIES)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    for line, reference in zip(lines, expected, strict=True):
        assert line[24:] == reference[24:]  # all but the time stamp
    assert "delivery_id=dlv_2" in lines[1] and "status=200" in lines[1]


@pytest.mark.usefixtures("restore_logging")
def test_a_silenced_attempt_logger_writes_nothing() -> None:
    stream = io.StringIO()
    logs.configure(LogFormat.JSON, stream=stream)
    logging.getLogger(logs.ATTEMPT_LOGGER).setLevel(logging.WARNING)
    try:
        logs.log_attempts(ENTRIES)
    finally:
        logging.getLogger(logs.ATTEMPT_LOGGER).setLevel(logging.NOTSET)
    assert stream.getvalue() == ""
