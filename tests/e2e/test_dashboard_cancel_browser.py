"""Scheduled deliveries and cancels in a real browser (Debian's Chromium, driven by Playwright)
against the real `promptha-webhooks serve` process: an event published for later shows its
"Deliver at" and a "Cancel pending deliveries" button; a pending delivery's Cancel button (htmx)
ends it as Cancelled; the log filters by the new status. axe-core audits each page (light,
and dark for the cancelled badges)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright, expect
from test_dashboard_events_browser import LOW, new_api, sign_in

from browser_support import CHROMIUM_ARGS, LAPTOP, assert_accessible, require_chromium
from support import ADMIN_KEY, Receiver, ServiceProcess


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    process = ServiceProcess(f"sqlite:///{tmp_path / 'cancel.db'}", tmp_path / "serve.log")
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


async def test_cancel_in_the_browser(
    server: ServiceProcess, browser: Browser, receiver: Receiver
) -> None:
    later = datetime.fromtimestamp(time.time() + 3600, tz=UTC).isoformat()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        api, key = await new_api(client)
        first = await api.webhook(receiver.url("/a"), ["credits.low"])
        await api.webhook(receiver.url("/b"), ["credits.low"])
        ids = []
        for _ in range(2):
            response = await client.post(
                "/v1/events",
                json={
                    "account": api.account,
                    "event": "credits.low",
                    "data": LOW,
                    "deliverAt": later,
                },
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        one, whole = ids
        context = await browser.new_context(viewport=LAPTOP, bypass_csp=True)
        page = await context.new_page()
        await sign_in(page, server, key)

        # the event page: Deliver at, its pending deliveries, the cancel button
        await page.goto(f"{server.url}/dashboard/events/{whole}")
        await expect(page.get_by_text("Deliver at")).to_be_visible()
        await assert_accessible(page, "event with scheduled deliveries")
        await page.get_by_role("button", name="Cancel pending deliveries").click()
        await expect(page.get_by_role("status")).to_contain_text("Cancelled 2 deliveries.")
        await expect(page.locator(".badge-cancelled")).to_have_count(2)
        await assert_accessible(page, "event with cancelled deliveries")

        # one delivery from the log: expand it, Cancel (htmx swaps the detail in place)
        await page.goto(f"{server.url}/dashboard/webhooks/{first}/deliveries?status=pending")
        row = page.locator("details.delivery").first
        await row.locator("summary").click()
        cancel = row.get_by_role("button", name="Cancel delivery")
        await expect(cancel).to_be_visible()
        await assert_accessible(page, "delivery log with a pending delivery")
        await cancel.click()
        await expect(row.get_by_text("Cancelled: it will not be sent")).to_be_visible()
        await expect(row.get_by_role("button", name="Cancel delivery")).to_have_count(0)
        await assert_accessible(page, "cancelled delivery")

        await page.goto(f"{server.url}/dashboard/webhooks/{first}/deliveries?status=cancelled")
        await expect(page.locator("details.delivery")).to_have_count(2)
        await assert_accessible(page, "delivery log filtered by cancelled")
        # the dark palette (as test_dashboard_accessibility.py sets it): the cancelled badges
        await page.evaluate("document.documentElement.dataset.theme = 'dark'")
        await assert_accessible(page, "delivery log filtered by cancelled, dark")
        await page.goto(f"{server.url}/dashboard/events/{whole}")
        await page.evaluate("document.documentElement.dataset.theme = 'dark'")
        await assert_accessible(page, "event with cancelled deliveries, dark")
        await context.close()
        statuses = await api.statuses(first)
        assert statuses == ["cancelled", "cancelled"]
        assert one != whole
    assert receiver.requests == []
