"""A create form posted again (a reload of the page that shows the new secret) creates nothing:
Add Webhook and Create API key carry a one-time `form_id`, and the sealed cookie the created
page sets turns the re-post into a 303 to what was created, without the secret. Also in a
customer-portal session (its cookie's attributes), with a forged or foreign cookie ignored.
Over ASGI, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
from test_dashboard import CSRF_RE, key_of, new_client
from test_dashboard import sign_in as signed_in

from promptha_webhooks.dashboard.repost import CREATED_COOKIE, MAX_REMEMBERED

from support import Receiver, Service, ServiceFactory

FORM_ID_RE = re.compile(r'name="form_id" value="([^"]+)"')
SECRET_RE = re.compile(r'<code id="new-secret" class="secret">([^<]+)</code>')
KEY_RE = re.compile(r'<code id="new-api-key" class="secret">(pwk_[^<]+)</code>')
URL = "https://acme.example.com/hook"


async def sign_in(client: httpx.AsyncClient, api_key: str) -> None:
    done = await signed_in(client, api_key)
    assert done.status_code == 303, done.text


async def open_form(client: httpx.AsyncClient, path: str) -> dict[str, str]:
    """The page's hidden fields: its CSRF token and its create form's one-time id."""
    page = await client.get(path)
    assert page.status_code == 200, page.text
    csrf, form_id = CSRF_RE.search(page.text), FORM_ID_RE.search(page.text)
    assert csrf and form_id, page.text
    return {"csrf_token": csrf.group(1), "form_id": form_id.group(1)}


async def webhooks(service: Service, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = await service.client.get("/v1/webhooks", headers=auth)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def api_keys(service: Service, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = await service.client.get("/v1/keys", headers=auth)
    assert response.status_code == 200, response.text
    keys: list[dict[str, Any]] = response.json()
    return keys


def new_webhook_form(hidden: dict[str, str], url: str = URL) -> dict[str, str]:
    return hidden | {"url": url, "events": "fabric.completed", "action": "save"}


async def test_the_add_webhook_form_posted_twice_creates_one_webhook(service: Service) -> None:
    _account, auth = await service.create_account()
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        form = new_webhook_form(await open_form(browser, "/dashboard/webhooks/new"))

        first = await browser.post("/dashboard/webhooks/new", data=form)
        assert first.status_code == 201, first.text
        secret = SECRET_RE.search(first.text)
        assert secret and secret.group(1).startswith("whsec_")
        cookie = next(c for c in first.headers.get_list("set-cookie") if CREATED_COOKIE in c)
        assert "HttpOnly" in cookie and "Path=/dashboard" in cookie and "SameSite=lax" in cookie
        assert secret.group(1) not in cookie
        (created,) = await webhooks(service, auth)

        again = await browser.post("/dashboard/webhooks/new", data=form)  # the reload
        assert again.status_code == 303, again.text
        assert again.headers["location"] == (
            f"/dashboard/webhooks/{created['id']}?done=already-created"
        )
        assert secret.group(1) not in again.text and "whsec_" not in again.text
        assert [w["id"] for w in await webhooks(service, auth)] == [created["id"]]
        shown = await browser.get(again.headers["location"])
        assert shown.status_code == 200 and "already created this webhook" in shown.text
        assert secret.group(1) not in shown.text

        # A fresh form is a new webhook; a form without form_id (a script, an old tab) creates
        # unprotected, as before; a malformed one is refused with nothing created.
        fresh = new_webhook_form(await open_form(browser, "/dashboard/webhooks/new"))
        assert fresh["form_id"] != form["form_id"]
        assert (await browser.post("/dashboard/webhooks/new", data=fresh)).status_code == 201
        bare = {k: v for k, v in fresh.items() if k != "form_id"}
        assert (await browser.post("/dashboard/webhooks/new", data=bare)).status_code == 201
        assert (await browser.post("/dashboard/webhooks/new", data=bare)).status_code == 201
        assert len(await webhooks(service, auth)) == 4
        for bad in ("short", "x" * 65, "a b c d e f g h i j k", "é" * 20):
            refused = await browser.post("/dashboard/webhooks/new", data=form | {"form_id": bad})
            assert refused.status_code == 400 and "out of date" in refused.text
        assert len(await webhooks(service, auth)) == 4
        # The first form is still remembered after the others.
        later = await browser.post("/dashboard/webhooks/new", data=form)
        assert later.status_code == 303 and created["id"] in later.headers["location"]


async def test_a_form_shown_again_keeps_its_id_and_deleted_webhooks(service: Service) -> None:
    _account, auth = await service.create_account()
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        hidden = await open_form(browser, "/dashboard/webhooks/new")
        invalid = await browser.post(
            "/dashboard/webhooks/new", data=new_webhook_form(hidden, url="not a url")
        )
        assert invalid.status_code == 400
        assert f'name="form_id" value="{hidden["form_id"]}"' in invalid.text
        tried = await browser.post(
            "/dashboard/webhooks/new/try-filter", data=new_webhook_form(hidden)
        )
        assert f'name="form_id" value="{hidden["form_id"]}"' in tried.text
        assert await webhooks(service, auth) == []

        form = new_webhook_form(hidden)
        assert (await browser.post("/dashboard/webhooks/new", data=form)).status_code == 201
        (created,) = await webhooks(service, auth)
        deleted = await browser.post(f"/dashboard/webhooks/{created['id']}/delete", data=hidden)
        assert deleted.status_code == 303
        again = await browser.post("/dashboard/webhooks/new", data=form)
        assert again.status_code == 303
        assert again.headers["location"] == "/dashboard/webhooks?done=already-created-deleted"
        assert await webhooks(service, auth) == []


async def test_the_cookie_is_the_sessions_own_and_cannot_be_forged(service: Service) -> None:
    _account, auth = await service.create_account()
    _other, other_auth = await service.create_account("Globex")
    theirs = await service.create_webhook(other_auth, url="https://globex.example.com/hook")
    async with new_client(service) as browser, new_client(service) as second:
        await sign_in(browser, key_of(auth))
        form = new_webhook_form(await open_form(browser, "/dashboard/webhooks/new"))
        assert (await browser.post("/dashboard/webhooks/new", data=form)).status_code == 201
        sealed = browser.cookies[CREATED_COOKIE]

        # Pointed at another account's webhook: the seal no longer holds, so it is ignored.
        payload, signature = sealed.split(".")
        entries = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        entries[0][2] = theirs["id"]
        forged = base64.urlsafe_b64encode(json.dumps(entries).encode()).rstrip(b"=").decode()
        browser.cookies.set(CREATED_COOKIE, f"{forged}.{signature}", path="/dashboard")
        answer = await browser.post("/dashboard/webhooks/new", data=form)
        assert answer.status_code == 201  # not a redirect to their webhook
        assert theirs["id"] not in answer.headers.get("location", "")
        assert len(await webhooks(service, auth)) == 2

        # Another session of the same account does not take the cookie either.
        await sign_in(second, key_of(auth))
        other_form = new_webhook_form(await open_form(second, "/dashboard/webhooks/new"))
        second.cookies.set(CREATED_COOKIE, sealed, path="/dashboard")
        again = await second.post(
            "/dashboard/webhooks/new", data=other_form | {"form_id": form["form_id"]}
        )
        assert again.status_code == 201
        assert len(await webhooks(service, auth)) == 3


async def test_the_cookie_remembers_the_last_creates_only(service: Service) -> None:
    _account, auth = await service.create_account()
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        forms = []
        for n in range(MAX_REMEMBERED + 1):
            form = new_webhook_form(
                await open_form(browser, "/dashboard/webhooks/new"), url=f"{URL}/{n}"
            )
            assert (await browser.post("/dashboard/webhooks/new", data=form)).status_code == 201
            forms.append(form)
        assert len(browser.cookies[CREATED_COOKIE]) < 1500
        assert (await browser.post("/dashboard/webhooks/new", data=forms[1])).status_code == 303
        # The oldest fell out of the cookie: re-posted, it creates again (bounded memory).
        assert (await browser.post("/dashboard/webhooks/new", data=forms[0])).status_code == 201
        assert len(await webhooks(service, auth)) == MAX_REMEMBERED + 2


async def test_the_create_key_form_posted_twice_makes_one_key(service: Service) -> None:
    _account, auth = await service.create_account()
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        form = await open_form(browser, "/dashboard/keys")
        first = await browser.post("/dashboard/keys", data=form)
        assert first.status_code == 201, first.text
        key = KEY_RE.search(first.text)
        assert key
        assert len(await api_keys(service, auth)) == 2

        again = await browser.post("/dashboard/keys", data=form)  # the reload, without JS
        assert again.status_code == 303
        assert again.headers["location"] == "/dashboard/keys?done=key-already-created"
        assert key.group(1) not in again.text
        assert len(await api_keys(service, auth)) == 2
        listing = await browser.get(again.headers["location"])
        assert "already created an API key" in listing.text and key.group(1) not in listing.text
        # The page after a create carries a new form: a deliberate second click is a new key.
        fresh = FORM_ID_RE.search(first.text)
        assert fresh and fresh.group(1) != form["form_id"]
        second = await browser.post("/dashboard/keys", data=form | {"form_id": fresh.group(1)})
        assert second.status_code == 201
        assert len(await api_keys(service, auth)) == 3


async def test_a_portal_session_reposts_create_nothing(make_service: ServiceFactory) -> None:
    service = await make_service(portal_origins=("https://app.example.com",))
    account_id, auth = await service.create_account()
    link = await service.client.post(
        f"/v1/accounts/{account_id}/portal-sessions", json={}, headers=service.admin()
    )
    assert link.status_code == 201, link.text
    url = httpx.URL(link.json()["url"])
    async with new_client(service, "https") as portal:
        opened = await portal.get(f"{url.path}?{url.query.decode()}")
        assert opened.status_code == 303
        form = new_webhook_form(await open_form(portal, "/dashboard/webhooks/new"))
        first = await portal.post("/dashboard/webhooks/new", data=form)
        assert first.status_code == 201, first.text
        cookie = next(c for c in first.headers.get_list("set-cookie") if CREATED_COOKIE in c)
        for attribute in ("HttpOnly", "Secure", "SameSite=None", "Partitioned", "Path=/dashboard"):
            assert attribute in cookie
        again = await portal.post("/dashboard/webhooks/new", data=form)
        assert again.status_code == 303 and "done=already-created" in again.headers["location"]
        assert len(await webhooks(service, auth)) == 1


async def test_the_rotate_form_posted_twice_rotates_once(service: Service) -> None:
    _account, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=URL)
    wid = webhook["id"]
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        form = await open_form(browser, f"/dashboard/webhooks/{wid}") | {"grace_period": "3600"}
        first = await browser.post(f"/dashboard/webhooks/{wid}/rotate-secret", data=form)
        assert first.status_code == 200, first.text
        now = (await service.client.get(f"/v1/webhooks/{wid}/secret", headers=auth)).json()
        assert now["secret"] != webhook["secret"] and now["secret"] in first.text
        state = (await service.client.get(f"/v1/webhooks/{wid}", headers=auth)).json()

        again = await browser.post(f"/dashboard/webhooks/{wid}/rotate-secret", data=form)
        assert again.status_code == 303
        assert again.headers["location"] == f"/dashboard/webhooks/{wid}?done=already-rotated"
        assert now["secret"] not in again.text
        after = (await service.client.get(f"/v1/webhooks/{wid}/secret", headers=auth)).json()
        assert after["secret"] == now["secret"]  # not rotated again: the first secret still
        later = (await service.client.get(f"/v1/webhooks/{wid}", headers=auth)).json()
        assert later["previousSecretExpiresAt"] == state["previousSecretExpiresAt"]
        shown = await browser.get(again.headers["location"])
        assert "already rotated the signing secret" in shown.text

        htmx = await browser.post(
            f"/dashboard/webhooks/{wid}/rotate-secret", data=form, headers={"HX-Request": "true"}
        )
        assert htmx.headers["HX-Redirect"] == again.headers["location"]
        # The answer's own Rotate form is a fresh one: rotating again on purpose still works.
        fresh = FORM_ID_RE.search(first.text)
        assert fresh and fresh.group(1) != form["form_id"]
        second = await browser.post(
            f"/dashboard/webhooks/{wid}/rotate-secret", data=form | {"form_id": fresh.group(1)}
        )
        assert second.status_code == 200
        last = (await service.client.get(f"/v1/webhooks/{wid}/secret", headers=auth)).json()
        assert last["secret"] not in (now["secret"], webhook["secret"])


async def test_save_and_test_with_patterns_answers_the_created_page(
    service: Service, receiver: Receiver
) -> None:
    """ "Save and test" with only patterns selected sends a test of a type the first pattern
    covers; a test that cannot be sent (the webhook was made, the receiver is down) shows its
    error on the created page, which is remembered like any: a reload creates nothing."""
    _account, auth = await service.create_account()
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        hidden = await open_form(browser, "/dashboard/webhooks/new")
        form = hidden | {"url": receiver.url("/pattern"), "events": "credits.*"}
        first = await browser.post("/dashboard/webhooks/new", data=form | {"action": "save_test"})
        assert first.status_code == 201, first.text
        assert "Webhook created" in first.text and "Test event" in first.text
        [request] = receiver.on("/pattern")
        assert request.headers["x-promptha-event"].startswith("credits.")
        assert json.loads(request.body)["event"] == request.headers["x-promptha-event"]

        hidden = await open_form(browser, "/dashboard/webhooks/new")
        form = hidden | {"url": receiver.url("/every"), "events": "*", "action": "save_test"}
        every = await browser.post("/dashboard/webhooks/new", data=form)
        assert every.status_code == 201 and SECRET_RE.search(every.text), every.text
        again = await browser.post("/dashboard/webhooks/new", data=form)
        assert again.status_code == 303, again.text
        assert len(await webhooks(service, auth)) == 2
        assert len(receiver.on("/every")) == 1
