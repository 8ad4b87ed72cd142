"""The listen stream against the real server: events for the account arrive over SSE as
signed attempts; the reported local answer lands in the delivery log; closing the stream
disables the session's webhook."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import ADMIN_KEY, Receiver, ServiceProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess(database_url, tmp_path / "serve.log")
    try:
        yield process
    finally:
        process.stop()


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    event, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif line == "" and data:
            yield event, json.loads(data)
            event, data = "message", ""


async def test_listen_streams_signed_deliveries(server: ServiceProcess, receiver: Receiver) -> None:
    server.start()
    await server.wait_ready()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = (await client.post("/v1/accounts", json={"name": "Dev"}, headers=admin)).json()
        auth = {"Authorization": f"Bearer {created['apiKey']['key']}"}
        async with client.stream(
            "GET", "/v1/listen", params={"events": "credits.low", "device": "laptop"}, headers=auth
        ) as stream:
            events = sse_events(stream)
            kind, ready = await anext(events)
            assert kind == "ready"
            assert ready["events"] == ["credits.low"] and ready["device"] == "laptop"
            published = (
                await client.post(
                    "/v1/events",
                    json={
                        "event": "credits.low",
                        "data": {"remaining": 5, "threshold": 10, "userId": "u"},
                    },
                    headers=auth,
                )
            ).json()
            assert published["deliveryCount"] == 1
            kind, delivery = await asyncio.wait_for(anext(events), 10)
            assert kind == "delivery"
            assert delivery["eventId"] == published["id"]
            headers, body = delivery["headers"], delivery["body"].encode()
            expected = hmac.new(
                ready["secret"].encode(),
                f"{headers['x-promptha-timestamp']}.".encode() + body,
                hashlib.sha256,
            ).hexdigest()
            assert headers["x-promptha-signature"] == expected
            # What the CLI does: replay to the local URL and report the answer.
            async with httpx.AsyncClient() as local:
                answer = await local.post(receiver.url("/local"), content=body, headers=headers)
            report = await client.post(
                f"/v1/listen/deliveries/{delivery['deliveryId']}",
                json={
                    "status": answer.status_code,
                    "headers": dict(answer.headers),
                    "body": answer.text,
                    "durationMs": 3.5,
                    "requestHeaders": headers,
                },
                headers=auth,
            )
            assert report.status_code == 200, report.text
            detail = report.json()
            assert detail["status"] == "delivered"
            [attempt] = detail["attempts"]
            assert attempt["trigger"] == "listen"
            assert attempt["responseStatus"] == 200
            assert attempt["responseBody"] == "answer 200"
            [received] = receiver.on("/local")
            assert received.body == body
        # Stream closed: the session's webhook is disabled, so nothing piles up for it.
        webhook_id = ready["webhookId"]
        for _ in range(50):
            webhook = (await client.get(f"/v1/webhooks/{webhook_id}", headers=auth)).json()
            if not webhook["enabled"]:
                break
            await asyncio.sleep(0.1)
        assert webhook["enabled"] is False
        assert webhook["disabledReason"] == "listen_closed"
        assert webhook["url"] == "listen://laptop"
        later = (
            await client.post(
                "/v1/events",
                json={
                    "event": "credits.low",
                    "data": {"remaining": 1, "threshold": 2, "userId": "u"},
                },
                headers=auth,
            )
        ).json()
        assert later["deliveryCount"] == 0


async def test_a_second_session_takes_the_stream_over_and_the_first_is_told(
    server: ServiceProcess,
) -> None:
    server.start()
    await server.wait_ready()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    credits_low = {"event": "credits.low", "data": {"remaining": 5, "threshold": 10, "userId": "u"}}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = (await client.post("/v1/accounts", json={"name": "Dev"}, headers=admin)).json()
        auth = {"Authorization": f"Bearer {created['apiKey']['key']}"}
        params = {"events": "credits.low", "device": "laptop"}
        async with client.stream("GET", "/v1/listen", params=params, headers=auth) as first:
            first_events = sse_events(first)
            kind, first_ready = await anext(first_events)
            assert kind == "ready" and first_ready["replaced"] is None
            published = (await client.post("/v1/events", json=credits_low, headers=auth)).json()
            kind, taken = await asyncio.wait_for(anext(first_events), 10)
            assert kind == "delivery" and taken["eventId"] == published["id"]
            # The first session took that delivery and never answers it. A second one opens.
            async with client.stream("GET", "/v1/listen", params=params, headers=auth) as second:
                second_events = sse_events(second)
                kind, second_ready = await anext(second_events)
                assert kind == "ready"
                assert second_ready["replaced"] == first_ready["session"]
                assert second_ready["webhookId"] == first_ready["webhookId"]
                assert second_ready["secret"] == first_ready["secret"]
                # The first is told, and its stream ends.
                kind, closed = await asyncio.wait_for(anext(first_events), 10)
                assert kind == "closed" and closed["reason"] == "replaced"
                assert "took the stream over" in closed["message"]
                with pytest.raises(StopAsyncIteration):
                    await asyncio.wait_for(anext(first_events), 10)
                # What the first took but never answered goes to the second, signed anew.
                kind, handed = await asyncio.wait_for(anext(second_events), 10)
                assert kind == "delivery" and handed["deliveryId"] == taken["deliveryId"]
                # The first session's end left the webhook to the second: still enabled.
                webhook_id = second_ready["webhookId"]
                webhook = (await client.get(f"/v1/webhooks/{webhook_id}", headers=auth)).json()
                assert webhook["enabled"] is True
                later = (await client.post("/v1/events", json=credits_low, headers=auth)).json()
                assert later["deliveryCount"] == 1
                kind, delivery = await asyncio.wait_for(anext(second_events), 10)
                assert kind == "delivery" and delivery["eventId"] == later["id"]

                # A client reconnecting with its own session resumes it: it replaces nobody.
                resumed = params | {"resume": second_ready["session"]}
                async with client.stream(
                    "GET", "/v1/listen", params=resumed, headers=auth
                ) as again:
                    kind, again_ready = await anext(sse_events(again))
                    assert kind == "ready" and again_ready["replaced"] is None
        # The last session closed: the webhook is disabled, as after any listen.
        for _ in range(50):
            webhook = (await client.get(f"/v1/webhooks/{webhook_id}", headers=auth)).json()
            if not webhook["enabled"]:
                break
            await asyncio.sleep(0.1)
        assert webhook["disabledReason"] == "listen_closed"


async def test_deleting_a_listen_sessions_webhook_ends_its_stream(server: ServiceProcess) -> None:
    server.start()
    await server.wait_ready()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = (await client.post("/v1/accounts", json={"name": "Dev"}, headers=admin)).json()
        auth = {"Authorization": f"Bearer {created['apiKey']['key']}"}
        async with client.stream("GET", "/v1/listen", headers=auth) as stream:
            events = sse_events(stream)
            _kind, ready = await anext(events)
            deleted = await client.delete(f"/v1/webhooks/{ready['webhookId']}", headers=auth)
            assert deleted.status_code == 204
            kind, closed = await asyncio.wait_for(anext(events), 10)
            assert kind == "closed" and closed["reason"] == "webhook_deleted"


async def test_bad_listen_input_is_a_400_and_opens_nothing(server: ServiceProcess) -> None:
    server.start()
    await server.wait_ready()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = (await client.post("/v1/accounts", json={"name": "Dev"}, headers=admin)).json()
        auth = {"Authorization": f"Bearer {created['apiKey']['key']}"}
        for query, field in (
            ("device=a%20b", "device"),
            ("device=" + "d" * 65, "device"),
            ("device=%C3%A9%ED%A0%80", "device"),  # é and a lone surrogate, as UTF-8 bytes
            ("events=fabric.completed,nope", "events[1]"),
            ("resume=" + "s" * 65, "resume"),
        ):
            response = await client.get(f"/v1/listen?{query}", headers=auth)
            assert response.status_code == 400, (query, response.text)
            error = response.json()["error"]
            assert error["type"] == "invalid_request" and error["field"] == field, error
        hooks = (await client.get("/v1/webhooks", headers=auth)).json()["data"]
        assert hooks == []
