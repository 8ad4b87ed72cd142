"""A newcomer's first clicks, in Debian's Chromium against the real `serve` process with every
request off this machine aborted: the API reference (/docs, Swagger UI) renders its operations
from files the service ships, and the service's root sends a browser to the dashboard (an API
client gets a JSON index instead)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Request, Route, async_playwright, expect

from browser_support import CHROMIUM_ARGS, LAPTOP, require_chromium
from support import ServiceProcess

pytestmark = pytest.mark.slow

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
RENDER_TIMEOUT_MS = 30_000


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    process = ServiceProcess(f"sqlite:///{tmp_path / 'docs.db'}", tmp_path / "serve.log")
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


class Offline:
    """A browser context with no network but loopback: every other request is aborted and
    remembered (data: and blob: URLs never reach the network and are not routed)."""

    def __init__(self) -> None:
        self.left_loopback: list[str] = []
        self.requested: list[str] = []

    async def route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK_HOSTS:
            await route.continue_()
        else:
            self.left_loopback.append(url)
            await route.abort("internetdisconnected")

    def seen(self, request: Request) -> None:
        self.requested.append(request.url)

    async def context(self, browser: Browser) -> BrowserContext:
        context = await browser.new_context(viewport=LAPTOP, service_workers="block")
        await context.route("**/*", self.route)
        context.on("request", self.seen)
        return context


async def operation_ids(server: ServiceProcess) -> set[str]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        document = (await client.get("/openapi.json")).json()
    found = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert len(found) >= 20
    return found


async def test_swagger_ui_renders_the_operations_offline(
    server: ServiceProcess, browser: Browser
) -> None:
    expected = await operation_ids(server)
    offline = Offline()
    context = await offline.context(browser)
    page = await context.new_page()
    await page.goto(server.url + "/docs")
    await expect(page.get_by_role("heading", name="Promptha Webhooks", level=1)).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    # One block per operation of the OpenAPI document, each with its method and path.
    blocks = page.locator(".opblock")
    await expect(blocks).to_have_count(len(expected))
    # Each block's id is operations-<tag>-<operationId>.
    rendered = [str(await block.get_attribute("id")) for block in await blocks.all()]
    assert all(any(r.endswith("-" + op) for r in rendered) for op in expected), rendered
    # Open one: its parameters and responses render too (the whole UI works, not just a list).
    create = page.get_by_role("button", name="POST /v1/webhooks Create Webhook", exact=True)
    await create.click()
    await expect(page.locator(".opblock.is-open .responses-wrapper")).to_be_visible()
    assert offline.left_loopback == [], offline.left_loopback
    assert any(url.endswith("/docs-static/swagger-ui-bundle.js") for url in offline.requested)
    await context.close()


async def test_redoc_is_not_served(server: ServiceProcess) -> None:
    """ReDoc 2 always loads its maker's logo from a CDN: /redoc is off rather than half offline
    (Swagger UI at /docs is the reference)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await client.get("/redoc")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"


async def test_the_root_sends_a_browser_to_the_dashboard(
    server: ServiceProcess, browser: Browser
) -> None:
    offline = Offline()
    context = await offline.context(browser)
    page = await context.new_page()
    response = await page.goto(server.url + "/")
    assert response is not None and response.ok
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert urlsplit(page.url).path.startswith("/dashboard")
    first = response.request.redirected_from
    while first is not None and first.redirected_from is not None:
        first = first.redirected_from
    assert first is not None and urlsplit(first.url).path == "/"
    first_response = await first.response()
    assert first_response is not None and first_response.status == 307
    assert offline.left_loopback == []
    await context.close()


async def test_the_root_answers_an_api_client_with_a_json_index(server: ServiceProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        for accept in ("application/json", "*/*"):
            response = await client.get("/", headers={"Accept": accept})
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
            assert "Accept" in response.headers["vary"]
            index = response.json()
            assert index["dashboard"] == "/dashboard"
            assert index["docs"] == "/docs" and index["api"] == "/v1"
            # Every link it gives leads somewhere.
            for key in ("docs", "openapi", "health"):
                assert (await client.get(index[key])).status_code == 200, key
        browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        redirect = await client.get("/", headers={"Accept": browser_accept})
        assert redirect.status_code == 307
        assert redirect.headers["location"] == "/dashboard"
        # text/html refused outright (q=0) is not a browser asking for a page.
        assert (await client.get("/", headers={"Accept": "text/html;q=0"})).status_code == 200
