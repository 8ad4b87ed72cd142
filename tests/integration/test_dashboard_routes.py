"""Every dashboard route, enumerated from the page groups' routers (so a route added later is
covered without being listed here): each page group's router is mounted, every route but
sign-in sends a visitor without a session to the sign-in page, and every form a signed-in
account posts without its CSRF token is refused and changes nothing."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.routing import APIRoute

from promptha_webhooks.dashboard import MOUNT_PATH, pages

from support import Receiver, Service

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PAYLOAD = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}
# Open without a session: the front door (it redirects to the webhook list), sign-in, and the
# customer portal's entry (its one-time token is the credential: test_portal.py).
PUBLIC = {("GET", "/"), ("GET", "/login"), ("POST", "/login"), ("GET", "/portal")}


def page_routes() -> Iterator[tuple[str, str]]:
    """(method, path) of every route of every page group's router."""
    for router in pages.ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute), route
            for method in sorted(route.methods):
                yield method, route.path


@dataclass(frozen=True)
class Seeded:
    """An account's API key header, its webhook (delivered to once) and the ids the routes'
    paths take."""

    auth: dict[str, str]
    webhook: dict[str, Any]
    ids: dict[str, str]


async def seed(service: Service, receiver: Receiver) -> Seeded:
    account, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/r"))
    await service.publish(account, "fabric.completed", PAYLOAD)
    [delivery] = await service.wait_delivery(auth, webhook["id"], status="delivered")
    [key] = (await service.client.get("/v1/keys", headers=auth)).json()
    ids = {"webhook_id": webhook["id"], "delivery_id": delivery["id"], "key_id": key["id"]}
    return Seeded(auth, webhook, ids | {"event_id": delivery["eventId"]})


def browser(service: Service) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.app), base_url="http://testserver", timeout=60
    )


def test_every_page_module_has_its_router_listed() -> None:
    """A page group's router reaches the app only through `pages.ROUTERS`."""
    modules = [
        importlib.import_module(f"{pages.__name__}.{info.name}")
        for info in pkgutil.iter_modules(pages.__path__)
    ]
    assert len(modules) >= 4
    for module in modules:
        assert module.router in pages.ROUTERS, module.__name__


async def test_every_route_but_sign_in_needs_a_session(
    service: Service, receiver: Receiver
) -> None:
    seeded = await seed(service, receiver)
    auth, webhook, ids = seeded.auth, seeded.webhook, seeded.ids
    routes = list(page_routes())
    assert set(routes) >= PUBLIC
    async with browser(service) as visitor:
        for method, path in routes:
            url = MOUNT_PATH + path.format(**ids)
            plain = await visitor.request(method, url, data={"enabled": "false"})
            assert plain.status_code not in (404, 405), (method, path)  # the route is mounted
            to_sign_in = plain.status_code == 303 and plain.headers["location"].startswith(
                f"{MOUNT_PATH}/login?next="
            )
            assert to_sign_in is ((method, path) not in PUBLIC), (method, path, plain.text)
            if (method, path) in PUBLIC:
                continue
            htmx = await visitor.request(method, url, headers={"HX-Request": "true"})
            assert htmx.headers["HX-Redirect"].startswith(f"{MOUNT_PATH}/login"), (method, path)
    after = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
    assert after["enabled"] is True
    assert len(receiver.on("/r")) == 1


async def test_every_signed_in_form_needs_the_csrf_token(
    service: Service, receiver: Receiver
) -> None:
    seeded = await seed(service, receiver)
    auth, webhook, ids = seeded.auth, seeded.webhook, seeded.ids
    posts = [path for method, path in page_routes() if method == "POST"]
    posts = [path for path in posts if ("POST", path) not in PUBLIC]
    assert "/logout" in posts and "/webhooks/{webhook_id}/delete" in posts
    form = {"url": receiver.url("/x"), "events": "credits.low", "enabled": "false"}
    form |= {"action": "rotate", "event": "fabric.completed", "payload": "{}"}
    async with browser(service) as signed_in:
        login = await signed_in.get(f"{MOUNT_PATH}/login")
        token = CSRF_RE.search(login.text)
        assert token
        api_key = auth["Authorization"].removeprefix("Bearer ")
        await signed_in.post(
            f"{MOUNT_PATH}/login", data={"csrf_token": token.group(1), "api_key": api_key}
        )
        for path in posts:
            url = MOUNT_PATH + path.format(**ids)
            for csrf in ({}, {"csrf_token": "0" * 64}):
                response = await signed_in.post(url, data=form | csrf)
                assert response.status_code == 403, (path, response.text)
                assert "Form expired" in response.text
            by_header = await signed_in.post(url, data=form, headers={"X-CSRF-Token": "x"})
            assert by_header.status_code == 403, path
        # Still signed in: the refused sign-out did not end the session.
        assert (await signed_in.get(f"{MOUNT_PATH}/webhooks")).status_code == 200
    listed = (await service.client.get("/v1/webhooks", headers=auth)).json()["data"]
    assert [(w["id"], w["url"], w["enabled"]) for w in listed] == [
        (webhook["id"], receiver.url("/r"), True)
    ]
    secret = await service.client.get(f"/v1/webhooks/{webhook['id']}/secret", headers=auth)
    assert secret.json()["secret"] == webhook["secret"]
    assert len(receiver.on("/r")) == 1  # no test event, no resend
    keys = (await service.client.get("/v1/keys", headers=auth)).json()
    assert [k["id"] for k in keys] == [ids["key_id"]]  # none created, none revoked
