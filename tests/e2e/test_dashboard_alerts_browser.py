"""The Alerts settings page in a real browser (Chromium via Playwright) against the real
`promptha-webhooks serve` process: set the alert e-mails and the alert webhook, see an error
next to its field with nothing saved, and pass the axe-core WCAG 2 A/AA audit in each state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright, expect
from test_dashboard_browser import new_account, sign_in

from browser_support import (
    CHROMIUM_ARGS,
    LAPTOP,
    assert_accessible,
    require_chromium,
    save_screenshot,
)
from support import Receiver, ServiceProcess


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    process = ServiceProcess(f"sqlite:///{tmp_path / 'alerts.db'}", tmp_path / "serve.log")
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


async def test_alerts_page(server: ServiceProcess, browser: Browser, receiver: Receiver) -> None:
    key = await new_account(server, "Acme")
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = await client.post(
            "/v1/webhooks",
            json={
                "url": receiver.url("/pager"),
                "events": ["fabric.completed"],
                "description": "Pager",
            },
            headers=auth,
        )
        assert created.status_code == 201, created.text
        hook_id = created.json()["id"]
    # bypass_csp: axe-core is injected as an inline script, which the dashboard's CSP refuses.
    context = await browser.new_context(viewport=LAPTOP, bypass_csp=True)
    page = await context.new_page()
    await sign_in(page, server, key)
    await page.get_by_role("link", name="Alerts").click()
    await expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    await assert_accessible(page, "alerts (empty)")

    await page.get_by_label("Alert e-mail addresses").fill("ops@acme.example\nnot-an-address")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("Nothing was saved")).to_be_visible()
    await expect(page.get_by_label("Alert e-mail addresses")).to_have_attribute(
        "aria-invalid", "true"
    )
    await assert_accessible(page, "alerts (error)")

    await page.get_by_label("Alert e-mail addresses").fill("ops@acme.example\noncall@acme.example")
    await page.get_by_label("Alert webhook").select_option(hook_id)
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Alert contacts saved.")
    await expect(page.get_by_label("Alert e-mail addresses")).to_have_value(
        "ops@acme.example\noncall@acme.example"
    )
    await expect(page.get_by_label("Alert webhook")).to_have_value(hook_id)
    await assert_accessible(page, "alerts (saved)")
    await save_screenshot(page, "alerts")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        stored = (await client.get("/v1/alert-contacts", headers=auth)).json()
    assert stored["emails"] == ["ops@acme.example", "oncall@acme.example"]
    assert stored["webhookId"] == hook_id
    await context.close()
