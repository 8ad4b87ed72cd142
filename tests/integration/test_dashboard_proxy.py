"""The dashboard's Proxy field (webhook form, Delivery section; over ASGI, both backends): a
proxy saved on Add carries the save-and-test delivery through a real proxy (proxy.py), the
edit page never shows its password, an empty field keeps it, "Stop using this proxy" clears
it, and a bad URL is shown next to the field and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_dashboard import add_webhook, csrf_of, key_of, new_client, sign_in

from promptha_webhooks.config import Mode
from proxy_support import running_proxy

from support import Receiver, Service, ServiceFactory


async def _webhook(service: Service, auth: dict[str, str], wid: str) -> dict[str, Any]:
    found: dict[str, Any] = (await service.client.get(f"/v1/webhooks/{wid}", headers=auth)).json()
    return found


async def test_add_with_a_proxy_then_keep_and_clear_it(
    service: Service, receiver: Receiver, tmp_path: Path
) -> None:
    _account, auth = await service.create_account()
    port = receiver.base_url.rsplit(":", 1)[1]
    with running_proxy(tmp_path, basic_auth="dash:pa55word") as proxy:
        async with new_client(service) as browser:
            await sign_in(browser, key_of(auth))
            created = await add_webhook(
                browser,
                receiver.url("/dash"),
                action="save_test",
                proxy_url=f"http://dash:pa55word@127.0.0.1:{proxy.port}",
            )
            assert created.status_code == 201, created.text
            await receiver.wait_for(1, path="/dash")
            assert proxy.upstreams() == [f"127.0.0.1:{port}"], proxy.log()
            [hook] = (await service.client.get("/v1/webhooks", headers=auth)).json()["data"]
            masked = f"http://dash:****@127.0.0.1:{proxy.port}"
            assert hook["proxyUrl"] == masked

            path = f"/dashboard/webhooks/{hook['id']}"
            page = await browser.get(path)
            assert masked in page.text and "pa55word" not in page.text
            token = await csrf_of(browser, path)
            fields = {
                "csrf_token": token,
                "url": receiver.url("/dash"),
                "events": "fabric.completed",
            }
            kept = await browser.post(path, data=fields)
            assert kept.status_code == 303, kept.text
            assert (await _webhook(service, auth, hook["id"]))["proxyUrl"] == masked
            cleared = await browser.post(path, data=fields | {"clear_proxy": "on"})
            assert cleared.status_code == 303, cleared.text
            assert (await _webhook(service, auth, hook["id"]))["proxyUrl"] is None


async def test_bad_proxy_urls_are_shown_next_to_the_field(service: Service) -> None:
    _account, auth = await service.create_account()
    cases = [
        "https://proxy.example:3128",
        "http://proxy.example",
        "http://proxy.example:3128/path",
        "http://:pw@proxy.example:3128",
        "http://prox\u00ff.example:3128",
    ]
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        for bad in cases:
            response = await add_webhook(browser, "http://127.0.0.1:9/x", proxy_url=bad)
            assert response.status_code == 400, bad
            assert 'id="proxyUrl-error"' in response.text, (bad, response.text)
        assert (await service.client.get("/v1/webhooks", headers=auth)).json()["data"] == []
        webhook = await service.create_webhook(
            auth, url="http://127.0.0.1:9/x", proxyUrl="http://127.0.0.1:3128"
        )
        path = f"/dashboard/webhooks/{webhook['id']}"
        token = await csrf_of(browser, path)
        fields = {"csrf_token": token, "url": "http://127.0.0.1:9/x", "events": "fabric.completed"}
        for bad in cases:
            response = await browser.post(path, data=fields | {"proxy_url": bad})
            assert response.status_code == 400, bad
            assert 'id="proxyUrl-error"' in response.text, bad
        after = await _webhook(service, auth, webhook["id"])
        assert after["proxyUrl"] == "http://127.0.0.1:3128"


async def test_production_refuses_a_private_proxy_next_to_the_field(
    make_service: ServiceFactory,
) -> None:
    async def public(host: str, port: int) -> list[str]:
        return ["93.184.215.14"]

    service = await make_service(mode=Mode.PRODUCTION, resolve=public)
    _account, auth = await service.create_account()
    async with new_client(service, "https") as browser:  # production cookies are Secure
        await sign_in(browser, key_of(auth))
        response = await add_webhook(
            browser, "https://receiver.example/x", proxy_url="http://10.0.0.8:3128"
        )
        assert response.status_code == 400
        assert 'id="proxyUrl-error"' in response.text, response.text
        assert "10.0.0.0/8" in response.text
    assert (await service.client.get("/v1/webhooks", headers=auth)).json()["data"] == []
