"""The router: the guide's status table, typed events, registration rules, handler kinds."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from promptha_webhooks.catalog import CreditsLow, EventPayload, FabricCompleted
from promptha_webhooks.receiver import (
    DuplicateHandlerError,
    Event,
    Outcome,
    UnknownEventError,
    Webhooks,
)
from promptha_webhooks.receiver.idempotency.redis import RedisIdempotencyStore
from promptha_webhooks.receiver.idempotency.sqlite import SQLiteIdempotencyStore
from promptha_webhooks.signing import sign

SECRET = "whsec_receiver_tests_0123456789"
Sign = Callable[..., Any]


def body_of(response: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(response.body)
    return document


async def test_async_handler_gets_a_typed_event_and_200(signed: Sign) -> None:
    hooks = Webhooks(secret=SECRET)
    seen: list[Event[FabricCompleted]] = []

    @hooks.on("fabric.completed")
    async def completed(event: Event[FabricCompleted]) -> None:
        seen.append(event)

    delivery = signed("fabric.completed", event_id="evt_A", attempt=2)
    response = await hooks.handle(delivery.body, delivery.headers)

    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert body_of(response) == {
        "status": "processed",
        "event": "fabric.completed",
        "eventId": "evt_A",
    }
    [event] = seen
    assert isinstance(event.data, FabricCompleted)
    assert event.event == "fabric.completed" and event.event_id == "evt_A"
    assert event.data.eventId == "evt_A"
    assert event.data.usage == {"totalTokens": 246}
    assert event.delivery.attempt == 2
    assert event.delivery.delivery_id == delivery.headers["x-promptha-delivery-id"]
    assert not event.delivery.test
    assert abs(event.timestamp - time.time()) < 5


async def test_sync_handler_runs_off_the_event_loop(signed: Sign) -> None:
    hooks = Webhooks(secret=SECRET)
    threads: list[str] = []

    @hooks.on("credits.low")
    def low(event: Event[CreditsLow]) -> None:
        assert isinstance(event.data, CreditsLow)
        assert event.data.remaining == 120
        threads.append(threading.current_thread().name)

    delivery = signed("credits.low", {"remaining": 120, "threshold": 500, "userId": "user_7d2f"})
    response = await hooks.handle(delivery.body, delivery.headers)
    assert response.status == 200
    assert threads and threads[0] != threading.current_thread().name


async def test_callable_object_with_async_call(signed: Sign) -> None:
    hooks = Webhooks(secret=SECRET)
    calls: list[str] = []

    class Handler:
        async def __call__(self, event: Event[Any]) -> None:
            calls.append(event.event_id)

    hooks.on("fabric.completed")(Handler())
    delivery = signed()
    assert (await hooks.handle(delivery.body, delivery.headers)).status == 200
    assert calls == [delivery.event_id]


async def test_str_body_is_accepted(signed: Sign) -> None:
    hooks = Webhooks(secret=SECRET)
    hooks.on("fabric.completed")(lambda event: None)
    delivery = signed()
    response = await hooks.handle(delivery.body.decode(), delivery.headers)
    assert response.status == 200


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda h: h.pop("x-promptha-signature"), "missing required header 'x-promptha-signature'"),
        (lambda h: h.pop("x-promptha-timestamp"), "missing required header 'x-promptha-timestamp'"),
        (lambda h: h.update({"x-promptha-timestamp": "soon"}), "unsigned decimal integer"),
        (lambda h: h.update({"x-promptha-signature": "0" * 64}), "does not match"),
        (lambda h: h.update({"x-promptha-signature": "zz"}), "64 hex characters"),
    ],
)
async def test_401_names_the_failed_check(
    signed: Sign, mutate: Callable[[dict[str, str]], object], fragment: str
) -> None:
    hooks = Webhooks(secret=SECRET)
    ran: list[object] = []
    hooks.on("fabric.completed")(ran.append)
    delivery = signed()
    mutate(delivery.headers)
    response = await hooks.handle(delivery.body, delivery.headers)
    assert response.status == 401
    error = body_of(response)["error"]
    assert error["type"] == "invalid_signature"
    assert fragment in error["message"]
    assert not ran


async def test_401_for_stale_and_future_timestamps(signed: Sign) -> None:
    hooks = Webhooks(secret=SECRET, tolerance=300)
    now = int(time.time())
    for ts, word in ((now - 301, "old"), (now + 301, "in the future")):
        delivery = signed(timestamp=ts)
        response = await hooks.handle(delivery.body, delivery.headers)
        assert response.status == 401
        assert word in body_of(response)["error"]["message"]
    inside = signed(timestamp=now - 290)
    assert (await hooks.handle(inside.body, inside.headers)).status == 200  # no handler: ignored


async def test_401_for_a_tampered_body(signed: Sign) -> None:
    hooks = Webhooks(secret=SECRET)
    delivery = signed()
    tampered = delivery.body.replace(b"246", b"247")
    assert (await hooks.handle(tampered, delivery.headers)).status == 401


async def test_secret_rotation_accepts_old_and_new(signed: Sign) -> None:
    hooks = Webhooks(secret=["whsec_new_secret", SECRET])
    for secret in ("whsec_new_secret", SECRET):
        delivery = signed(secret=secret)
        assert (await hooks.handle(delivery.body, delivery.headers)).status == 200
    wrong = signed(secret="whsec_someone_else")
    assert (await hooks.handle(wrong.body, wrong.headers)).status == 401
    assert "hidden" in repr(hooks) and SECRET not in repr(hooks)


def sign_raw(body: bytes) -> dict[str, str]:
    ts = int(time.time())
    return {"x-promptha-timestamp": str(ts), "x-promptha-signature": sign(SECRET, ts, body)}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not valid UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"data": {"eventId": "evt_1"}, "timestamp": 1}', "'event'"),
        (b'{"event": "fabric.completed", "data": [], "timestamp": 1}', "'data'"),
        (
            b'{"event": "fabric.completed", "data": {"eventId": "e"}, "timestamp": "1"}',
            "'timestamp'",
        ),
        (b'{"event": "fabric.completed", "data": {}, "timestamp": 1}', "'data.eventId'"),
        (
            b'{"event":"fabric.completed","data":{"eventId":"evt_1","executionId":"x",'
            b'"fabricId":"f","result":1},"timestamp":1}',
            "requires field 'usage'",
        ),
        (
            b'{"event":"credits.low","data":{"eventId":"evt_1","remaining":"many",'
            b'"threshold":5,"userId":"u"},"timestamp":1}',
            "field 'remaining'",
        ),
        (b'{"event":"x","data":{"eventId":"e","n":1e400},"timestamp":1}', "overflows"),
    ],
)
async def test_400_for_bad_payloads_even_when_signed(body: bytes, fragment: str) -> None:
    hooks = Webhooks(secret=SECRET)
    ran: list[object] = []
    hooks.on("fabric.completed")(ran.append)
    hooks.default(ran.append)
    response = await hooks.handle(body, sign_raw(body))
    assert response.status == 400, response.body
    error = body_of(response)["error"]
    assert error["type"] == "invalid_payload"
    assert fragment in error["message"]
    assert not ran


async def test_500_when_the_handler_raises_without_leaking_it(
    signed: Sign, caplog: pytest.LogCaptureFixture
) -> None:
    hooks = Webhooks(secret=SECRET)

    @hooks.on("fabric.completed")
    async def completed(event: Event[FabricCompleted]) -> None:
        raise RuntimeError("database password is hunter2")

    delivery = signed()
    with caplog.at_level(logging.ERROR, logger="promptha_webhooks.receiver"):
        response = await hooks.handle(delivery.body, delivery.headers)
    assert response.status == 500
    error = body_of(response)["error"]
    assert error["type"] == "handler_error"
    assert "hunter2" not in response.body.decode()
    trace_id = error["message"].rsplit(" ", 1)[-1]
    assert any(trace_id in r.getMessage() and r.exc_info for r in caplog.records)


async def test_unhandled_events_go_to_the_default_handler(signed: Sign) -> None:
    hooks = Webhooks(secret=SECRET)
    seen: list[Event[EventPayload]] = []
    hooks.default(seen.append)
    known = signed("credits.low", {"remaining": 1, "threshold": 2, "userId": "u"})
    future = signed("fabric.paused", {"executionId": "exec_1"})
    for delivery in (known, future):
        response = await hooks.handle(delivery.body, delivery.headers)
        assert body_of(response)["status"] == "processed"
    assert [e.event for e in seen] == ["credits.low", "fabric.paused"]
    assert isinstance(seen[0].data, CreditsLow)
    assert type(seen[1].data) is EventPayload
    assert seen[1].data.model_extra == {"executionId": "exec_1"}


async def test_without_a_handler_the_event_is_acknowledged_and_ignored(signed: Sign) -> None:
    hooks = Webhooks(secret=SECRET)
    delivery = signed("ask.message", {"sessionId": "s", "message": "hi"})
    response = await hooks.handle(delivery.body, delivery.headers)
    assert response.status == 200
    assert body_of(response)["status"] == Outcome.IGNORED


def test_registration_errors_at_decoration_time() -> None:
    hooks = Webhooks(secret=SECRET)
    with pytest.raises(UnknownEventError, match=r"fabric\.complete'.*known types: ask\.message"):
        hooks.on("fabric.complete")
    with pytest.raises(ValueError):  # UnknownEventError is a ValueError too
        hooks.on("")
    hooks.on("fabric.failed")(lambda event: None)
    with pytest.raises(DuplicateHandlerError):
        hooks.on("fabric.failed")
    hooks.default(lambda event: None)
    with pytest.raises(DuplicateHandlerError):
        hooks.default(lambda event: None)
    with pytest.raises(ValueError, match="secret"):
        Webhooks(secret=[])
    with pytest.raises(ValueError, match="secret"):
        Webhooks(secret="")
    with pytest.raises(ValueError, match="tolerance"):
        Webhooks(secret=SECRET, tolerance=-1)


async def test_idempotency_runs_a_redelivered_event_once(signed: Sign, tmp_path: Path) -> None:
    store = SQLiteIdempotencyStore(tmp_path / "events.db")
    hooks = Webhooks(secret=SECRET, idempotency=store)
    runs: list[str] = []
    hooks.on("fabric.completed")(lambda event: runs.append(event.event_id))
    try:
        first = signed(event_id="evt_same", attempt=1)
        retry = signed(event_id="evt_same", attempt=2)
        assert body_of(await hooks.handle(first.body, first.headers))["status"] == "processed"
        response = await hooks.handle(retry.body, retry.headers)
        assert response.status == 200
        assert body_of(response)["status"] == "duplicate"
        assert runs == ["evt_same"]
    finally:
        await hooks.aclose()


async def test_a_failed_handler_releases_its_claim_for_the_retry(
    signed: Sign, tmp_path: Path
) -> None:
    hooks = Webhooks(secret=SECRET, idempotency=SQLiteIdempotencyStore(tmp_path / "e.db"))
    attempts: list[int | None] = []

    @hooks.on("fabric.completed")
    async def flaky(event: Event[FabricCompleted]) -> None:
        attempts.append(event.delivery.attempt)
        if len(attempts) == 1:
            raise ConnectionError("downstream down")

    try:
        for attempt, status in ((1, 500), (2, 200), (3, 200)):
            delivery = signed(event_id="evt_flaky", attempt=attempt)
            assert (await hooks.handle(delivery.body, delivery.headers)).status == status
        assert attempts == [1, 2]
    finally:
        await hooks.aclose()


async def test_concurrent_deliveries_of_one_event_run_the_handler_once(
    signed: Sign, tmp_path: Path
) -> None:
    hooks = Webhooks(secret=SECRET, idempotency=SQLiteIdempotencyStore(tmp_path / "e.db"))
    runs: list[str] = []
    release = asyncio.Event()

    @hooks.on("fabric.completed")
    async def slow(event: Event[FabricCompleted]) -> None:
        runs.append(event.event_id)
        await release.wait()

    try:
        deliveries = [signed(event_id="evt_twice", attempt=n) for n in (1, 2, 3)]
        first = asyncio.create_task(hooks.handle(deliveries[0].body, deliveries[0].headers))
        while not runs:
            await asyncio.sleep(0.01)
        busy = await asyncio.gather(*(hooks.handle(d.body, d.headers) for d in deliveries[1:]))
        release.set()
        assert (await first).status == 200
        for response in busy:
            assert response.status == 503
            assert response.headers["retry-after"] == "5"
            assert body_of(response)["error"]["type"] == "event_in_progress"
        later = await hooks.handle(deliveries[2].body, deliveries[2].headers)
        assert body_of(later)["status"] == "duplicate"
        assert runs == ["evt_twice"]
    finally:
        await hooks.aclose()


async def test_503_when_the_idempotency_store_is_down(signed: Sign) -> None:
    store = RedisIdempotencyStore("redis://127.0.0.1:1/0")  # nothing listens there
    hooks = Webhooks(secret=SECRET, idempotency=store)
    ran: list[object] = []
    hooks.on("fabric.completed")(ran.append)
    delivery = signed()
    response = await hooks.handle(delivery.body, delivery.headers)
    await hooks.aclose()
    assert response.status == 503
    assert body_of(response)["error"]["type"] == "service_unavailable"
    assert not ran


def test_handle_sync_from_many_threads_shares_one_loop(signed: Sign, tmp_path: Path) -> None:
    hooks = Webhooks(secret=SECRET, idempotency=SQLiteIdempotencyStore(tmp_path / "e.db"))
    loops: set[int] = set()

    @hooks.on("fabric.completed")
    async def completed(event: Event[FabricCompleted]) -> None:
        loops.add(id(asyncio.get_running_loop()))

    deliveries = [signed() for _ in range(8)]
    statuses: list[int] = []
    threads = [
        threading.Thread(
            target=lambda d=d: statuses.append(hooks.handle_sync(d.body, d.headers).status)
        )
        for d in deliveries
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    hooks.close()
    assert statuses == [200] * 8
    assert len(loops) == 1
    hooks.close()  # twice is fine
