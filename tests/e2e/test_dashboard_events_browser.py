"""The Events pages and bulk resend in a real browser (Debian's Chromium, driven by
Playwright) against the real `promptha-webhooks serve` process and a local receiver that fails,
then succeeds: search events by type and id, open one and see its deliveries to every webhook,
tick failed deliveries and resend them, resend all failed in the time range, and see the fresh
log. axe-core audits each page; the screenshots go to docs/dashboard.md."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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

FABRIC = {"executionId": "exec_9f3a2c71", "fabricId": "product-description", "usage": {}}
COMPLETED = FABRIC | {"result": {"output": "Lightweight trail shoes."}}
LOW = {"remaining": 120, "threshold": 500, "userId": "user_7d2f"}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    process = ServiceProcess(f"sqlite:///{tmp_path / 'events.db'}", tmp_path / "serve.log")
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


class Api:
    """The account's API, as its own code would call it."""

    def __init__(self, client: httpx.AsyncClient, account: str, key: str) -> None:
        self.client, self.account = client, account
        self.auth = {"Authorization": f"Bearer {key}"}

    async def webhook(self, url: str, events: list[str]) -> str:
        body = {"url": url, "events": events, "retrySchedule": []}
        response = await self.client.post("/v1/webhooks", json=body, headers=self.auth)
        assert response.status_code == 201, response.text
        webhook_id: str = response.json()["id"]
        return webhook_id

    async def publish(self, event: str, data: dict[str, Any]) -> str:
        response = await self.client.post(
            "/v1/events",
            json={"account": self.account, "event": event, "data": data},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert response.status_code == 201, response.text
        event_id: str = response.json()["id"]
        return event_id

    async def statuses(self, webhook_id: str) -> list[str]:
        response = await self.client.get(
            f"/v1/webhooks/{webhook_id}/deliveries", params={"limit": 100}, headers=self.auth
        )
        return [d["status"] for d in response.json()["data"]]

    async def settled(self, webhook_id: str, status: str, count: int) -> None:
        deadline = time.monotonic() + 20
        while (await self.statuses(webhook_id)).count(status) < count:
            assert time.monotonic() < deadline, await self.statuses(webhook_id)
            await asyncio.sleep(0.05)


async def new_api(client: httpx.AsyncClient) -> tuple[Api, str]:
    response = await client.post(
        "/v1/accounts", json={"name": "Acme"}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Api(client, body["account"]["id"], body["apiKey"]["key"]), body["apiKey"]["key"]


async def sign_in(page: Page, server: ServiceProcess, api_key: str) -> None:
    await page.goto(server.url + "/dashboard")
    await page.get_by_label("API key").fill(api_key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()


async def test_events_search_detail_and_bulk_resend(
    server: ServiceProcess, browser: Browser, receiver: Receiver
) -> None:
    receiver.script("/flaky", [500])
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        api, key = await new_api(client)
        steady = await api.webhook(receiver.url("/steady"), ["fabric.*", "credits.low"])
        flaky = await api.webhook(receiver.url("/flaky"), ["fabric.completed"])
        events = [await api.publish("fabric.completed", COMPLETED) for _ in range(4)]
        low = await api.publish("credits.low", LOW)
        await api.settled(steady, "delivered", 5)
        await api.settled(flaky, "failed", 4)

        # bypass_csp: axe-core is injected as an inline script, which the dashboard's CSP
        # (script-src 'self') refuses.
        context = await browser.new_context(viewport=LAPTOP, bypass_csp=True)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await sign_in(page, server, key)

        # Events: newest first, searched by pattern, then by id.
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Events").click()
        await expect(page.get_by_role("heading", name="Events", exact=True)).to_be_visible()
        table = page.locator("table.events-table tbody tr")
        # (each failed delivery also published a delivery.failed alert to the account)
        await expect(table.filter(has_text=low)).to_have_count(1)
        await page.get_by_label("Type or pattern").fill("fabric.*")
        await page.get_by_role("button", name="Search").click()
        await expect(table).to_have_count(4)
        await expect(page.get_by_text(low)).to_have_count(0)
        await assert_accessible(page, "events list")
        await save_screenshot(page, "events")
        await page.get_by_label("Type or pattern").fill("")
        await page.get_by_label("Event id").fill(events[0])
        await page.get_by_role("button", name="Search").click()
        await expect(table).to_have_count(1)

        # One event: its deliveries to both webhooks, each linking to its delivery.
        await page.get_by_role("link", name=events[0]).click()
        await expect(page.get_by_role("heading", name="Event", exact=True)).to_be_visible()
        rows = page.locator("table.event-deliveries tbody tr")
        await expect(rows).to_have_count(2)
        await expect(rows.filter(has_text=receiver.url("/flaky"))).to_contain_text("Failed")
        await expect(rows.filter(has_text=receiver.url("/flaky"))).to_contain_text("HTTP 500")
        await expect(rows.filter(has_text=receiver.url("/steady"))).to_contain_text("Delivered")
        await assert_accessible(page, "event detail")
        await save_screenshot(page, "event-detail")
        await rows.filter(has_text=receiver.url("/flaky")).get_by_role("link", name="dlv_").click()
        await expect(page.get_by_role("heading", name="Delivery", exact=True)).to_be_visible()
        await expect(page.locator(".attempt")).to_contain_text("HTTP 500")

        # The flaky webhook's log: tick two failed deliveries and resend them.
        receiver.script("/flaky", [200])
        await page.get_by_role("link", name="Delivery logs").click()
        await expect(page.get_by_role("heading", name="Delivery logs")).to_be_visible()
        boxes = page.get_by_role("checkbox", name="Select failed")
        await expect(boxes).to_have_count(4)
        await boxes.nth(0).check()
        await boxes.nth(1).check()
        await assert_accessible(page, "delivery log with selection")
        await save_screenshot(page, "bulk-resend")
        await page.get_by_role("button", name="Resend selected").click()
        await expect(page.get_by_role("status").filter(has_text="Resent 2 of 2")).to_be_visible()
        await api.settled(flaky, "delivered", 2)

        # Every failed one left in the time range, with the count as it goes.
        await page.get_by_label("Created").select_option("24h")
        await page.get_by_role("button", name="Filter").click()
        await page.get_by_role("button", name="Resend all failed in this time range").click()
        await expect(page.get_by_role("status").filter(has_text="Resent 2 of 2")).to_be_visible()
        await api.settled(flaky, "delivered", 4)

        # The fresh log: no stale failed row once the worker delivered them.
        for _ in range(50):
            await page.reload()
            if await page.locator(".badge-failed").count() == 0:
                break
            await asyncio.sleep(0.1)
        await expect(page.locator(".badge-failed")).to_have_count(0)
        await expect(page.locator("details.delivery .badge-delivered")).to_have_count(4)
        await expect(page.get_by_role("checkbox", name="Select failed")).to_have_count(0)
        assert len(receiver.on("/flaky")) == 8
        assert errors == []
        await context.close()
