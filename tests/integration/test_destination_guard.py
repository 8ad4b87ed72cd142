"""The destination guard through the running service: the API and the dashboard refuse every
address trick with a 400 naming the field and store nothing; URLs stored in development mode
make production mode open no connection (scheduled attempts, resends and test events), each
refused attempt logged as `blocked: …`; and the connection goes to the checked address with
the normalised host in Host and TLS SNI."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from promptha_webhooks.config import Mode

from destination_tricks import TRICKS, Expect, resolve
from support import IN_CI, Receiver, Service, ServiceFactory

EVENTS = ["fabric.completed"]
PAYLOAD = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}
SCHEDULED_ATTEMPTS = 6  # support.FAST_SCHEDULE
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
FULLWIDTH_PINNED = "ＰＩＮＮＥＤ"  # noqa: RUF001  (pinned, in fullwidth letters)


def as_json(body: dict[str, Any]) -> dict[str, Any]:
    """Request arguments for a JSON body written with \\u escapes, so a lone surrogate is sent
    the way JSON allows (httpx's own encoder would refuse it)."""
    return {"content": json.dumps(body), "headers": {"content-type": "application/json"}}


def check_refusal(response: httpx.Response) -> str | None:
    """None if `response` is the 400 a refused URL must get, else what is wrong with it."""
    if response.status_code != 400:
        return f"status {response.status_code}: {response.text[:200]}"
    error = response.json().get("error", {})
    if error.get("type") != "invalid_request" or error.get("field") != "url":
        return f"error body {error}"
    if not error.get("message"):
        return "no message"
    return None


async def stored_urls(service: Service, auth: dict[str, str]) -> list[str]:
    urls: list[str] = []
    cursor: str | None = None
    for _page in range(len(TRICKS)):
        params: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        page = (await service.client.get("/v1/webhooks", params=params, headers=auth)).json()
        urls += [w["url"] for w in page["data"]]
        cursor = page["nextCursor"]
        if cursor is None:
            return urls
    raise AssertionError("more pages than webhooks")


@pytest.mark.parametrize("mode", [Mode.PRODUCTION, Mode.DEVELOPMENT])
async def test_create_and_update_answer_400_for_every_refused_trick(
    make_service: ServiceFactory, mode: Mode
) -> None:
    service = await make_service(mode=mode, resolve=resolve)
    _account, auth = await service.create_account()
    kept = await service.create_webhook(auth, url="https://public.example/kept")
    allowed_urls: list[str] = []
    wrong: list[str] = []
    for trick in TRICKS:
        refused = (
            trick.refused_in_production
            if mode is Mode.PRODUCTION
            else trick.expect is Expect.ALWAYS_REFUSED
        )
        create = as_json({"url": trick.url, "events": EVENTS})
        create["headers"] |= auth
        created = await service.client.post("/v1/webhooks", **create)
        if not refused:
            if created.status_code != 201:
                wrong.append(f"{trick.url!a} create: {created.status_code} {created.text[:200]}")
            else:
                allowed_urls.append(trick.url)
            continue
        problem = check_refusal(created)
        if problem:
            wrong.append(f"{trick.url!a} create: {problem}")
        update = as_json({"url": trick.url})
        update["headers"] |= auth
        updated = await service.client.patch(f"/v1/webhooks/{kept['id']}", **update)
        problem = check_refusal(updated)
        if problem:
            wrong.append(f"{trick.url!a} update: {problem}")
    assert wrong == [], "\n".join(wrong)
    # Nothing refused was stored, and the refused updates changed nothing.
    assert sorted(await stored_urls(service, auth)) == sorted([kept["url"], *allowed_urls])


async def test_dashboard_form_refuses_what_the_api_refuses(make_service: ServiceFactory) -> None:
    service = await make_service(mode=Mode.PRODUCTION, resolve=resolve)
    _account, auth = await service.create_account()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.app), base_url="https://testserver"
    ) as browser:
        login = await browser.get("/dashboard/login")
        token = CSRF_RE.search(login.text)
        assert token
        api_key = auth["Authorization"].removeprefix("Bearer ")
        signed_in = await browser.post(
            "/dashboard/login", data={"csrf_token": token.group(1), "api_key": api_key}
        )
        assert signed_in.status_code == 303
        for url in ("https://[64:ff9b::7f00:1]/hook", "https://192.0.0.192/", "https://0x7f.1/"):
            page = await browser.get("/dashboard/webhooks/new")
            csrf = CSRF_RE.search(page.text)
            assert csrf
            response = await browser.post(
                "/dashboard/webhooks/new",
                data={"csrf_token": csrf.group(1), "url": url, "events": EVENTS[0]},
            )
            assert response.status_code == 400, url
            assert 'id="url-error"' in response.text and "not globally reachable" in response.text
    assert (await service.client.get("/v1/webhooks", headers=auth)).json()["data"] == []


@dataclass
class ConnectionCounter:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts and closes each."""

    port: int = 0
    accepted: int = 0

    async def handle(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        writer.close()


@pytest.fixture
async def listener() -> AsyncIterator[ConnectionCounter]:
    counter = ConnectionCounter()
    server = await asyncio.start_server(counter.handle, "127.0.0.1", 0)
    counter.port = server.sockets[0].getsockname()[1]
    try:
        yield counter
    finally:
        server.close()
        await server.wait_closed()


def loopback_forms(port: int) -> list[str]:
    """URL forms that all reach 127.0.0.1:`port` (the fake DNS maps localhost there)."""
    return [
        f"http://127.0.0.1:{port}/hook",
        f"https://127.0.0.1:{port}/hook",
        f"https://１２７.０.０.１:{port}/hook",  # noqa: RUF001
        f"http://１２７.０.０.１:{port}/hook",  # noqa: RUF001
        f"https://127。0。0。1:{port}/hook",
        f"https://𝟏𝟐𝟕.𝟎.𝟎.𝟏:{port}/hook",  # noqa: RUF001
        f"https://0x7f.1:{port}/hook",
        f"https://0x7f000001:{port}/hook",
        f"https://017700000001:{port}/hook",
        f"https://2130706433:{port}/hook",
        f"https://127.1:{port}/hook",
        f"https://127.0.0.1.:{port}/hook",
        f"https://127.0.0.%31:{port}/hook",
        f"https://localhost:{port}/hook",
        f"https://LOCALHOST.:{port}/hook",
        f"https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:{port}/hook",
        f"https://[::ffff:127.0.0.1]:{port}/hook",
        f"https://[::ffff:7f00:1]:{port}/hook",
    ]


async def send_test(service: Service, auth: dict[str, str], webhook_id: str) -> dict[str, Any]:
    response = await service.client.post(
        "/v1/webhooks/test",
        json={"webhookId": webhook_id, "event": EVENTS[0], "data": PAYLOAD},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_urls_stored_in_development_open_no_connection_in_production(
    database_url: str, listener: ConnectionCounter
) -> None:
    forms = loopback_forms(listener.port)
    development = ServiceFactory(database_url)
    try:
        dev = await development(mode=Mode.DEVELOPMENT, resolve=resolve)
        account_id, auth = await dev.create_account()
        webhooks = [await dev.create_webhook(auth, url=url, events=EVENTS) for url in forms]
        # Each form really reaches the listener: development mode connects to it.
        for webhook in webhooks:
            before = listener.accepted
            await send_test(dev, auth, webhook["id"])
            assert listener.accepted > before, webhook["url"]
    finally:
        await development.close()

    listener.accepted = 0
    production = ServiceFactory(database_url)
    try:
        prod = await production(mode=Mode.PRODUCTION, resolve=resolve)
        await prod.publish(account_id, EVENTS[0], PAYLOAD)
        deliveries = []
        for webhook in webhooks:
            # The development test delivery and the scheduled one, failed after every attempt.
            failed = await prod.wait_delivery(auth, webhook["id"], status="failed", count=2)
            [scheduled] = [d for d in failed if not d["isTest"]]
            deliveries.append(scheduled["id"])
        for delivery_id in deliveries:
            resent = await prod.client.post(f"/v1/deliveries/{delivery_id}/retry", headers=auth)
            assert resent.status_code == 200, resent.text
        tests = [await send_test(prod, auth, webhook["id"]) for webhook in webhooks]
        assert not any(test["success"] for test in tests)

        assert listener.accepted == 0
        attempts: list[dict[str, Any]] = []
        for delivery_id in deliveries:
            detail = await prod.client.get(f"/v1/deliveries/{delivery_id}", headers=auth)
            assert len(detail.json()["attempts"]) == SCHEDULED_ATTEMPTS + 1
            attempts += detail.json()["attempts"]
        attempts += [a for test in tests for a in test["delivery"]["attempts"]]
        assert len(attempts) == len(forms) * (SCHEDULED_ATTEMPTS + 2)
        for attempt in attempts:
            assert attempt["error"].startswith("blocked: "), attempt
            assert attempt["responseStatus"] is None
        reasons = {a["error"] for a in attempts}
        assert any("127.0.0.0/8 (Loopback" in r for r in reasons)
        assert any("Only https://" in r for r in reasons)
    finally:
        await production.close()


def self_signed_context(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a throwaway certificate (made by the openssl command)."""
    if shutil.which("openssl") is None:
        if IN_CI:
            pytest.fail("the openssl command is missing (CI=true: this test must run)")
        pytest.skip("the openssl command is missing: no certificate for the TLS listener")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=promptha-test",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_the_connection_uses_the_checked_address_and_the_normal_host(
    make_service: ServiceFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """pinned.example exists only in this test's DNS, whose answer changes on every lookup:
    the request reaches the receiver only if the client connects to the address the guard
    checked (a second lookup would send it to 192.0.2.1, where nothing answers)."""
    lookups: list[str] = []

    async def changing_dns(host: str, port: int) -> list[str]:
        lookups.append(host)
        if host != "pinned.example":
            raise OSError(f"unknown host {host}")
        return ["127.0.0.1"] if len(lookups) % 2 else ["192.0.2.1"]

    service = await make_service(mode=Mode.DEVELOPMENT, resolve=changing_dns)
    _account, auth = await service.create_account()
    http_port = receiver.base_url.rsplit(":", 1)[1]
    plain = await service.create_webhook(
        auth, url=f"http://{FULLWIDTH_PINNED}.example.:{http_port}/hook", events=EVENTS
    )
    result = await send_test(service, auth, plain["id"])
    assert result["success"] is True, result
    [request] = receiver.on("/hook")
    assert request.headers["Host"] == f"pinned.example:{http_port}"
    assert lookups == ["pinned.example"]

    names: list[str | None] = []
    context = self_signed_context(tmp_path)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)

    async def close_at_once(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(close_at_once, "127.0.0.1", 0, ssl=context)
    try:
        tls_port = server.sockets[0].getsockname()[1]
        tls = await service.create_webhook(
            auth, url=f"https://{FULLWIDTH_PINNED}.EXAMPLE:{tls_port}/hook", events=EVENTS
        )
        lookups.clear()
        result = await send_test(service, auth, tls["id"])
    finally:
        server.close()
        await server.wait_closed()
    [attempt] = result["delivery"]["attempts"]
    # The certificate is not trusted, but the handshake named the normalised host.
    assert attempt["error"].startswith("tls error"), attempt
    assert names == ["pinned.example"]
    assert lookups == ["pinned.example"]
