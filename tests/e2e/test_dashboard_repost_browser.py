"""Reloading the "Webhook created" page in Chromium (Playwright, against the real `promptha-
webhooks serve`): the reload posts the Add Webhook form again (the resubmit dialog accepted),
and that re-post creates no second webhook but lands on the webhook's page, without the secret.
The same with JavaScript off for a new API key (its history trick needs JS) and for Rotate (its
answer is the whole page then): no second key, no second rotation."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from playwright.async_api import Browser, BrowserContext, Dialog, Page, Request, Route, expect
from test_dashboard_browser import browser, new_account, server, sign_in  # noqa: F401

from browser_support import LAPTOP, assert_accessible
from support import Receiver, ServiceProcess


async def api_list(process: ServiceProcess, api_key: str, path: str) -> list[dict[str, object]]:
    async with httpx.AsyncClient(base_url=process.url, timeout=30) as client:
        response = await client.get(path, headers={"Authorization": f"Bearer {api_key}"})
        assert response.status_code == 200, response.text
        body = response.json()
        listed: list[dict[str, object]] = body["data"] if isinstance(body, dict) else body
        return listed


def watch(page: Page) -> tuple[list[str], list[str]]:
    """Accept every dialog (Chromium's "Confirm form resubmission", if it asks) and record the
    dialogs and the POSTs made."""
    dialogs: list[str] = []
    posts: list[str] = []

    async def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.type)
        await dialog.accept()

    def record(request: Request) -> None:
        if request.method == "POST" and request.is_navigation_request():
            posts.append(request.url)

    page.on("dialog", accept)
    page.on("request", record)
    return dialogs, posts


@dataclass(frozen=True)
class SignedIn:
    """A new account's key, signed in on a fresh page of its own context; the page's errors
    and the navigation POSTs it makes (`watch`; every dialog accepted)."""

    key: str
    context: BrowserContext
    page: Page
    errors: list[str]
    posts: list[str]


async def open_dashboard(
    process: ServiceProcess, chromium: Browser, *, javascript: bool = True
) -> SignedIn:
    key = await new_account(process, "Acme")
    context = await chromium.new_context(viewport=LAPTOP, java_script_enabled=javascript)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _dialogs, posts = watch(page)
    await sign_in(page, process, key)
    return SignedIn(key, context, page, errors, posts)


async def test_reloading_the_webhook_created_page_creates_no_second_webhook(
    server: ServiceProcess,  # noqa: F811
    browser: Browser,  # noqa: F811
    receiver: Receiver,
) -> None:
    signed = await open_dashboard(server, browser)
    key, context, page, errors, posts = (
        signed.key,
        signed.context,
        signed.page,
        signed.errors,
        signed.posts,
    )

    await page.get_by_role("link", name="+ Add Webhook").click()
    await page.get_by_label("Endpoint URL").fill(receiver.url("/once"))
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("heading", name="Webhook created")).to_be_visible()
    secret = (await page.locator("#new-secret").inner_text()).strip()
    assert secret.startswith("whsec_")
    [created] = await api_list(server, key, "/v1/webhooks")
    cookies = {c["name"]: c for c in await context.cookies(server.url + "/dashboard")}
    assert cookies["pw_created"]["httpOnly"] and secret not in cookies["pw_created"]["value"]

    posts.clear()
    await page.reload()
    assert posts == [server.url + "/dashboard/webhooks/new"]  # the reload did post the form
    await expect(page).to_have_url(
        f"{server.url}/dashboard/webhooks/{created['id']}?done=already-created"
    )
    await expect(page.locator(".notice")).to_contain_text("already created this webhook")
    await expect(page.get_by_role("heading", name="Webhook created")).to_have_count(0)
    assert secret not in await page.content()
    assert [w["id"] for w in await api_list(server, key, "/v1/webhooks")] == [created["id"]]
    await assert_accessible(page, "webhook page after a re-posted Add Webhook form")

    # Another reload is a plain GET of the webhook's page now.
    posts.clear()
    await page.reload()
    assert posts == []
    await expect(page.locator(".notice")).to_contain_text("already created this webhook")
    assert len(await api_list(server, key, "/v1/webhooks")) == 1

    # The secret can still be revealed there.
    await page.get_by_role("button", name="Reveal").click()
    await expect(page.locator("#secret-slot")).to_contain_text(secret)
    assert errors == []
    await context.close()


async def test_without_javascript_reloads_make_no_second_key_or_rotation(
    server: ServiceProcess,  # noqa: F811
    browser: Browser,  # noqa: F811
    receiver: Receiver,
) -> None:
    signed = await open_dashboard(server, browser, javascript=False)
    key, context, page, posts = signed.key, signed.context, signed.page, signed.posts
    await page.goto(server.url + "/dashboard/keys")
    await page.get_by_role("button", name="+ Create API key").click()
    shown = page.locator("#new-api-key")
    new_key = (await shown.inner_text()).strip()
    assert new_key.startswith("pwk_")
    assert len(await api_list(server, key, "/v1/keys")) == 2

    posts.clear()
    await page.reload()
    assert posts == [server.url + "/dashboard/keys"]
    await expect(page).to_have_url(f"{server.url}/dashboard/keys?done=key-already-created")
    await expect(page.get_by_role("status")).to_contain_text("already created an API key")
    assert new_key not in await page.content()
    assert len(await api_list(server, key, "/v1/keys")) == 2

    # Rotate (its answer is the whole page without JavaScript): a reload rotates no second time.
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
        made = await api.post(
            "/v1/webhooks",
            json={"url": receiver.url("/rotate"), "events": ["fabric.completed"]},
            headers=auth,
        )
        assert made.status_code == 201, made.text
        wid = made.json()["id"]
        await page.goto(f"{server.url}/dashboard/webhooks/{wid}")
        await page.get_by_text("Rotate…").click()
        await page.get_by_label("Keep signing with the current secret for").select_option("3600")
        await page.get_by_role("button", name="Rotate secret").click()
        rotated = (await api.get(f"/v1/webhooks/{wid}/secret", headers=auth)).json()["secret"]
        assert rotated in await page.content()
        posts.clear()
        await page.reload()
        assert posts == [f"{server.url}/dashboard/webhooks/{wid}/rotate-secret"]
        await expect(page).to_have_url(
            f"{server.url}/dashboard/webhooks/{wid}?done=already-rotated"
        )
        await expect(page.locator(".notice")).to_contain_text("already rotated")
        assert rotated not in await page.content()
        now = (await api.get(f"/v1/webhooks/{wid}/secret", headers=auth)).json()["secret"]
        assert now == rotated
    await context.close()


async def test_a_double_click_on_save_sends_the_form_once(
    server: ServiceProcess,  # noqa: F811
    browser: Browser,  # noqa: F811
    receiver: Receiver,
) -> None:
    """Two clicks before the answer arrives: the second submit is dropped in the page
    (app.js), so one POST and one webhook; a fresh form creates again."""
    signed = await open_dashboard(server, browser)
    key, context, page, errors, posts = (
        signed.key,
        signed.context,
        signed.page,
        signed.errors,
        signed.posts,
    )
    await page.get_by_role("link", name="+ Add Webhook").click()
    await page.get_by_label("Endpoint URL").fill(receiver.url("/double"))
    posts.clear()

    async def slow(route: Route) -> None:  # the answer takes a while: time for a second click
        await asyncio.sleep(0.5)
        await route.continue_()

    await page.route("**/dashboard/webhooks/new", slow)
    # Two clicks 100 ms apart, while the first POST is still on its way.
    await page.evaluate(
        """() => {
            const save = document.querySelector("button[name=action][value=save]");
            save.click();
            setTimeout(() => save.click(), 100);
        }"""
    )
    await expect(page.get_by_role("heading", name="Webhook created")).to_be_visible()
    await page.unroute("**/dashboard/webhooks/new")
    assert posts == [server.url + "/dashboard/webhooks/new"]
    assert len(await api_list(server, key, "/v1/webhooks")) == 1

    # A new form (a fresh visit) is its own create.
    await page.goto(server.url + "/dashboard/webhooks/new")
    await page.get_by_label("Endpoint URL").fill(receiver.url("/second"))
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("heading", name="Webhook created")).to_be_visible()
    assert len(await api_list(server, key, "/v1/webhooks")) == 2
    assert errors == []
    await context.close()
