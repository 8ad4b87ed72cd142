"""The API keys page and a webhook's Stats page in a real browser (Debian's Chromium, driven
by Playwright) against the real `promptha-webhooks serve` process: create a key (shown once,
copied with the Copy button), revoke another key and then the session's own key (signed out);
a webhook with real deliveries to a local receiver (some 200, some 500) shows its success
rate, latency percentiles and both charts, with axes, units and tooltips, in every window.
axe-core audits every page state (WCAG 2 A/AA); the screenshots go to docs/screenshots."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from browser_support import (
    CHROMIUM_ARGS,
    LAPTOP,
    assert_accessible,
    require_chromium,
    save_screenshot,
)
from support import ADMIN_KEY, Receiver, ServiceProcess

PAYLOAD = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}
WAIT_S = 30.0
NEW_KEY = re.compile(r"^pwk_[A-Za-z0-9_-]{20,}$")
DURATION = re.compile(r"^\d+ ms$|^\d+\.\d+ s$")


# bypass_csp: the dashboard's CSP (script-src 'self') refuses the inline script tag that
# assert_accessible adds axe-core with; the pages themselves are unchanged.


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


async def new_account(server: ServiceProcess, name: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await client.post(
            "/v1/accounts", json={"name": name}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return body["account"]["id"], body["apiKey"]["key"]


async def sign_in(page: Page, server: ServiceProcess, api_key: str) -> None:
    await page.goto(server.url + "/dashboard")
    await page.get_by_label("API key").fill(api_key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()


async def test_api_keys_page(server: ServiceProcess, browser: Browser) -> None:
    _account, api_key = await new_account(server, "Acme")
    context = await browser.new_context(
        viewport=LAPTOP, permissions=["clipboard-read", "clipboard-write"], bypass_csp=True
    )
    page = await context.new_page()
    await sign_in(page, server, api_key)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    await expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
    rows = page.locator(".keys-table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator(".badge")).to_have_text("This session")
    await assert_accessible(page, "API keys")

    await page.get_by_role("button", name="+ Create API key").click()
    shown = page.locator("#new-api-key")
    await expect(shown).to_have_text(NEW_KEY)
    new_key = (await shown.text_content() or "").strip()
    await page.get_by_role("button", name="Copy").click()
    await expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == new_key
    await expect(rows).to_have_count(2)
    await assert_accessible(page, "API keys, a key just created")
    await save_screenshot(page, "api-keys")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        works = await client.get("/v1/keys", headers={"Authorization": f"Bearer {new_key}"})
        assert works.status_code == 200 and len(works.json()) == 2
        new_id = next(k["id"] for k in works.json() if k["prefix"] == new_key[:12])

    await page.reload()  # a reload never shows the key again (and posts nothing)
    await expect(page.locator("#new-api-key")).to_have_count(0)
    await expect(rows).to_have_count(2)
    assert new_key not in await page.content()

    row = rows.filter(has_text=new_id)
    await row.get_by_text("Revoke…").click()
    await expect(row.get_by_text("Programs using it stop working at once")).to_be_visible()
    await assert_accessible(page, "API keys, revoke confirmation")
    await row.get_by_role("button", name="Yes, revoke this key").click()
    await expect(page.get_by_role("status")).to_contain_text("API key revoked")
    await expect(rows).to_have_count(1)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        gone = await client.get("/v1/keys", headers={"Authorization": f"Bearer {new_key}"})
        assert gone.status_code == 401

    # The session's own (and last) key: warned, then signed out cleanly.
    own = rows.first
    await own.get_by_text("Revoke…").click()
    await expect(own.get_by_text("This is the account's last key")).to_be_visible()
    await expect(own.get_by_text("you will be signed out")).to_be_visible()
    await own.get_by_role("button", name="Yes, revoke this key").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text("you are signed out")
    await assert_accessible(page, "signed out after revoking the session's key")
    await page.goto(server.url + "/dashboard/keys")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await context.close()


async def wait_attempts(server: ServiceProcess, api_key: str, webhook_id: str, count: int) -> None:
    """Until `count` deliveries of the webhook are finished (delivered or failed)."""
    deadline = time.monotonic() + WAIT_S
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        while True:
            response = await client.get(
                f"/v1/webhooks/{webhook_id}/deliveries",
                params={"limit": 100},
                headers={"Authorization": f"Bearer {api_key}"},
            )
            done = [d for d in response.json()["data"] if d["status"] in ("delivered", "failed")]
            if len(done) >= count:
                return
            assert time.monotonic() < deadline, f"{len(done)} of {count} deliveries finished"
            await asyncio.sleep(0.1)


async def test_webhook_stats_page(
    server: ServiceProcess, browser: Browser, receiver: Receiver
) -> None:
    account, api_key = await new_account(server, "Acme")
    receiver.script("/hook", [200, 500, 200, 200])
    auth = {"Authorization": f"Bearer {api_key}"}
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = await client.post(
            "/v1/webhooks",
            json={
                "url": receiver.url("/hook"),
                "events": ["fabric.completed"],
                "retrySchedule": [],
            },
            headers=auth,
        )
        assert created.status_code == 201, created.text
        webhook_id = created.json()["id"]
        for _ in range(4):
            published = await client.post(
                "/v1/events",
                json={"account": account, "event": "fabric.completed", "data": PAYLOAD},
                headers=admin,
            )
            assert published.status_code == 201, published.text
    await wait_attempts(server, api_key, webhook_id, 4)

    page = await browser.new_page(viewport=LAPTOP, bypass_csp=True)
    await sign_in(page, server, api_key)
    listed = page.locator(".webhooks-table tbody tr").first
    await expect(listed.locator(".badge")).to_have_text("Degraded")
    await page.get_by_role("link", name=receiver.url("/hook")).click()
    await page.get_by_role("link", name="Stats", exact=True).click()
    await expect(page.get_by_role("link", name="24 hours")).to_have_attribute(
        "aria-current", "page"
    )
    await expect(page.locator("#stat-success")).to_have_text("75.0 %")
    await expect(page.locator("#stat-attempts")).to_have_text("4")
    await expect(page.locator("#stat-p95")).to_have_text(DURATION)
    chart = page.locator("#attempts-chart")
    await expect(chart).to_be_visible()
    await expect(chart.locator("text.chart-axis-title")).to_have_text(
        ["Time (UTC)", "Attempts (count)"]
    )
    await expect(page.locator("#latency-chart text.chart-axis-title")).to_have_text(
        ["Time (UTC)", "Latency (ms)"]
    )
    tooltips = await chart.locator("g.chart-bar title").all_text_contents()
    assert any("4 attempts, 3 delivered, 1 failed, 75.0 % success" in t for t in tooltips) or (
        sum(int(t.split(": ")[1].split(" ")[0]) for t in tooltips) == 4
    ), tooltips
    points = await page.locator("#latency-chart circle title").all_text_contents()
    assert any(" p95 " in t and t.endswith(" ms") for t in points), points
    await assert_accessible(page, "webhook stats")
    await save_screenshot(page, "webhook-stats")

    for label, buckets in (("1 hour", 12), ("7 days", 28)):
        await page.get_by_role("link", name=label).click()
        await expect(page.get_by_role("link", name=label)).to_have_attribute("aria-current", "page")
        await expect(page.locator("#stat-attempts")).to_have_text("4")
        await expect(chart.locator("g.chart-bar")).to_have_count(buckets)
    await page.get_by_text("Show every bucket").click()
    await expect(page.locator(".stats-table tbody tr")).to_have_count(28)
    await assert_accessible(page, "webhook stats, 7 days with the table open")
    await page.close()
