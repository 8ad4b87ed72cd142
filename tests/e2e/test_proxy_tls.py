"""`serve` with PROMPTHA_WEBHOOKS_PROXY_URL delivering to a TLS receiver through a real proxy
(proxy.py): the proxy is asked to CONNECT to the receiver's checked address, the TLS handshake
inside the tunnel names the receiver's host (SNI) and checks its certificate against that name
(a certificate of a test CA the process trusts through SSL_CERT_FILE), and the signature
verifies at the receiver. A URL naming the address instead of the certificate's name fails
with "tls error": the certificate really is checked through the tunnel."""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from promptha_webhooks.receiver.verify import verify
from promptha_webhooks.store.database import migrate
from proxy_support import make_certificates, running_proxy

from support import ADMIN_KEY, ReceivedRequest, ServiceProcess

pytestmark = pytest.mark.slow

WAIT_S = 30.0


async def _wait_for(client: httpx.AsyncClient, url: str, auth: dict[str, str]) -> dict[str, Any]:
    """The delivery of a webhook once it has a final status (bounded)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        page = (await client.get(url, headers=auth)).json()["data"]
        if page and page[0]["status"] in ("delivered", "failed"):
            detail: dict[str, Any] = (
                await client.get(
                    url.split("/v1/")[0] + f"/v1/deliveries/{page[0]['id']}", headers=auth
                )
            ).json()
            return detail
        await asyncio.sleep(0.1)
    raise AssertionError(f"no final delivery at {url}")


async def test_tls_receiver_through_the_proxy_with_sni_and_certificate_check(
    tmp_path: Path,
) -> None:
    certificates = make_certificates(tmp_path, ["localhost"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates.cert, certificates.key)
    server_names: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: server_names.append(name)
    received: list[ReceivedRequest] = []

    async def handle(request: web.Request) -> web.Response:
        received.append(
            ReceivedRequest(request.path, dict(request.headers), await request.read(), 0.0)
        )
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    database_url = f"sqlite:///{tmp_path / 'promptha.db'}"
    await migrate(database_url)
    try:
        with running_proxy(tmp_path) as proxy:
            service = ServiceProcess(
                database_url,
                tmp_path / "serve.log",
                PROMPTHA_WEBHOOKS_PROXY_URL=proxy.url,
                SSL_CERT_FILE=str(certificates.ca),
                PROMPTHA_WEBHOOKS_RETRY_SCHEDULE="0",
            )
            try:
                service.start()
                await service.wait_ready()
                async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
                    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
                    created = (
                        await client.post("/v1/accounts", json={"name": "Tls"}, headers=admin)
                    ).json()
                    auth = {"Authorization": f"Bearer {created['apiKey']['key']}"}
                    by_name = (
                        await client.post(
                            "/v1/webhooks",
                            json={
                                "url": f"https://localhost:{port}/named",
                                "events": ["credits.low"],
                            },
                            headers=auth,
                        )
                    ).json()
                    by_address = (
                        await client.post(
                            "/v1/webhooks",
                            json={
                                "url": f"https://127.0.0.1:{port}/address",
                                "events": ["credits.low"],
                            },
                            headers=auth,
                        )
                    ).json()
                    published = await client.post(
                        "/v1/events",
                        json={
                            "account": created["account"]["id"],
                            "event": "credits.low",
                            "data": {"remaining": 120, "threshold": 500, "userId": "u"},
                        },
                        headers=admin,
                    )
                    assert published.status_code == 201, published.text
                    named = await _wait_for(
                        client, f"{service.url}/v1/webhooks/{by_name['id']}/deliveries", auth
                    )
                    addressed = await _wait_for(
                        client, f"{service.url}/v1/webhooks/{by_address['id']}/deliveries", auth
                    )
            finally:
                service.stop()
            proxy.stop()
            requests = proxy.requests()
    finally:
        await runner.cleanup()

    assert named["status"] == "delivered", (named, service.log())
    [request] = [r for r in received if r.path == "/named"]
    assert request.headers["Host"] == f"localhost:{port}"
    verify(request.body, request.headers, by_name["secret"])
    assert "localhost" in server_names
    # The certificate names localhost only: reached by its address, the check fails.
    assert addressed["status"] == "failed"
    assert addressed["attempts"][0]["error"].startswith("tls error"), addressed
    assert not [r for r in received if r.path == "/address"]
    # Every connection was a CONNECT to the receiver's address, none named it.
    assert requests and set(requests) == {("CONNECT", f"127.0.0.1:{port}")}, requests
