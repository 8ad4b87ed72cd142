"""The Proxy field of the webhook form in a real browser (Chromium, Playwright) against the
real `serve` process and a real proxy (proxy.py): Add Webhook with a proxy, the test event
goes through it, the Edit page shows the proxy with its password masked and a way back to the
server's proxy, and both pages pass axe-core (WCAG 2 A and AA)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright, expect

from proxy_support import running_proxy

from browser_support import CHROMIUM_ARGS, LAPTOP, assert_accessible, require_chromium
from support import ADMIN_KEY, Receiver, ServiceProcess


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    process = ServiceProcess(f"sqlite:///{tmp_path / 'dash.db'}", tmp_path / "serve.log")
    process.start()
    try:
        await process.wait_ready()
        yield process
    finally:
        process.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = require_chromium()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def test_proxy_field_in_the_add_and_edit_forms(
    server: ServiceProcess, browser: Browser, receiver: Receiver, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = await client.post(
            "/v1/accounts",
            json={"name": "Proxied"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
    key = created.json()["apiKey"]["key"]
    port = receiver.base_url.rsplit(":", 1)[1]
    with running_proxy(tmp_path, basic_auth="web:b4rowser") as proxy:
        context = await browser.new_context(viewport=LAPTOP)
        page = await context.new_page()
        await page.goto(server.url + "/dashboard")
        await page.get_by_label("API key").fill(key)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("link", name="+ Add Webhook").click()
        await page.get_by_label("Endpoint URL").fill(receiver.url("/proxied"))
        await page.get_by_label("Proxy", exact=True).fill("https://not-http:1")
        await page.get_by_role("button", name="Save and test").click()
        await expect(page.locator("#proxyUrl-error")).to_contain_text("http://")
        await assert_accessible(page, "add webhook, proxy error")
        await page.get_by_label("Proxy", exact=True).fill(
            f"http://web:b4rowser@127.0.0.1:{proxy.port}"
        )
        await page.get_by_role("button", name="Save and test").click()
        await expect(page.get_by_role("heading", name="Webhook created")).to_be_visible()
        await expect(page.locator(".test-result")).to_contain_text("Delivered")
        await receiver.wait_for(1, path="/proxied")
        assert proxy.upstreams() == [f"127.0.0.1:{port}"], proxy.log()

        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            [hook] = (
                await client.get("/v1/webhooks", headers={"Authorization": f"Bearer {key}"})
            ).json()["data"]
        await page.goto(f"{server.url}/dashboard/webhooks/{hook['id']}")
        proxy_field = page.get_by_label("Proxy", exact=True)
        await expect(proxy_field).to_have_value("")
        await expect(proxy_field).to_have_attribute(
            "placeholder", re.compile(re.escape(f"http://web:****@127.0.0.1:{proxy.port}"))
        )
        assert "b4rowser" not in await page.content()
        await assert_accessible(page, "edit webhook with a proxy")
        await page.get_by_label("Stop using this proxy").check()
        await page.get_by_role("button", name="Save").first.click()
        # Saved: the page is back without a proxy to stop using.
        await expect(page.get_by_label("Stop using this proxy")).to_have_count(0)
        await context.close()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        after = (
            await client.get(
                f"/v1/webhooks/{hook['id']}", headers={"Authorization": f"Bearer {key}"}
            )
        ).json()
    assert after["proxyUrl"] is None
