"""The customer portal embedded for real: examples/portal/server.py serves its page from a
second origin on loopback (http://127.0.0.2, another site than the service's 127.0.0.1), which
asks the running `promptha-webhooks serve` for a portal URL server-side and puts it in an
iframe. In Chromium: the portal opens inside the iframe (its SameSite=None; Secure cookie
kept by a cross-site frame), a webhook is created through it (it exists in the API), the
operator pages are not offered, a read-only session shows no control that changes anything,
and axe-core finds nothing on the portal in light and dark themes."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from aiohttp import web
from playwright.async_api import Browser, Frame, Page, async_playwright, expect

from browser_support import (
    CHROMIUM_ARGS,
    LAPTOP,
    assert_accessible,
    require_axe,
    require_chromium,
    save_screenshot,
)
from support import ADMIN_KEY, Receiver, ServiceProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "portal" / "server.py"
EMBEDDER_HOST = "127.0.0.2"  # another site than the service's 127.0.0.1


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("portal_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port_on(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def embedder_port() -> int:
    try:
        return free_port_on(EMBEDDER_HOST)
    except OSError as exc:  # loopback beyond 127.0.0.1 is not routed here
        pytest.skip(f"cannot bind {EMBEDDER_HOST}: {exc}")


@pytest.fixture
async def server(tmp_path: Path, embedder_port: int) -> AsyncIterator[ServiceProcess]:
    process = ServiceProcess(
        f"sqlite:///{tmp_path / 'portal.db'}",
        tmp_path / "serve.log",
        PROMPTHA_WEBHOOKS_PORTAL_ORIGINS=f"http://{EMBEDDER_HOST}:{embedder_port}",
    )
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


async def new_account(server: ServiceProcess) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await client.post(
            "/v1/accounts",
            json={"name": "Acme"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return body["account"]["id"], body["apiKey"]["key"]


@pytest.fixture
async def embedder(
    server: ServiceProcess, embedder_port: int
) -> AsyncIterator[tuple[str, dict[str, str], str]]:
    """The example app on the second origin: (its URL, its environment, the account's key)."""
    account_id, key = await new_account(server)
    env = {
        "PROMPTHA_WEBHOOKS_API_URL": server.url,
        "PROMPTHA_WEBHOOKS_ADMIN_KEY": ADMIN_KEY,
        "PORTAL_ACCOUNT_ID": account_id,
    }
    runner = web.AppRunner(load_example().make_app(env), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, EMBEDDER_HOST, embedder_port)
    await site.start()
    try:
        yield f"http://{EMBEDDER_HOST}:{embedder_port}/", env, key
    finally:
        await runner.cleanup()


async def open_embedded(page: Page, url: str) -> Frame:
    """Load the embedding page; the portal's frame once its webhook list shows."""
    await page.goto(url)
    portal = page.frame_locator("iframe[title='Webhooks']")
    await expect(portal.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    [frame] = [f for f in page.frames if "/dashboard/" in f.url]
    return frame


async def audit(frame: Frame, label: str) -> None:
    """assert_accessible on the portal's frame. axe-core goes in through Playwright's evaluate
    (the DevTools protocol), not a <script> tag: the dashboard's CSP (script-src 'self') refuses
    inline scripts, and the audit must not weaken it."""
    if not await frame.evaluate("typeof window.axe !== 'undefined'"):
        source = require_axe().read_text(encoding="utf-8")
        await frame.evaluate(f"(function () {{ {source}\n}}).call(window); true")
    await assert_accessible(frame, label)


async def visible_changing_controls(frame: Frame) -> list[str]:
    """Forms that post (but Sign out) and links to Add Webhook that a person can see."""
    found: list[str] = await frame.evaluate(
        """() => [...document.querySelectorAll(
              'form[method=post]:not(.signout), a[href$="/webhooks/new"], button[hx-post], '
              + 'details.confirm')]
            .filter(el => el.offsetParent !== null)
            .map(el => el.outerHTML.slice(0, 120))"""
    )
    return found


async def test_the_portal_embedded_from_another_site(
    browser: Browser,
    embedder: tuple[str, dict[str, str], str],
    server: ServiceProcess,
    receiver: Receiver,
) -> None:
    url, env, key = embedder
    context = await browser.new_context(viewport=LAPTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    frame = await open_embedded(page, url)
    assert "token=" not in frame.url  # the one-time token left the address
    cookies = {c["name"]: c for c in await context.cookies(server.url + "/dashboard")}
    session: Any = cookies["pw_session"]
    assert session["sameSite"] == "None" and session["secure"] and session["httpOnly"]
    portal = page.frame_locator("iframe[title='Webhooks']")
    await expect(portal.get_by_role("link", name="Monitoring")).to_have_count(0)
    await audit(frame, "portal webhooks (light)")

    # Create a webhook through the iframe.
    await portal.get_by_role("link", name="+ Add Webhook").click()
    await portal.get_by_label("Endpoint URL").fill(receiver.url("/portal-hook"))
    await portal.get_by_role("button", name="Save", exact=True).click()
    await expect(portal.get_by_role("heading", name="Webhook created")).to_be_visible()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
        listed = await api.get("/v1/webhooks", headers={"Authorization": f"Bearer {key}"})
    assert [w["url"] for w in listed.json()["data"]] == [receiver.url("/portal-hook")]
    await portal.get_by_role("link", name="All webhooks").click()
    await expect(portal.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    await save_screenshot(page, "portal-embedded")

    # Dark theme with the platform's colour.
    env.update(PORTAL_DARK="1", PORTAL_PRIMARY_COLOR="#ffcc00")
    frame = await open_embedded(page, url)
    assert await frame.evaluate("document.documentElement.dataset.theme") == "dark"
    await audit(frame, "portal webhooks (dark)")
    await portal.get_by_role("link", name=receiver.url("/portal-hook")).first.click()
    await expect(portal.get_by_role("heading", level=1)).to_be_visible()
    await audit(frame, "portal webhook detail (dark)")

    # Read-only: it can look, and nothing it shows would change anything.
    env.update(PORTAL_READ_ONLY="1", PORTAL_DARK="", PORTAL_PRIMARY_COLOR="")
    frame = await open_embedded(page, url)
    await expect(portal.get_by_text("Read-only")).to_be_visible()
    assert await visible_changing_controls(frame) == []
    await portal.get_by_role("link", name=receiver.url("/portal-hook")).first.click()
    await expect(portal.get_by_role("heading", level=1)).to_be_visible()
    assert await visible_changing_controls(frame) == []
    await audit(frame, "portal webhook detail (read-only)")
    await save_screenshot(page, "portal-read-only")
    assert errors == []
    await context.close()


async def test_an_ended_session_says_so_in_its_frame(
    browser: Browser,
    embedder: tuple[str, dict[str, str], str],
) -> None:
    """When the portal's cookie is gone (its session expired), the next page in the iframe
    says the session ended, with no API-key sign-in form (a customer has no key)."""
    url, _env, _key = embedder
    context = await browser.new_context(viewport=LAPTOP)
    page = await context.new_page()
    frame = await open_embedded(page, url)
    await context.clear_cookies()  # what the cookie's Max-Age does at the session's end
    portal = page.frame_locator("iframe[title='Webhooks']")
    await portal.get_by_role("link", name="Events").click()
    await expect(portal.get_by_role("heading", name="Session ended")).to_be_visible()
    await expect(portal.get_by_label("API key")).to_have_count(0)
    [frame] = [f for f in page.frames if "/dashboard/" in f.url]
    await audit(frame, "portal session ended")
    await context.close()
