"""A receiver's odd answer is logged and shown, never an error: header bytes that are not UTF-8
(aiohttp keeps them as surrogate escapes), NUL, and JSON nested deeper than any page indents,
through a real HTTP server on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from support import Service

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
DEEP = b"[" * 5000 + b"]" * 5000


def raw_answer(head: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\n"
        + head
        + b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )


@pytest.fixture
async def raw_receiver() -> AsyncIterator[Callable[[bytes], str]]:
    """An HTTP server that answers every request with the bytes it is given."""
    answers: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: (\d+)", head)
        await reader.readexactly(int(length.group(1)) if length else 0)
        writer.write(answers[-1])
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    def answering(raw: bytes) -> str:
        answers.append(raw)
        return f"http://127.0.0.1:{port}/hook"

    try:
        yield answering
    finally:
        server.close()
        await server.wait_closed()


async def test_odd_answers_are_logged_and_shown(
    service: Service, raw_receiver: Callable[[bytes], str]
) -> None:
    _account, auth = await service.create_account()
    url = raw_receiver(raw_answer(b"X-Odd: a\xff\xfeb\r\nX-Nul: a\x01b\r\n", DEEP + b"\x00"))
    webhook = await service.create_webhook(auth, url=url)
    response = await service.client.post(
        "/v1/webhooks/test",
        json={"webhookId": webhook["id"], "event": "fabric.completed"},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["success"] is True
    [attempt] = result["delivery"]["attempts"]
    assert attempt["responseHeaders"]["x-odd"] == "a\ufffd\ufffdb"
    assert attempt["responseBody"] == DEEP.decode() + "\ufffd"
    delivery_id = result["delivery"]["id"]
    detail = await service.client.get(f"/v1/deliveries/{delivery_id}", headers=auth)
    assert detail.status_code == 200, detail.text
    assert detail.json()["attempts"] == [attempt]

    browser = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.app), base_url="http://testserver", timeout=60
    )
    try:
        login = await browser.get("/dashboard/login")
        token = CSRF_RE.search(login.text)
        assert token
        key = auth["Authorization"].removeprefix("Bearer ")
        await browser.post("/dashboard/login", data={"csrf_token": token.group(1), "api_key": key})
        page = await browser.get(f"/dashboard/deliveries/{delivery_id}")
        assert page.status_code == 200, page.text[:500]
        assert DEEP.decode() in page.text  # as text: too deep to indent
        assert "a\ufffd\ufffdb" in page.text
        # The dashboard's own test form shows the same answer.
        detail_page = await browser.get(f"/dashboard/webhooks/{webhook['id']}")
        csrf = CSRF_RE.search(detail_page.text)
        assert csrf
        sent = await browser.post(
            f"/dashboard/webhooks/{webhook['id']}/test",
            data={"csrf_token": csrf.group(1), "event": "fabric.completed", "payload": "{}"},
            headers={"HX-Request": "true"},
        )
        assert sent.status_code == 200, sent.text[:500]
        assert "Delivered" in sent.text and DEEP.decode() in sent.text
    finally:
        await browser.aclose()
