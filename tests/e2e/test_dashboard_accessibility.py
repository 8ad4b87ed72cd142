"""Every dashboard page and state audited by axe-core (WCAG 2 A and AA, and axe's best
practices; the npm package's browser build) in Debian's Chromium against the real
`promptha-webhooks serve` process, with realistic data: webhooks that succeed, fail, are
disabled (by hand and by 410 Gone); deliveries delivered, failed, pending and skipped, attempts
with errors; a secret rotation in progress; a payload filter tried live; delivery settings;
phone width; the dark palette.

Each page must show zero violations. The run also refreshes the pictures the README shows
(docs/screenshots/*.png, through `save_screenshot`)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright, expect

from browser_support import (
    AXE_TAGS,
    CHROMIUM_ARGS,
    LAPTOP,
    PHONE,
    axe_violations,
    require_axe,
    require_chromium,
    save_screenshot,
)
from support import ADMIN_KEY, ServiceProcess, free_port, loopback_receiver

# WCAG 2.0/2.1 A and AA, and axe's best practices (heading order, one main landmark, ...).
AUDIT_TAGS = [*AXE_TAGS, "best-practice"]
POLL_LIMIT = 150  # polls of the API (0.1 s apart) while waiting for a delivery's status
HOUR_S = 3600


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    process = ServiceProcess(f"sqlite:///{tmp_path / 'a11y.db'}", tmp_path / "serve.log")
    process.start()
    try:
        await process.wait_ready()
        yield process
    finally:
        process.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = require_chromium()
    require_axe()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def answer_by_execution(request: web.Request) -> web.Response:
    """The main receiver: answers by the event's executionId prefix (ok- 200, bad- 400 with a
    JSON error, retry- 500), anything else 200; on /paused always 503."""
    if request.path == "/paused":
        return web.Response(status=503, text="maintenance")
    body = await request.json()
    execution = str(body.get("data", {}).get("executionId", ""))
    if execution.startswith("bad-"):
        return web.json_response({"error": "unknown fabric for this tenant"}, status=400)
    if execution.startswith("retry-"):
        return web.Response(status=500, text="upstream database timeout")
    return web.json_response({"received": True})


async def gone(_request: web.Request) -> web.Response:
    return web.Response(status=410, text="This endpoint was removed")


@dataclass
class Audit:
    """axe-core's findings per audited page state; `assert_clean` fails listing all of them."""

    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    async def __call__(self, page: Page, label: str) -> None:
        await page.wait_for_load_state("networkidle")
        assert label not in self.findings, f"audited {label!r} twice"
        self.findings[label] = await axe_violations(page, AUDIT_TAGS)

    def assert_clean(self) -> None:
        failed = {label: found for label, found in self.findings.items() if found}
        assert failed == {}, "\n".join(
            f"axe-core on {label}: "
            + "; ".join(
                f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][:4]}" for v in found
            )
            for label, found in failed.items()
        )


@dataclass(frozen=True)
class Seeded:
    key: str
    main: str  # 200 / 400 / 500 by executionId, a fabricId filter, delivery settings
    unreachable: str  # a closed port: attempts with a connection error, pending
    paused: str  # disabled by hand, with a skipped delivery
    legacy: str  # auto-disabled by a 410 Gone
    failed_delivery: str
    pending_delivery: str


class Api:
    def __init__(self, client: httpx.AsyncClient, key: str) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {key}"}

    async def webhook(self, **fields: Any) -> str:
        response = await self.client.post("/v1/webhooks", json=fields, headers=self.auth)
        assert response.status_code == 201, response.text
        webhook_id: str = response.json()["id"]
        return webhook_id

    async def deliveries(self, webhook_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=self.auth)
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    async def wait_statuses(self, webhook_id: str, wanted: set[str]) -> list[dict[str, Any]]:
        """The webhook's deliveries once their statuses include `wanted` (bounded polling)."""
        for _ in range(POLL_LIMIT):
            deliveries = await self.deliveries(webhook_id)
            if wanted <= {d["status"] for d in deliveries} and all(
                d["attemptCount"] > 0 for d in deliveries
            ):
                return deliveries
            await _pause()
        raise AssertionError(f"{webhook_id}: never reached {wanted}: {deliveries}")

    async def wait_disabled(self, webhook_id: str) -> None:
        for _ in range(POLL_LIMIT):
            response = await self.client.get(f"/v1/webhooks/{webhook_id}", headers=self.auth)
            if not response.json()["enabled"]:
                return
            await _pause()
        raise AssertionError(f"{webhook_id} was never disabled")


async def _pause() -> None:
    await asyncio.sleep(0.1)


def completed(execution: str, fabric: str = "product-description") -> dict[str, Any]:
    return {
        "event": "fabric.completed",
        "data": {
            "executionId": execution,
            "fabricId": fabric,
            "result": {"output": f"Generated copy for {execution}"},
            "usage": {"promptTokens": 180, "completionTokens": 60, "totalTokens": 240},
        },
    }


async def seed(server: ServiceProcess, main_url: str, gone_url: str) -> Seeded:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = await client.post("/v1/accounts", json={"name": "Acme Inc"}, headers=admin)
        assert created.status_code == 201, created.text
        account, key = created.json()["account"]["id"], created.json()["apiKey"]["key"]
        api = Api(client, key)
        legacy = await api.webhook(
            url=gone_url, events=["credits.low"], description="Legacy credit sync"
        )
        paused = await api.webhook(
            url=main_url.replace("/hook", "/paused"),
            events=["credits.low"],
            description="Paused while the receiver moves",
            retrySchedule=[1],
        )
        unreachable = await api.webhook(
            url=f"http://127.0.0.1:{free_port()}/closed",
            events=["fabric.failed"],
            description="Ops alerts (receiver down)",
            retrySchedule=[HOUR_S],
        )
        main = await api.webhook(
            url=main_url,
            events=["fabric.completed", "fabric.failed"],
            filters={"fabricId": ["product-description", "seo-optimizer"]},
            description="Production completions",
            retrySchedule=[HOUR_S],
            timeoutSeconds=10,
            maxConcurrency=4,
            rateLimit=20,
            headers={"X-Api-Key": "gateway-key-a11y"},
        )
        events = [
            completed("ok-1"),
            completed("ok-2", "seo-optimizer"),
            completed("bad-1"),
            completed("retry-1"),
            completed("ok-3"),
            {
                "event": "fabric.failed",
                "data": {
                    "executionId": "exec_fail_1",
                    "fabricId": "seo-optimizer",
                    "error": {"type": "rate_limit", "message": "Model rate limit exceeded"},
                },
            },
            {
                "event": "credits.low",
                "data": {"remaining": 40, "threshold": 100, "userId": "user_7d2f"},
            },
        ]
        published = await client.post(
            "/v1/events/batch", json={"account": account, "events": events}, headers=admin
        )
        assert published.status_code == 201, published.text
        main_deliveries = await api.wait_statuses(main, {"delivered", "failed", "pending"})
        await api.wait_statuses(unreachable, {"pending"})
        await api.wait_disabled(legacy)
        # Paused: its first attempt fails (the receiver has no /paused), then it is disabled
        # by hand before the retry, which is skipped.
        await api.wait_statuses(paused, {"pending"})
        disabled = await client.patch(
            f"/v1/webhooks/{paused}", json={"enabled": False}, headers=api.auth
        )
        assert disabled.status_code == 200, disabled.text
        await api.wait_statuses(paused, {"skipped"})
    by_status = {d["status"]: d["id"] for d in main_deliveries}
    return Seeded(
        key=key,
        main=main,
        unreachable=unreachable,
        paused=paused,
        legacy=legacy,
        failed_delivery=by_status["failed"],
        pending_delivery=by_status["pending"],
    )


async def sign_in(page: Page, base: str, key: str, audit: Audit) -> None:
    await page.goto(base + "/login")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await audit(page, "sign-in")
    await save_screenshot(page, "sign-in")
    await page.get_by_label("API key").fill("pwk_not_a_real_key")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("not valid")
    await audit(page, "sign-in, wrong key")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()


async def audit_add_form(page: Page, base: str, receiver_url: str, audit: Audit) -> None:
    await page.goto(base + "/webhooks/new")
    await audit(page, "add form")
    await page.get_by_label("Endpoint URL").fill("ftp://yourapp.com/hooks")
    await page.get_by_label("Payload filter").fill('{"data.nope": 1}')
    await page.get_by_label("Timeout").fill("99")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator(".field-error").first).to_be_visible()
    await audit(page, "add form with errors")
    await save_screenshot(page, "add-webhook")
    await page.get_by_label("Endpoint URL").fill(receiver_url.replace("/hook", "/created"))
    await page.get_by_label("Payload filter").fill("")
    await page.get_by_label("Timeout").fill("")
    await page.get_by_role("checkbox", name=re.compile("fabric.failed")).check()
    await page.get_by_role("button", name="Save and test").click()
    await expect(page.get_by_role("heading", name="Webhook created")).to_be_visible()
    await expect(page.locator(".test-result")).to_contain_text("Delivered")
    await audit(page, "created page (secret shown, test delivered)")
    await save_screenshot(page, "webhook-created")


async def audit_detail(page: Page, base: str, seeded: Seeded, audit: Audit) -> None:
    detail = f"{base}/webhooks/{seeded.main}"
    await page.goto(detail)
    await audit(page, "webhook detail")
    # Test event, delivered.
    await page.get_by_label("Event type").select_option("fabric.completed")
    await page.get_by_role("button", name="Send test event").click()
    await expect(page.locator("#test-result-slot")).to_contain_text("Delivered")
    # The secret revealed.
    await page.get_by_role("button", name="Reveal").click()
    await expect(page.locator("#webhook-secret")).to_contain_text("whsec_")
    await audit(page, "webhook detail, test delivered, secret revealed")
    await save_screenshot(page, "webhook-detail")
    # Rotation: the form, then the rotation in progress with the new secret shown once.
    await page.get_by_text("Rotate…").click()
    await expect(page.get_by_label("Keep signing with the current secret for")).to_be_visible()
    await audit(page, "webhook detail, rotate form open")
    await page.get_by_label("Keep signing with the current secret for").select_option(
        label="1 hour"
    )
    await page.get_by_role("button", name="Rotate secret").click()
    await expect(page.locator("#rotation-state")).to_contain_text("Rotation in progress")
    await expect(page.get_by_text("New secret — update your receiver")).to_be_visible()
    await audit(page, "webhook detail, rotation in progress")
    # Routing: the filter editor's Try it, matching, not matching and unreadable.
    payload_filter = page.get_by_label("Payload filter")
    result = page.locator("#filter-result")
    await payload_filter.fill('{"data.executionId": {"$prefix": "exec_"}}')
    await payload_filter.press("End")
    await expect(result).to_contain_text("Matches")
    await audit(page, "filter editor, matches")
    await payload_filter.fill('{"data.executionId": {"$prefix": "keep-"}}')
    await payload_filter.press("End")
    await expect(result).to_contain_text("Does not match")
    await audit(page, "filter editor, does not match")
    await payload_filter.fill('{"data.executionId": ')
    await payload_filter.press("End")
    await expect(result).to_contain_text("Cannot try")
    await audit(page, "filter editor, cannot try")
    # The edit form with errors, delivery settings shown.
    await page.get_by_label("Endpoint URL").fill("not a url")
    await page.get_by_label("Retry delays").fill("5 parsecs")
    await page.get_by_label("Requests at once").fill("1000")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("alert").first).to_contain_text("correct the highlighted")
    await audit(page, "edit form with errors")
    # Delete: the confirmation open.
    await page.goto(detail)
    await page.get_by_text("Delete…").click()
    await expect(page.get_by_role("button", name="Yes, delete this webhook")).to_be_visible()
    await audit(page, "webhook detail, delete confirmation open")


async def audit_failing_webhooks(page: Page, base: str, seeded: Seeded, audit: Audit) -> None:
    # A test event that cannot be delivered (connection refused).
    await page.goto(f"{base}/webhooks/{seeded.unreachable}")
    await page.get_by_role("button", name="Send test event").click()
    await expect(page.locator("#test-result-slot")).to_contain_text("Not delivered")
    await audit(page, "webhook detail, test not delivered")
    await page.goto(f"{base}/webhooks/{seeded.paused}")
    await expect(page.locator(".alert-warn")).to_contain_text("disabled")
    await audit(page, "webhook detail, disabled")
    await page.goto(f"{base}/webhooks/{seeded.legacy}")
    await expect(page.locator(".alert-warn")).to_contain_text("automatically")
    await audit(page, "webhook detail, auto-disabled")
    await page.goto(f"{base}/webhooks/{seeded.paused}/deliveries")
    await expect(page.locator(".badge-skipped").first).to_be_visible()
    await audit(page, "delivery log, skipped")
    await page.goto(f"{base}/deliveries/{seeded.failed_delivery}")
    await expect(page.locator(".attempt")).to_contain_text("HTTP 400")
    await audit(page, "delivery detail, failed (HTTP 400)")
    await page.goto(f"{base}/deliveries/{seeded.pending_delivery}")
    await expect(page.locator(".attempt")).to_contain_text("HTTP 500")
    await audit(page, "delivery detail, pending (HTTP 500)")
    unreachable = await page.goto(f"{base}/webhooks/{seeded.unreachable}/deliveries")
    assert unreachable is not None and unreachable.ok
    row = page.locator("details.delivery").first
    await row.locator("summary").click()
    await expect(row.locator(".attempt-error")).to_be_visible()
    await audit(page, "delivery log, connection error expanded")


async def audit_delivery_log(page: Page, base: str, seeded: Seeded, audit: Audit) -> None:
    log = f"{base}/webhooks/{seeded.main}/deliveries"
    await page.goto(log)
    for status in ("delivered", "failed", "pending"):
        await expect(page.locator(f".delivery .badge-{status}").first).to_be_visible()
    await expect(page.locator(".chip-test").first).to_be_visible()
    await audit(page, "delivery log")
    failed = page.locator("details.delivery", has=page.locator(".badge-failed")).first
    await failed.locator("summary").click()
    await expect(failed.locator(".delivery-detail")).to_contain_text("HTTP 400")
    for summary in (await failed.locator(".attempt details > summary").all())[:1]:
        await summary.click()
    await audit(page, "delivery log, failed delivery expanded")
    await save_screenshot(page, "delivery-logs")
    await failed.get_by_role("button", name="Resend").click()
    await expect(failed.locator(".delivery-detail")).to_contain_text("Resent")
    await audit(page, "delivery log, resent")
    await page.goto(log + "?status=nonsense&before=yesterday")
    await expect(page.locator(".field-error").first).to_be_visible()
    await audit(page, "delivery log, bad filters")
    await page.goto(log + "?status=delivered&since=1h")
    await audit(page, "delivery log, filtered")
    await page.goto(log + "?status=skipped")
    await expect(page.get_by_text("No deliveries match these filters")).to_be_visible()
    await audit(page, "delivery log, nothing matches")


async def audit_empty_account(server: ServiceProcess, browser: Browser, audit: Audit) -> None:
    """A new account: no webhooks, no figures."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = await client.post(
            "/v1/accounts",
            json={"name": "Newcomer"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert created.status_code == 201, created.text
        key = created.json()["apiKey"]["key"]
    context = await browser.new_context(viewport=LAPTOP)
    page = await context.new_page()
    base = server.url + "/dashboard"
    await page.goto(base + "/login")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("No webhooks yet")).to_be_visible()
    await audit(page, "webhooks list, empty")
    await page.goto(base + "/monitoring")
    await audit(page, "monitoring, no deliveries")
    await context.close()


FOCUS_PRESSES = 40  # Tab presses checked per page

UNFOCUSED_ELEMENT = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const name = e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " "
    + (e.getAttribute("aria-label") || e.textContent || "").trim().slice(0, 40);
  return s.outlineStyle === "none" || parseFloat(s.outlineWidth) < 2 ? name : "";
}"""


async def assert_focus_visible(page: Page, label: str) -> None:
    """From the top of the page, Tab through up to FOCUS_PRESSES stops: each focused element
    shows an outline of at least 2 px (focus visible, WCAG 2.4.7)."""
    await page.locator("body").focus()
    invisible: list[str] = []
    visited = 0
    for _ in range(FOCUS_PRESSES):
        await page.keyboard.press("Tab")
        found = await page.evaluate(UNFOCUSED_ELEMENT)
        if found is None:
            break
        visited += 1
        if found:
            invisible.append(found)
    assert visited > 3, f"{label}: Tab reached only {visited} elements"
    assert invisible == [], f"{label}: focus not visible on {invisible}"


async def audit_dark(page: Page, base: str, seeded: Seeded, audit: Audit) -> None:
    """The dark palette: chosen by `data-theme="dark"` on <html> (set from JS, as a theme switch
    would) and by the system's preference."""
    set_dark = "document.documentElement.dataset.theme = 'dark'"
    for label, path in (
        ("webhooks list", "/webhooks"),
        ("webhook detail", f"/webhooks/{seeded.main}"),
        ("delivery log", f"/webhooks/{seeded.main}/deliveries"),
        ("monitoring", "/monitoring"),
    ):
        await page.goto(base + path)
        await page.evaluate(set_dark)
        background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(15, 17, 21)", background  # the dark --bg applies
        await audit(page, f"dark theme: {label}")
    await page.emulate_media(color_scheme="dark")
    await page.goto(f"{base}/deliveries/{seeded.failed_delivery}")
    await audit(page, "prefers-color-scheme dark: delivery detail")
    await page.emulate_media(color_scheme="light")


async def test_every_dashboard_page_passes_axe(server: ServiceProcess, browser: Browser) -> None:
    audit = Audit()
    async with (
        loopback_receiver(answer_by_execution) as main_url,
        loopback_receiver(gone) as gone_url,
    ):
        seeded = await seed(server, main_url, gone_url)
        base = server.url + "/dashboard"
        context = await browser.new_context(viewport=LAPTOP, device_scale_factor=1)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        await sign_in(page, base, seeded.key, audit)
        await expect(page.locator(".webhooks-table tbody tr")).to_have_count(4)
        for badge in ("disabled", "auto-disabled"):
            await expect(page.locator(f".webhooks-table .badge-{badge}").first).to_be_visible()
        # an enabled endpoint's badge is its 24 h health (healthy, degraded, failing, no traffic)
        health = ", ".join(
            f".webhooks-table .badge-{css}"
            for css in ("healthy", "degraded", "failing", "no-traffic")
        )
        await expect(page.locator(health).first).to_be_visible()
        await audit(page, "webhooks list")
        await save_screenshot(page, "webhooks")
        await audit_add_form(page, base, main_url, audit)
        await audit_detail(page, base, seeded, audit)
        await audit_failing_webhooks(page, base, seeded, audit)
        await audit_delivery_log(page, base, seeded, audit)

        await page.goto(base + "/monitoring")
        await expect(page.get_by_role("heading", name="Monitoring")).to_be_visible()
        await audit(page, "monitoring")
        await save_screenshot(page, "monitoring")

        missing = await page.goto(f"{base}/webhooks/wh_doesnotexist")
        assert missing is not None and missing.status == 404
        await audit(page, "404 page")
        missing = await page.goto(f"{base}/no/such/page")
        assert missing is not None and missing.status == 404
        await audit(page, "unknown address")
        # A form whose CSRF token is wrong: "Form expired" (403).
        await page.goto(f"{base}/webhooks/{seeded.main}")
        await page.locator(".page-head form input[type=hidden]").first.evaluate(
            "input => { input.value = 'forged' }"
        )
        await page.get_by_role("button", name="Disable").click()
        await expect(page.get_by_role("heading", name="Form expired")).to_be_visible()
        await audit(page, "form expired (403)")

        await audit_dark(page, base, seeded, audit)
        for path in (
            "/webhooks",
            f"/webhooks/{seeded.main}",
            f"/webhooks/{seeded.main}/deliveries",
        ):
            await page.goto(base + path)
            await assert_focus_visible(page, path)

        await page.set_viewport_size(PHONE)
        await page.goto(base + "/webhooks")
        await audit(page, "phone: webhooks list")
        await save_screenshot(page, "phone-webhooks", full_page=False)
        await page.goto(f"{base}/webhooks/{seeded.main}/deliveries")
        await page.locator("details.delivery summary").first.click()
        await expect(page.locator(".delivery-detail").first).to_be_visible()
        await audit(page, "phone: delivery log")
        await save_screenshot(page, "phone-delivery-logs", full_page=False)
        await page.goto(f"{base}/webhooks/{seeded.main}")
        await audit(page, "phone: webhook detail")

        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await audit(page, "signed out")
        assert errors == [], errors
        await context.close()
    await audit_empty_account(server, browser, audit)
    print(json.dumps(sorted(audit.findings)))
    audit.assert_clean()
