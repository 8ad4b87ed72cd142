"""Screenshots of the dashboard for the README: `make screenshots`.

Starts `promptha-webhooks serve` on a scratch SQLite database and a free port, a local receiver
(some endpoints answer 200, one fails with 500, one with 410), creates an account with a few
webhooks and publishes sample events, then drives Debian's Chromium through the main pages and
saves PNGs into docs/screenshots/ (laptop width, plus the list and the logs at phone width).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "e2e")]

from browser_support import CHROMIUM_ARGS, LAPTOP, PHONE, find_chromium  # noqa: E402
from support import ADMIN_KEY, ServiceProcess  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
FABRICS = ["product-description", "seo-optimizer", "blog-outline"]


async def start_receiver() -> tuple[web.AppRunner, str]:
    calls = {"n": 0}

    async def ok(_request: web.Request) -> web.Response:
        await asyncio.sleep(random.uniform(0.005, 0.06))
        return web.json_response({"received": True})

    async def flaky(_request: web.Request) -> web.Response:
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            return web.Response(status=500, text="upstream database timeout")
        return web.json_response({"queued": True}, status=202)

    async def gone(_request: web.Request) -> web.Response:
        return web.Response(status=410, text="This endpoint was removed")

    app = web.Application()
    app.router.add_post("/webhooks/promptha", ok)
    app.router.add_post("/webhooks/alerts", flaky)
    app.router.add_post("/old/hook", gone)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def seed(api: httpx.AsyncClient, receiver: str) -> tuple[str, str, str]:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    created = (await api.post("/v1/accounts", json={"name": "Acme Inc"}, headers=admin)).json()
    account, key = created["account"]["id"], created["apiKey"]["key"]
    auth = {"Authorization": f"Bearer {key}"}

    async def webhook(**fields: Any) -> str:
        response = await api.post("/v1/webhooks", json=fields, headers=auth)
        assert response.status_code == 201, response.text
        webhook_id: str = response.json()["id"]
        return webhook_id

    old = await webhook(
        url=receiver + "/old/hook", events=["ask.message"], description="Legacy chat sync"
    )
    await api.patch(f"/v1/webhooks/{old}", json={"enabled": False}, headers=auth)
    alerts = await webhook(
        url=receiver + "/webhooks/alerts",
        events=["credits.low", "credits.depleted", "fabric.failed"],
        description="Ops alerts",
    )
    main = await webhook(
        url=receiver + "/webhooks/promptha",
        # fabricId is in fabric events only: a filter on it takes fabric events only
        events=["fabric.started", "fabric.completed", "fabric.failed"],
        filters={"fabricId": ["product-description", "seo-optimizer"]},
        description="Production completions",
    )
    events: list[dict[str, Any]] = []
    for i in range(36):
        fabric = FABRICS[i % 3]
        execution = f"exec_{i:04d}"
        if i % 7 == 3:
            data = {
                "executionId": execution,
                "fabricId": fabric,
                "error": {"type": "rate_limit", "message": "Model rate limit exceeded"},
            }
            events.append({"event": "fabric.failed", "data": data})
        elif i % 5 == 4:
            data = {"remaining": 500 - i * 10, "threshold": 500, "userId": "user_7d2f"}
            events.append({"event": "credits.low", "data": data})
        else:
            data = {
                "executionId": execution,
                "fabricId": fabric,
                "result": {"output": f"Generated copy #{i}"},
                "usage": {"promptTokens": 180 + i, "completionTokens": 60, "totalTokens": 240 + i},
            }
            events.append({"event": "fabric.completed", "data": data})
    response = await api.post(
        "/v1/events/batch", json={"account": account, "events": events}, headers=admin
    )
    assert response.status_code == 201, response.text
    await api.post(
        "/v1/webhooks/test",
        json={"webhookId": old, "event": "ask.message", "data": {}},
        headers=auth,
    )
    await asyncio.sleep(3)  # let the dispatcher deliver (and retry) the batch
    return key, main, alerts


async def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    await page.wait_for_load_state("networkidle")
    await page.screenshot(path=str(OUT / f"{name}.png"), full_page=full_page)
    print("saved", OUT / f"{name}.png")


async def main() -> None:
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("Chromium not found at /usr/bin/chromium: apt-get install -y chromium")
    OUT.mkdir(parents=True, exist_ok=True)
    runner, receiver = await start_receiver()
    with tempfile.TemporaryDirectory() as scratch:
        server = ServiceProcess(
            f"sqlite:///{Path(scratch) / 'shots.db'}", Path(scratch) / "serve.log"
        )
        server.start()
        try:
            await server.wait_ready()
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
                key, main_id, alerts_id = await seed(api, receiver)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=chromium, args=CHROMIUM_ARGS
                )
                context = await browser.new_context(viewport=LAPTOP, device_scale_factor=1)
                page = await context.new_page()
                base = server.url + "/dashboard"
                await page.goto(base + "/login")
                await shoot(page, "sign-in")
                await page.get_by_label("API key").fill(key)
                await page.get_by_role("button", name="Sign in").click()
                await shoot(page, "webhooks")

                await page.goto(base + "/webhooks/new")
                await page.get_by_label("Endpoint URL").fill("ftp://yourapp.com/hooks")
                await page.get_by_role("button", name="Save", exact=True).click()
                await shoot(page, "add-webhook")
                await page.get_by_label("Endpoint URL").fill(receiver + "/webhooks/promptha")
                await page.get_by_role("checkbox", name=re.compile("fabric.failed")).check()
                await page.get_by_role("button", name="Save and test").click()
                await shoot(page, "webhook-created")

                await page.goto(f"{base}/webhooks/{main_id}")
                await page.get_by_label("Event type").select_option("fabric.completed")
                await page.get_by_role("button", name="Send test event").click()
                await page.locator("#test-result-slot .alert").wait_for()
                await shoot(page, "webhook-detail")

                await page.goto(f"{base}/webhooks/{alerts_id}/deliveries")
                # The delivery with the most attempts shows failures, retries and the answer.
                rows = page.locator("details.delivery")
                counts = [
                    int((await rows.nth(i).locator(".attempt-count").inner_text()).split()[0])
                    for i in range(await rows.count())
                ]
                row = rows.nth(counts.index(max(counts)))
                await row.locator("summary").click()
                await row.locator(".delivery-detail").wait_for()
                # Open the newest attempt's request and response (failed ones open by default).
                for summary in (await row.locator(".attempt details > summary").all())[:2]:
                    await summary.click()
                await shoot(page, "delivery-logs")

                await page.goto(base + "/monitoring")
                await shoot(page, "monitoring")

                await page.set_viewport_size(PHONE)
                await page.goto(base + "/webhooks")
                await shoot(page, "phone-webhooks", full_page=False)
                await page.goto(f"{base}/webhooks/{main_id}/deliveries")
                await page.locator("details.delivery summary").first.click()
                await page.locator(".delivery-detail").first.wait_for()
                await shoot(page, "phone-delivery-logs", full_page=False)
                await browser.close()
        finally:
            server.stop()
            await runner.cleanup()
    print(json.dumps(sorted(p.name for p in OUT.glob("*.png"))))


if __name__ == "__main__":
    asyncio.run(main())
