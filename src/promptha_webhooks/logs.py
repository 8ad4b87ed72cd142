"""Logging set-up: one JSON object per line (production) or human-readable lines
(development), chosen by PROMPTHA_WEBHOOKS_LOG_FORMAT. Fields passed with `extra=` (ids,
status, ms…) become keys of the JSON object.

The attempt log (one line per attempt, `log_attempts`) is the only per-delivery log: through
`logging` it cost ≈13 µs of CPU per line (a LogRecord, a format, a write and a flush each),
6–9 % of the dispatcher's work per delivery. When `configure` installed the handler, a batch's
lines are formatted the same way and written with one write; otherwise (the service embedded
in another program, tests with caplog) they go through `logging` one record each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from promptha_webhooks.config import LogFormat

_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime"}
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ATTEMPT_LOGGER = "promptha_webhooks.attempts"
attempt_logger = logging.getLogger(ATTEMPT_LOGGER)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """The usual line, with the `extra=` fields appended as key=value."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_")
        ]
        return f"{line} {' '.join(extras)}" if extras else line


class _AttemptLines:
    """Where `configure` sends the attempt log: its handler, and whether lines are JSON."""

    handler: logging.StreamHandler[Any] | None = None
    as_json = True


def configure(
    log_format: LogFormat, level: int = logging.INFO, stream: IO[str] | None = None
) -> None:
    """Install the formatter on the root logger (replacing earlier handlers)."""
    handler: logging.StreamHandler[Any] = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic names each of its plugins at INFO when it is first imported: seven lines of noise
    # at every `worker` start, and before the one line of an error that ends it.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(level, logging.WARNING))
    _AttemptLines.handler = handler
    _AttemptLines.as_json = log_format is LogFormat.JSON


def log_attempts(entries: Sequence[dict[str, Any]]) -> None:
    """One INFO line per attempt on the `promptha_webhooks.attempts` logger; each entry's keys
    (delivery_id, outcome, status, ms…) become fields of the line."""
    if not entries or not attempt_logger.isEnabledFor(logging.INFO):
        return
    handler = _AttemptLines.handler
    direct = (
        handler is not None
        and not attempt_logger.handlers
        and attempt_logger.propagate
        and logging.getLogger().handlers == [handler]
    )
    if not direct or handler is None:
        for entry in entries:
            attempt_logger.info(
                "attempt %s %s", entry["delivery_id"], entry["outcome"], extra=entry
            )
        return
    now = time.time()
    if _AttemptLines.as_json:
        stamp = datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="milliseconds")
        head = {"ts": stamp, "level": "info", "logger": ATTEMPT_LOGGER}
        lines = [
            orjson.dumps(
                {**head, "message": f"attempt {e['delivery_id']} {e['outcome']}", **e},
                default=str,
            ).decode()
            for e in entries
        ]
    else:
        local = time.localtime(now)
        stamp = f"{time.strftime('%Y-%m-%d %H:%M:%S', local)},{int(now * 1000) % 1000:03d}"
        lines = [
            f"{stamp} INFO {ATTEMPT_LOGGER}: attempt {e['delivery_id']} {e['outcome']} "
            + " ".join([f"{key}={value}" for key, value in e.items()])  # (a list: faster)
            for e in entries
        ]
    handler.acquire()
    try:
        handler.stream.write("\n".join(lines) + "\n")
        handler.flush()
    finally:
        handler.release()
