"""The worker's own CPU per delivery, without the network or the database
(`python -m bench.worker_cost`): not part of `make bench`, a tool for changes to the hot path.

The real code runs from a claim's rows to the logged attempt: `claim_due` decodes the rows of a
claim (a stub driver returns them), `Dispatcher._attempt` signs, builds the headers and the
attempt row, classifies the answer (a stub transport returns a 200 at once, as the benchmark's
receiver does) and queues the result; then, as the writer does for a batch of successes,
`record_results` encodes the batch (a stub driver takes it) and `Observer.recorded` counts it
and writes the attempt lines (to /dev/null). What this leaves out is aiohttp's request and
asyncpg's protocol: the rest of the worker's CPU in `bench/dispatch.py`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

from bench.common import ENCRYPTION_KEYS
from bench.seed import EVENT_TYPE, SECRET, event_body, event_id, webhook_id
from promptha_webhooks import logs
from promptha_webhooks.config import LogFormat, Settings
from promptha_webhooks.delivery import AiohttpTransport, Dispatcher
from promptha_webhooks.delivery.health import AttemptResult
from promptha_webhooks.delivery.record import latest_success
from promptha_webhooks.delivery.transport import OutboundRequest, TransportResponse
from promptha_webhooks.gc_tuning import tune_for_service
from promptha_webhooks.secret_box import KeyRing
from promptha_webhooks.store import Database, dispatch_statements

BATCH = 2048
ROUNDS = 12
WARM_UP = 2
# What the benchmark's receiver (aiohttp) answers.
ANSWER_HEADERS = {
    "content-type": "text/plain; charset=utf-8",
    "content-length": "2",
    "date": "Sat, 28 Nov 2026 00:00:00 GMT",
    "server": "Python/3.11 aiohttp/3.14.5",
}


class _AnsweringTransport(AiohttpTransport):
    """Answers every POST with a 200 at once, building the result as AiohttpTransport.send
    does."""

    async def send(self, request: OutboundRequest) -> TransportResponse:
        started = time.time()
        t0 = time.perf_counter()
        answer: dict[str, str] = {}
        for name, value in ANSWER_HEADERS.items():
            answer[name.lower()] = value
        duration = (time.perf_counter() - t0) * 1000
        return TransportResponse(200, answer, b"ok".decode(), None, None, started, duration)


class _Driver:
    """Stands in for the asyncpg connection: a claim's rows in, a batch's result out."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    async def fetch(self, *_args: Any) -> list[tuple[Any, ...]]:
        return self.rows

    async def fetchval(self, *_args: Any) -> bool:
        return True


# How the benchmark's webhooks sign (--signing): the secret, the previous one (a rotation
# running for an hour: every delivery carries two signatures) and the format column.
_HOUR_MS = 3_600_000
_STANDARD_SECRET = "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0dXY="
_SIGNING_KEY = "whsk_" + "MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0dXY="
_PREVIOUS_SIGNING_KEY = "whsk_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
SIGNINGS = {
    "promptha": (SECRET, None, "promptha"),
    "promptha-rotating": (SECRET, SECRET + "-old", "promptha"),
    "standard": (_STANDARD_SECRET, None, "standard"),
    "standard-rotating": (_STANDARD_SECRET, _STANDARD_SECRET[:-8] + "OTAxMjM0", "standard"),
    "ed25519": (_SIGNING_KEY, None, "standard"),
    "ed25519-rotating": (_SIGNING_KEY, _PREVIOUS_SIGNING_KEY, "standard"),
}


def _claimed_rows(
    database: Database, count: int, signing: str = "promptha"
) -> list[tuple[Any, ...]]:
    """Rows as the claim statement returns them (its column order), the webhooks' secrets
    sealed as stored."""
    now = int(time.time())
    secret, previous, signature_format = SIGNINGS[signing]
    expires = None if previous is None else now * 1000 + _HOUR_MS
    sealed = {
        webhook_id(i): database.secrets.secret_columns(webhook_id(i), secret, previous, expires)
        for i in range(10)
    }
    return [
        (
            f"dlv_{i:026d}",
            event_id(i),
            EVENT_TYPE,
            webhook_id(i % 10),
            0,
            False,
            event_body(event_id(i), now),
            None,
            f"http://127.0.0.1:9/ok/w{i % 10}",
            sealed[webhook_id(i % 10)]["secret"],
            True,
            None,  # max_concurrency
            sealed[webhook_id(i % 10)]["previous_secret"],
            expires,
            signature_format,
            sealed[webhook_id(i % 10)]["secret_key_id"],
        )
        for i in range(count)
    ]


async def _per_delivery_us(dispatcher: Dispatcher, signing: str) -> float:
    rows = _claimed_rows(dispatcher.db, BATCH, signing)
    started = time.process_time()
    claimed = await dispatch_statements.claim_due(
        _Driver(rows),
        0,
        1,
        "token",
        BATCH,
        secrets=dispatcher.db.secrets,
    )
    for delivery in claimed:
        await dispatcher._attempt(delivery)
    queue = dispatcher._results
    batch = [queue.get_nowait() for _ in range(queue.qsize())]
    # As Recorder.write does for a batch of successes.
    attempt_rows = [item.attempt for item in batch if item.attempt is not None]
    updates = [item.update for item in batch]
    results = [AttemptResult.from_outcome(item) for item in batch if item.attempt is not None]
    await dispatch_statements.record_results(
        _Driver([]),
        attempt_rows,
        updates,
        latest_success(results),
        0,
    )
    dispatcher.observer.recorded(batch, [])
    return (time.process_time() - started) / len(batch) * 1e6


async def _measure(log_format: LogFormat, signing: str) -> list[float]:
    with tempfile.TemporaryDirectory() as folder, open(os.devnull, "w") as devnull:
        logs.configure(log_format, stream=devnull)
        settings = Settings(database_url=f"sqlite+aiosqlite:///{Path(folder) / 'unused.db'}")
        database = Database(settings.database_url, KeyRing.parse(ENCRYPTION_KEYS))
        dispatcher = Dispatcher(settings, database, _AnsweringTransport(settings))
        tune_for_service()
        try:
            return [await _per_delivery_us(dispatcher, signing) for _ in range(ROUNDS)][WARM_UP:]
        finally:
            await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--log-format",
        choices=[f.value for f in LogFormat],
        default=LogFormat.TEXT.value,
        help="the attempt lines' format (text: development mode, as in make bench)",
    )
    parser.add_argument(
        "--signing",
        choices=sorted(SIGNINGS),
        default="promptha",
        help="how the webhooks sign: format, Ed25519 keys, a rotation's two secrets",
    )
    args = parser.parse_args()
    times = uvloop.run(_measure(LogFormat(args.log_format), args.signing))
    print(
        f"worker's own CPU per delivery: median {statistics.median(times):.1f} µs, "
        f"min {min(times):.1f}, max {max(times):.1f} ({len(times)} batches of {BATCH:,}, "
        f"{args.signing} signing)"
    )


if __name__ == "__main__":
    main()
