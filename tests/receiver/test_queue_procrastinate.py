"""Queue mode on the real PostgreSQL: 202 at once, then a procrastinate worker runs the handler."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import procrastinate
import psycopg
import pytest

from promptha_webhooks.catalog import FabricCompleted
from promptha_webhooks.receiver import Event, Webhooks
from promptha_webhooks.receiver.idempotency.postgres import PostgresIdempotencyStore
from promptha_webhooks.receiver.queue.procrastinate import ProcrastinateQueue

SECRET = "whsec_receiver_tests_0123456789"
Sign = Callable[..., Any]


@pytest.fixture
async def queue_db(fresh_postgres_url: str) -> AsyncIterator[str]:
    """A fresh database with procrastinate's schema."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=fresh_postgres_url))
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
    yield fresh_postgres_url


async def drain(queue: ProcrastinateQueue) -> None:
    """Run a worker until the queue is empty (what ``procrastinate worker`` does forever)."""
    await queue.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)


def new_app(dsn: str) -> procrastinate.App:
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))


async def jobs(dsn: str) -> list[tuple[str, str, dict[str, Any]]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cursor = await conn.execute(
            "SELECT status::text, queueing_lock, args FROM procrastinate_jobs ORDER BY id"
        )
        return [(status, lock, args) for status, lock, args in await cursor.fetchall()]


def build(dsn: str, seen: list[Event[FabricCompleted]]) -> tuple[Webhooks, ProcrastinateQueue]:
    """What the web process and the worker process each build from the same code."""
    queue = ProcrastinateQueue(new_app(dsn))
    hooks = Webhooks(secret=SECRET, idempotency=PostgresIdempotencyStore(dsn), queue=queue)

    @hooks.on("fabric.completed")
    async def completed(event: Event[FabricCompleted]) -> None:
        seen.append(event)

    return hooks, queue


async def test_202_then_a_worker_runs_the_handler_once(queue_db: str, signed: Sign) -> None:
    in_web: list[Event[FabricCompleted]] = []
    in_worker: list[Event[FabricCompleted]] = []
    web, _ = build(queue_db, in_web)
    first = signed(event_id="evt_queued", attempt=1)
    try:
        response = await web.handle(first.body, first.headers)
        assert response.status == 202
        assert json.loads(response.body)["status"] == "queued"
        # A second delivery while the first still waits adds no job.
        second = signed(event_id="evt_queued", attempt=2)
        assert (await web.handle(second.body, second.headers)).status == 202
        [(status, lock, args)] = await jobs(queue_db)
        assert (status, lock) == ("todo", "promptha:evt_queued")
        assert args["body"] == first.body.decode()
    finally:
        await web.aclose()  # the web process is gone: the job waits in PostgreSQL

    worker, queue = build(queue_db, in_worker)
    try:
        await drain(queue)
        [event] = in_worker
        assert isinstance(event.data, FabricCompleted)
        assert event.event_id == "evt_queued"
        assert event.delivery.attempt == 1
        assert event.delivery.delivery_id == first.headers["x-promptha-delivery-id"]

        # Delivered again after it was handled: queued, and the worker skips it as a duplicate.
        third = signed(event_id="evt_queued", attempt=3)
        assert (await worker.handle(third.body, third.headers)).status == 202
        await drain(queue)
        assert len(in_worker) == 1 and not in_web
        assert [status for status, _, _ in await jobs(queue_db)] == ["succeeded", "succeeded"]
    finally:
        await worker.aclose()


async def test_a_failing_handler_is_retried_by_the_queue(queue_db: str, signed: Sign) -> None:
    queue = ProcrastinateQueue(
        new_app(queue_db), retry=procrastinate.RetryStrategy(max_attempts=2, wait=0)
    )
    hooks = Webhooks(secret=SECRET, idempotency=PostgresIdempotencyStore(queue_db), queue=queue)
    attempts: list[str] = []

    @hooks.on("fabric.completed")
    def completed(event: Event[FabricCompleted]) -> None:
        attempts.append(event.event_id)
        if len(attempts) == 1:
            raise ConnectionError("downstream unavailable")

    try:
        delivery = signed(event_id="evt_retry")
        assert (await hooks.handle(delivery.body, delivery.headers)).status == 202
        await drain(queue)
        assert attempts == ["evt_retry", "evt_retry"]
        [(status, _, _)] = await jobs(queue_db)
        assert status == "succeeded"
    finally:
        await hooks.aclose()


async def test_bad_requests_are_answered_before_queueing(queue_db: str, signed: Sign) -> None:
    queue = ProcrastinateQueue(new_app(queue_db))
    hooks = Webhooks(secret=SECRET, queue=queue)
    hooks.on("fabric.completed")(lambda event: None)
    try:
        delivery = signed()
        bad_sig = {**delivery.headers, "x-promptha-signature": "b" * 64}
        assert (await hooks.handle(delivery.body, bad_sig)).status == 401
        invalid = signed("fabric.completed", {"executionId": "only"})
        assert (await hooks.handle(invalid.body, invalid.headers)).status == 400
        unhandled = signed("credits.low", {"remaining": 1, "threshold": 2, "userId": "u"})
        response = await hooks.handle(unhandled.body, unhandled.headers)
        assert (response.status, json.loads(response.body)["status"]) == (200, "ignored")
        assert await jobs(queue_db) == []
    finally:
        await hooks.aclose()


async def test_503_when_the_queue_database_is_down(signed: Sign) -> None:
    dead = new_app("postgresql://postgres@127.0.0.1:1/test")  # nothing listens on port 1
    hooks = Webhooks(secret=SECRET, queue=ProcrastinateQueue(dead, enqueue_timeout_s=0.5))
    hooks.on("fabric.completed")(lambda event: None)
    try:
        delivery = signed()
        response = await hooks.handle(delivery.body, delivery.headers)
        assert response.status == 503
        assert json.loads(response.body)["error"]["type"] == "service_unavailable"
    finally:
        await hooks.aclose()


def test_a_queue_serves_one_router() -> None:
    queue = ProcrastinateQueue(new_app("postgresql://postgres@127.0.0.1:1/test"))
    Webhooks(secret=SECRET, queue=queue)
    with pytest.raises(RuntimeError, match="one router"):
        Webhooks(secret=SECRET, queue=queue)
