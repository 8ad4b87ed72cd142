"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) against the real
`promptha-webhooks serve` process: sign in, add a webhook pointing at a real local receiver,
save and test it, find the delivery and its attempt in the logs, resend it, send another test
event with an edited payload, reveal the secret, disable the webhook, and check that a second
account sees none of it; and rotate the secret with a grace period, then complete it."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import standardwebhooks
from playwright.async_api import Browser, Page, async_playwright, expect

from promptha_webhooks.signature_headers import (
    PREVIOUS_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)
from promptha_webhooks.signing import sign

from browser_support import CHROMIUM_ARGS, LAPTOP, PHONE, require_chromium
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


async def new_account(server: ServiceProcess, name: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await client.post(
            "/v1/accounts",
            json={"name": name},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert response.status_code == 201, response.text
        key: str = response.json()["apiKey"]["key"]
        return key


async def sign_in(page: Page, server: ServiceProcess, api_key: str) -> None:
    await page.goto(server.url + "/dashboard")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("API key").fill(api_key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()


async def test_dashboard_end_to_end(
    server: ServiceProcess, browser: Browser, receiver: Receiver
) -> None:
    key_a = await new_account(server, "Acme")
    key_b = await new_account(server, "Globex")
    context = await browser.new_context(
        viewport=LAPTOP, permissions=["clipboard-read", "clipboard-write"]
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )

    await sign_in(page, server, key_a)
    cookies = {c["name"]: c for c in await context.cookies()}
    session = cookies["pw_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert key_a not in session["value"]

    # Settings > Webhooks > Add Webhook: URL, events, save and test.
    await page.get_by_role("link", name="+ Add Webhook").click()
    await page.get_by_label("Endpoint URL").fill(receiver.url("/hooks/promptha"))
    await expect(page.get_by_role("checkbox", name=re.compile("fabric.completed"))).to_be_checked()
    await page.get_by_role("checkbox", name=re.compile("credits.low")).check()
    await page.get_by_label("Description").fill("Completions and low credits")
    await page.get_by_role("button", name="Save and test").click()
    await expect(page.get_by_role("heading", name="Webhook created")).to_be_visible()
    secret = (await page.locator("#new-secret").inner_text()).strip()
    assert secret.startswith("whsec_")
    await page.get_by_role("button", name="Copy").click()
    await expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    await expect(page.locator(".test-result")).to_contain_text("Delivered")
    await expect(page.locator(".test-result")).to_contain_text("HTTP 200")
    [first] = await receiver.wait_for(1, path="/hooks/promptha")
    assert first.headers["x-promptha-test"] == "true"
    assert "/webhooks/wh_" not in page.url or secret not in page.url

    # Delivery logs: expand the delivery from the keyboard (htmx loads it), see the attempt,
    # resend it.
    await page.get_by_role("link", name="Delivery logs").click()
    await expect(page.get_by_role("heading", name="Delivery logs")).to_be_visible()
    rows = page.locator("details.delivery")
    await expect(rows).to_have_count(1)
    await rows.first.locator("summary").focus()
    await page.keyboard.press("Enter")
    detail = rows.first.locator(".delivery-detail")
    await expect(detail).to_contain_text("Attempts (1)")
    await expect(detail.locator(".attempt")).to_contain_text("HTTP 200")
    await expect(detail).to_contain_text('"executionId"')
    await detail.get_by_role("button", name="Resend").click()
    await expect(rows.first.locator(".delivery-detail")).to_contain_text("Resent")
    await expect(rows.first.locator(".delivery-detail")).to_contain_text("Attempts (2)")
    await receiver.wait_for(2, path="/hooks/promptha")

    # Webhook detail: a test event of another type with an edited sample payload.
    await (
        page.get_by_role("navigation", name="Breadcrumb")
        .get_by_role("link", name=re.compile("^wh_"))
        .click()
    )
    await page.get_by_label("Event type").select_option("credits.low")
    payload = page.get_by_label("Payload (data)")
    await expect(payload).to_have_value(re.compile('"threshold"'))
    await payload.fill('{"remaining": 7, "threshold": 100, "userId": "user_e2e"}')
    await page.get_by_role("button", name="Send test event").click()
    await expect(page.locator("#test-result-slot")).to_contain_text("Delivered")
    [*_, third] = await receiver.wait_for(3, path="/hooks/promptha")
    assert third.headers["x-promptha-event"] == "credits.low"
    assert b'"remaining":7' in third.body

    # The secret: hidden on the page, shown by Reveal (a POST).
    assert secret not in await page.content()
    await page.get_by_role("button", name="Reveal").click()
    await expect(page.locator("#webhook-secret")).to_have_text(secret)

    # Disable it.
    await page.get_by_role("button", name="Disable").click()
    await expect(page.get_by_role("status").first).to_contain_text("Webhook disabled")
    await expect(page.locator(".page-head .badge")).to_have_text("Disabled")
    webhook_url = page.url
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    await expect(page.locator(".webhooks-table tbody tr")).to_have_count(1)
    await expect(page.locator(".webhooks-table .badge")).to_have_text("Disabled")
    await page.get_by_role("link", name="Monitoring").click()
    await expect(page.get_by_role("heading", name="Monitoring")).to_be_visible()

    # Phone width: the list still reads (no horizontal scrolling).
    await page.set_viewport_size(PHONE)
    await page.get_by_role("link", name="Webhooks", exact=True).click()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert errors == [], errors

    # A second account sees none of it.
    other = await browser.new_context(viewport=LAPTOP)
    page_b = await other.new_page()
    await sign_in(page_b, server, key_b)
    await expect(page_b.get_by_text("No webhooks yet")).to_be_visible()
    response = await page_b.goto(webhook_url)
    assert response is not None and response.status == 404
    await expect(page_b.get_by_role("heading", name="Not found")).to_be_visible()
    response = await page_b.goto(webhook_url + "/deliveries")
    assert response is not None and response.status == 404
    assert "hooks/promptha" not in await page_b.content()
    await other.close()
    await context.close()


async def test_secret_rotation_from_the_dashboard(
    server: ServiceProcess, browser: Browser, receiver: Receiver
) -> None:
    """Rotate with a grace period: the page shows the new secret once and the rotation state,
    a test event is signed with both secrets, and Complete now ends the overlap."""
    key = await new_account(server, "Rotors")
    async with httpx.AsyncClient(
        base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {key}"}
    ) as api:
        created = await api.post(
            "/v1/webhooks",
            json={"url": receiver.url("/rotating"), "events": ["fabric.completed"]},
        )
        assert created.status_code == 201, created.text
        webhook = created.json()
        old = webhook["secret"]
        context = await browser.new_context(viewport=LAPTOP)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await sign_in(page, server, key)
        await page.goto(f"{server.url}/dashboard/webhooks/{webhook['id']}")
        await expect(page.locator("#rotation-state")).to_contain_text("No rotation in progress")

        await page.get_by_text("Rotate…").click()
        await page.get_by_label("Keep signing with the current secret for").select_option(
            label="1 hour"
        )
        await page.get_by_role("button", name="Rotate secret").click()
        await expect(page.locator("#rotation-state")).to_contain_text("Rotation in progress")
        await expect(page.get_by_text("New secret — update your receiver")).to_be_visible()
        new = (await page.locator("#webhook-secret").inner_text()).strip()
        assert new.startswith("whsec_") and new != old
        stored = (await api.get(f"/v1/webhooks/{webhook['id']}/secret")).json()["secret"]
        assert stored == new

        # A test event during the grace period carries a signature for each secret.
        await page.get_by_role("button", name="Send test event").click()
        await expect(page.locator("#test-result-slot")).to_contain_text("Delivered")
        [request] = await receiver.wait_for(1, path="/rotating")
        timestamp = int(request.headers[TIMESTAMP_HEADER])
        assert request.headers[SIGNATURE_HEADER] == sign(new, timestamp, request.body)
        assert request.headers[PREVIOUS_SIGNATURE_HEADER] == sign(old, timestamp, request.body)

        await page.get_by_role("button", name="Complete now").click()
        await expect(page.locator("#rotation-state")).to_contain_text("No rotation in progress")
        after = (await api.get(f"/v1/webhooks/{webhook['id']}")).json()
        assert after["previousSecretExpiresAt"] is None
        assert new not in await page.content()  # the new secret was shown once, in the answer
        assert errors == [], errors
        await context.close()


async def test_standard_webhooks_signing_chosen_in_the_add_form(
    server: ServiceProcess, browser: Browser, receiver: Receiver
) -> None:
    """Add Webhook with Standard Webhooks signing: the test event it sends verifies with the
    `standardwebhooks` library, given the secret the page showed."""
    key = await new_account(server, "Standards")
    context = await browser.new_context(viewport=LAPTOP)
    page = await context.new_page()
    await sign_in(page, server, key)
    await page.get_by_role("link", name="+ Add Webhook").click()
    await page.get_by_label("Endpoint URL").fill(receiver.url("/standard"))
    await page.get_by_label("Signing").select_option("standard")
    await page.get_by_role("button", name="Save and test").click()
    await expect(page.get_by_role("heading", name="Webhook created")).to_be_visible()
    await expect(page.locator(".test-result")).to_contain_text("Delivered")
    secret = (await page.locator("#new-secret").inner_text()).strip()
    [request] = await receiver.wait_for(1, path="/standard")
    assert "x-promptha-signature" not in request.headers
    verified = standardwebhooks.Webhook(secret).verify(request.body, dict(request.headers))
    assert verified == json.loads(request.body)  # the library hands back the verified payload
    assert request.headers["x-promptha-event"] == "fabric.completed"
    await context.close()


async def test_delivery_settings_in_the_add_form(
    server: ServiceProcess, browser: Browser, receiver: Receiver
) -> None:
    """Add Webhook with a custom header, retry delays and a timeout: the test event carries
    the header, and the Edit form shows the header's name, never its value."""
    key = await new_account(server, "Gateway")
    context = await browser.new_context(viewport=LAPTOP)
    page = await context.new_page()
    await sign_in(page, server, key)
    await page.get_by_role("link", name="+ Add Webhook").click()
    await page.get_by_label("Endpoint URL").fill(receiver.url("/gateway"))
    await page.get_by_label("Custom headers").fill("X-Api-Key: browser-key-42")
    await page.get_by_label("Retry delays").fill("5s, 1m")
    await page.get_by_label("Timeout").fill("10")
    await page.get_by_role("button", name="Save and test").click()
    await expect(page.get_by_role("heading", name="Webhook created")).to_be_visible()
    await expect(page.locator(".test-result")).to_contain_text("Delivered")
    [request] = await receiver.wait_for(1, path="/gateway")
    assert request.headers["X-Api-Key"] == "browser-key-42"
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        [hook] = (
            await client.get("/v1/webhooks", headers={"Authorization": f"Bearer {key}"})
        ).json()["data"]
    assert (hook["headerNames"], hook["retrySchedule"], hook["timeoutSeconds"]) == (
        ["X-Api-Key"],
        [5, 60],
        10,
    )
    await page.goto(f"{server.url}/dashboard/webhooks/{hook['id']}")
    await expect(page.get_by_label("Retry delays")).to_have_value("5s, 1m")
    assert "browser-key-42" not in await page.content()
    await context.close()


async def test_routing_with_the_filter_editor(
    server: ServiceProcess, browser: Browser, receiver: Receiver
) -> None:
    """Tick "All Fabric events", type a payload filter and watch the Try it panel answer live
    (Matches / Does not match), save: a published event that matches reaches the receiver, one
    that does not is never delivered."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = await client.post(
            "/v1/accounts",
            json={"name": "Router"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert created.status_code == 201, created.text
        account, key = created.json()["account"]["id"], created.json()["apiKey"]["key"]
    context = await browser.new_context(viewport=LAPTOP)
    page = await context.new_page()
    await sign_in(page, server, key)
    await page.get_by_role("link", name="+ Add Webhook").click()
    await page.get_by_label("Endpoint URL").fill(receiver.url("/routed"))
    await page.get_by_label("All Fabric events").check()
    await page.get_by_label("fabric.completed").uncheck()
    result = page.locator("#filter-result")
    payload_filter = page.get_by_label("Payload filter")
    # The sample fabric.completed payload's executionId is exec_9f3a2c71.
    await payload_filter.fill('{"data.executionId": {"$prefix": "keep-"}}')
    await payload_filter.press("End")
    await expect(result).to_contain_text("Does not match")
    await expect(result).to_contain_text("filters.data.executionId.$prefix")
    await payload_filter.fill('{"data.executionId": {"$prefix": "exec_"}}')
    await payload_filter.press("End")
    await expect(result).to_contain_text("Matches")
    sample = page.get_by_label("Data to try")
    await expect(sample).to_have_value(re.compile("exec_9f3a2c71"))
    # Another event type brings its own sample, and is tried at once.
    await page.get_by_label("Event to try").select_option("fabric.started")
    await expect(sample).to_have_value(re.compile("productName"))
    await expect(result).to_contain_text("Matches")
    await payload_filter.fill('{"data.executionId": {"$prefix": "keep-"}}')
    await payload_filter.press("End")
    await expect(result).to_contain_text("Does not match")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("heading", name="Webhook created")).to_be_visible()

    auth = {"Authorization": f"Bearer {key}"}
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        [hook] = (await client.get("/v1/webhooks", headers=auth)).json()["data"]
        assert hook["events"] == ["fabric.*"]
        assert hook["filters"] == {"data.executionId": {"$prefix": "keep-"}}
        dropped = {"executionId": "exec_1", "fabricId": "f", "inputs": {}}
        kept = {"executionId": "keep-1", "fabricId": "f", "inputs": {}}
        for data in (dropped, kept):
            published = await client.post(
                "/v1/events",
                json={"account": account, "event": "fabric.started", "data": data},
                headers=admin,
            )
            assert published.status_code == 201, published.text
        [arrived] = await receiver.wait_for(1, path="/routed")
        assert json.loads(arrived.body)["data"]["executionId"] == "keep-1"
        deliveries = await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth)
        assert len(deliveries.json()["data"]) == 1  # the filtered-out event made none
    await page.goto(f"{server.url}/dashboard/webhooks/{hook['id']}")
    await expect(page.get_by_label("All Fabric events")).to_be_checked()
    await expect(page.get_by_label("Payload filter")).to_have_value(re.compile("keep-"))
    await context.close()
