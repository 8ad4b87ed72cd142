"""How the client reports failures and when it retries: the real service for the API's own
errors, and a real HTTP server on 127.0.0.1 standing in for failures the service cannot be
made to produce on demand (503s, a proxy's HTML page, a Retry-After, a dropped connection).
The failures and retries are checked on both clients (`kind`): they share one definition."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import pytest
from aiohttp import web
from client_support import CLIENTS, FAST_RETRIES, RunningApi, either_client, shared_api

from promptha_webhooks.client import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    Client,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    RetryPolicy,
    ServiceUnavailableError,
)

from support import ADMIN_KEY, ReceivedRequest, Receiver, free_port

EVENT_JSON = {
    "object": "event",
    "id": "evt_1",
    "accountId": "acct_1",
    "event": "credits.low",
    "data": {"remaining": 1, "threshold": 5, "userId": "u_1", "eventId": "evt_1"},
    "timestamp": 1700000000,
    "isTest": False,
    "createdAt": "2024-01-01T00:00:00Z",
    "deliveryCount": 0,
}
LOW = {"remaining": 1, "threshold": 5, "userId": "u_1"}


@pytest.fixture
def api(request: pytest.FixtureRequest) -> RunningApi:
    return shared_api(request, "sqlite")


@pytest.fixture(params=CLIENTS)
def kind(request: pytest.FixtureRequest) -> str:
    """`Client` or `AsyncClient`."""
    kind: str = request.param
    return kind


def answers(receiver: Receiver, path: str, replies: list[tuple[int, Any, dict[str, str]]]) -> None:
    """Make the receiver answer requests on `path` with these (status, JSON or text, headers)."""

    async def respond(_: ReceivedRequest) -> web.Response:
        status, body, headers = replies.pop(0) if len(replies) > 1 else replies[0]
        if isinstance(body, str):
            return web.Response(status=status, text=body, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    receiver.responders[path] = respond


def test_api_errors_carry_type_message_field_and_status(api: RunningApi) -> None:
    with api.client() as client:
        with pytest.raises(InvalidRequestError) as invalid:
            client.webhooks.create("http://127.0.0.1:9/hooks", ["fabric.exploded"])
        assert invalid.value.status_code == 400
        assert invalid.value.error_type == "invalid_request"
        assert invalid.value.field == "events[0]"
        assert "fabric.exploded" in invalid.value.message
        assert "fabric.exploded" in str(invalid.value) and "HTTP 400" in str(invalid.value)

        with pytest.raises(NotFoundError) as missing:
            client.deliveries.get("dlv_nope")
        assert missing.value.message == "No delivery dlv_nope"

        with pytest.raises(PayloadTooLargeError) as too_large:
            client.events.publish("credits.low", {**LOW, "note": "x" * 300_000})
        assert too_large.value.status_code == 413

    with Client("pwk_wrong", api.url) as stranger, pytest.raises(AuthenticationError) as denied:
        stranger.webhooks.list()
    assert denied.value.status_code == 401
    assert isinstance(denied.value, ApiError)


async def test_empty_ids_are_refused_before_sending(kind: str, receiver: Receiver) -> None:
    async with either_client(kind, "pwk_x", receiver.base_url) as run:
        with pytest.raises(ValueError, match="webhook_id"):
            await run(lambda client: client.webhooks.get(""))
        with pytest.raises(ValueError, match="delivery_id"):
            await run(lambda client: client.deliveries.retry(""))
    assert receiver.requests == []


async def test_unreachable_api_raises_a_connection_error(kind: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    async with either_client(kind, "pwk_x", url, FAST_RETRIES) as run:
        with pytest.raises(ApiConnectionError) as raised:
            await run(lambda client: client.event_types.list())
    assert raised.value.status_code is None
    assert url in raised.value.message
    assert time.monotonic() - started < 5


async def test_a_refused_connection_is_retried_until_the_api_listens(kind: str) -> None:
    port = free_port()
    created = {
        "account": {"id": "acct_1", "name": "Late", "createdAt": "2024-01-01T00:00:00Z"},
        "apiKey": {
            "id": "key_1",
            "accountId": "acct_1",
            "prefix": "pwk_abc",
            "createdAt": "2024-01-01T00:00:00Z",
            "key": "pwk_abcdef",
        },
    }
    arrived: list[float] = []

    async def create(_: web.Request) -> web.Response:
        arrived.append(time.monotonic())
        return web.json_response(created, status=201)

    app = web.Application()
    app.router.add_post("/v1/accounts", create)
    runner = web.AppRunner(app)
    await runner.setup()

    async def listen_later() -> None:
        await asyncio.sleep(0.3)  # the first tries are refused: nothing listens yet
        await web.TCPSite(runner, "127.0.0.1", port).start()

    patient = RetryPolicy(max_retries=100, initial_delay_s=0.02, max_delay_s=0.05)
    late = asyncio.create_task(listen_later())
    try:
        async with either_client(kind, ADMIN_KEY, f"http://127.0.0.1:{port}", patient) as run:
            # Even a call that is not idempotent: a refused connection never reached the API.
            account = await run(lambda client: client.accounts.create("Late"))
        assert account.account.name == "Late"
        assert len(arrived) == 1
    finally:
        await late
        await runner.cleanup()


async def test_reads_are_retried_on_503_then_succeed(kind: str, receiver: Receiver) -> None:
    answers(
        receiver,
        "/v1/event-types",
        [
            (503, {"error": {"type": "service_unavailable", "message": "db down"}}, {}),
            (502, "<html>bad gateway</html>", {}),
            (200, [], {}),
        ],
    )
    async with either_client(kind, "pwk_x", receiver.base_url, FAST_RETRIES) as run:
        assert await run(lambda client: client.event_types.list()) == []
    assert len(receiver.on("/v1/event-types")) == 3


async def test_publish_retries_under_one_idempotency_key(kind: str, receiver: Receiver) -> None:
    unavailable = {"error": {"type": "service_unavailable", "message": "db down"}}
    answers(
        receiver,
        "/v1/events",
        [(503, unavailable, {}), (503, unavailable, {}), (201, EVENT_JSON, {})],
    )
    async with either_client(kind, "pwk_x", receiver.base_url, FAST_RETRIES) as run:
        event = await run(lambda client: client.events.publish("credits.low", LOW))
    assert event.id == "evt_1"
    tries = receiver.on("/v1/events")
    assert len(tries) == 3
    keys = {request.headers["Idempotency-Key"] for request in tries}
    assert len(keys) == 1 and keys.pop().startswith("pwc_")
    assert all(json.loads(r.body) == {"event": "credits.low", "data": LOW} for r in tries)


async def test_retries_give_up_with_the_last_error(kind: str, receiver: Receiver) -> None:
    unavailable = {"error": {"type": "service_unavailable", "message": "db down"}}
    answers(receiver, "/v1/webhooks", [(503, unavailable, {})])
    async with either_client(kind, "pwk_x", receiver.base_url, FAST_RETRIES) as run:
        with pytest.raises(ServiceUnavailableError) as raised:
            await run(lambda client: client.webhooks.list())
        assert raised.value.message == "db down"
        assert len(receiver.on("/v1/webhooks")) == 1 + FAST_RETRIES.max_retries
        # Creating a webhook is not idempotent: one try only.
        with pytest.raises(ServiceUnavailableError):
            await run(lambda client: client.webhooks.create("https://a.example", ["credits.low"]))
        assert len(receiver.on("/v1/webhooks")) == 2 + FAST_RETRIES.max_retries


async def test_retry_after_is_honoured(kind: str, receiver: Receiver) -> None:
    answers(receiver, "/v1/event-types", [(503, "busy", {"Retry-After": "1"}), (200, [], {})])
    async with either_client(kind, "pwk_x", receiver.base_url, RetryPolicy(2, 0.01, 2.0)) as run:
        await run(lambda client: client.event_types.list())
    first, second = receiver.on("/v1/event-types")
    assert second.received_at - first.received_at >= 0.9


async def test_non_json_errors_quote_the_body(kind: str, receiver: Receiver) -> None:
    answers(receiver, "/v1/webhooks/test", [(502, "<html>Bad gateway</html>", {})])
    async with either_client(kind, "pwk_x", receiver.base_url) as run:
        with pytest.raises(InternalServerError) as raised:
            await run(lambda client: client.webhooks.test("wh_1", "credits.low"))
    assert raised.value.status_code == 502
    assert "Bad gateway" in raised.value.message
    assert len(receiver.on("/v1/webhooks/test")) == 1


async def test_a_connection_dropped_after_the_request_is_retried_only_when_safe(kind: str) -> None:
    """The API may have acted on a request whose answer never came: a read is tried again, a
    webhook creation is not (it could create two); both end in an ApiConnectionError."""
    arrived: list[bytes] = []

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *(\d+)", head)
        await reader.readexactly(int(length.group(1)) if length else 0)
        arrived.append(head.split(b" ", 2)[1])
        writer.close()  # the request was read whole; no answer

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with either_client(kind, "pwk_x", f"http://127.0.0.1:{port}", FAST_RETRIES) as run:
            with pytest.raises(ApiConnectionError, match="GET /v1/webhooks"):
                await run(lambda client: client.webhooks.list())
            assert arrived == [b"/v1/webhooks"] * (1 + FAST_RETRIES.max_retries)
            arrived.clear()
            with pytest.raises(ApiConnectionError, match="POST /v1/webhooks"):
                await run(lambda client: client.webhooks.create("https://a.example", ["x"]))
            assert arrived == [b"/v1/webhooks"]
    finally:
        server.close()
        await server.wait_closed()
