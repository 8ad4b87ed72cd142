"""Broker destinations in the dashboard, in a real browser against the real `serve` process
and the real RabbitMQ on 5672: Add Webhook with the Destination select and the broker fields,
the test event arrives on a queue signed; the detail page shows the kind and the config with
the password as ****, never in the clear; saving the Edit form as shown keeps the stored
password (the next test event arrives too); the form passes axe (WCAG 2 A and AA)."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect
from test_dashboard_browser import browser, new_account, server, sign_in  # noqa: F401

from broker_peers import broker_peer, lower
from promptha_webhooks.receiver.verify import verify

from browser_support import LAPTOP, assert_accessible, save_screenshot
from support import ServiceProcess

PASSWORD_IN_URL = "guest:guest@"


async def test_add_a_rabbitmq_destination_in_the_dashboard(
    server: ServiceProcess,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    key = await new_account(server, "Queues")
    context = await browser.new_context(viewport=LAPTOP)
    page = await context.new_page()
    await sign_in(page, server, key)
    async with broker_peer("rabbitmq") as peer:
        config = peer.config()
        await page.get_by_role("link", name="+ Add Webhook").click()
        await page.get_by_label("Destination", exact=True).select_option("rabbitmq")
        await page.get_by_label("Broker URL").fill(config["url"])
        await page.get_by_label("Routing key").fill(config["routingKey"])
        await assert_accessible(page, "add webhook form with broker fields")
        await save_screenshot(page, "broker-destination")
        await page.get_by_role("button", name="Save and test").click()
        await expect(page.get_by_role("heading", name="Webhook created")).to_be_visible()
        await expect(page.locator(".test-result")).to_contain_text("Delivered")
        message = await peer.next_message()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            auth = {"Authorization": f"Bearer {key}"}
            [hook] = (await client.get("/v1/webhooks", headers=auth)).json()["data"]
            secret = (await client.get(f"/v1/webhooks/{hook['id']}/secret", headers=auth)).json()
        verify(message.body, lower(message.headers), secret["secret"])
        assert hook["type"] == "rabbitmq" and hook["config"]["url"].startswith("amqp://guest:****@")
        assert PASSWORD_IN_URL not in await page.content()

        await page.goto(f"{server.url}/dashboard/webhooks/{hook['id']}")
        destination = page.get_by_role("region", name="Destination")
        await expect(destination).to_contain_text("rabbitmq")
        await expect(destination).to_contain_text("amqp://guest:****@127.0.0.1:5672/")
        await expect(page.get_by_label("Broker URL")).to_have_value(hook["config"]["url"])
        assert PASSWORD_IN_URL not in await page.content()
        await assert_accessible(page, "webhook detail with a broker destination")
        # Saved as shown (password masked): the stored password is kept, deliveries go on.
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("status").first).to_be_visible()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            tested = await client.post(
                "/v1/webhooks/test",
                json={"webhookId": hook["id"], "event": "fabric.completed"},
                headers=auth,
            )
        assert tested.status_code == 200 and tested.json()["success"] is True, tested.text
        again = await peer.next_message()
        assert lower(again.headers)["x-promptha-test"] == "true"
    await context.close()
