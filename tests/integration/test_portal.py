"""The embeddable customer portal: `POST /v1/accounts/{id}/portal-sessions` (admin) answers a
one-time URL; opening it once sets a session cookie a third-party iframe keeps (SameSite=None;
Secure) and lands on the account's webhooks without the token; the session is scoped to the
account, refuses the operator pages, refuses every change when read-only (every non-GET route
of the dashboard app, enumerated), expires with its TTL, and signs out to its return URL.
Framing is allowed only to PROMPTHA_WEBHOOKS_PORTAL_ORIGINS. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.routing import APIRoute

from promptha_webhooks.dashboard import MOUNT_PATH, pages
from promptha_webhooks.dashboard.dependencies import is_operator_page

from support import ManualClock, Service, ServiceFactory

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
EMBEDDER = "https://app.example.com"


def browser(service: Service) -> httpx.AsyncClient:
    # https: the portal's cookie is Secure (a cookie jar sends it over https only).
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.app), base_url="https://testserver"
    )


async def portal_link(service: Service, account_id: str, **body: Any) -> dict[str, Any]:
    response = await service.client.post(
        f"/v1/accounts/{account_id}/portal-sessions", json=body, headers=service.admin()
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def entry_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def open_portal(client: httpx.AsyncClient, url: str) -> str:
    """Open the link; the CSRF token of the portal's forms."""
    opened = await client.get(entry_path(url))
    assert opened.status_code == 303, opened.text
    assert opened.headers["location"] == "/dashboard/webhooks"
    page = await client.get("/dashboard/webhooks")
    assert page.status_code == 200, page.text
    csrf = CSRF_RE.search(page.text)
    assert csrf
    return csrf.group(1)


async def portal_rows(service: Service) -> int:
    return int((await service.sql_row("SELECT count(*) FROM portal_sessions"))[0])


async def test_a_link_opens_once_into_a_third_party_cookie_session(
    make_service: ServiceFactory,
) -> None:
    service = await make_service()
    account_id, auth = await service.create_account()
    created = await portal_link(service, account_id)
    assert set(created) == {"object", "url", "expiresAt", "readOnly"}
    assert created["readOnly"] is False
    url = urlsplit(created["url"])
    assert url.path == "/dashboard/portal"
    [token] = parse_qs(url.query)["token"]
    # Only the token's hash is stored.
    row = await service.sql_row("SELECT token_hash, used_at FROM portal_sessions")
    assert token not in row.token_hash and row.used_at is None

    async with browser(service) as client:
        opened = await client.get(entry_path(created["url"]))
        assert opened.status_code == 303
        assert "token" not in opened.headers["location"]
        cookie = opened.headers["set-cookie"].lower()
        for attribute in ("samesite=none", "secure", "httponly", "partitioned", "path=/dashboard"):
            assert attribute in cookie, cookie
        page = await client.get("/dashboard/webhooks")
        assert page.status_code == 200 and "Acme" in page.text

    # Used: a second open is refused with a clear page and no cookie.
    async with browser(service) as again:
        reused = await again.get(entry_path(created["url"]))
        assert reused.status_code == 410
        assert "already used or has expired" in reused.text
        assert "set-cookie" not in reused.headers
        assert (await again.get("/dashboard/webhooks")).status_code == 303  # to sign-in
    # Empty, huge, unknown, a lone surrogate's bytes (%ED%A0%80), no token at all.
    for query in ("token=", "token=" + "x" * 5000, "token=nope", "token=%ED%A0%80", ""):
        async with browser(service) as stranger:
            answer = await stranger.get(f"/dashboard/portal?{query}")
            assert answer.status_code == 410 and "set-cookie" not in answer.headers
    del auth


async def test_two_concurrent_opens_one_wins(make_service: ServiceFactory) -> None:
    service = await make_service()
    account_id, _ = await service.create_account()
    for _round in range(5):
        created = await portal_link(service, account_id)
        clients = [browser(service) for _ in range(4)]
        try:
            answers = await asyncio.gather(
                *(client.get(entry_path(created["url"])) for client in clients)
            )
        finally:
            for client in clients:
                await client.aclose()
        assert sorted(a.status_code for a in answers) == [303, 410, 410, 410]


async def test_the_portal_is_the_account_and_nothing_else(make_service: ServiceFactory) -> None:
    service = await make_service(portal_origins=(EMBEDDER,))
    account_id, auth = await service.create_account("Acme")
    _other_id, other_auth = await service.create_account("Globex")
    mine = await service.create_webhook(auth, url="https://acme.example.com/hook")
    theirs = await service.create_webhook(other_auth, url="https://globex.example.com/hook")
    created = await portal_link(service, account_id)
    async with browser(service) as client:
        csrf = await open_portal(client, created["url"])
        listing = await client.get("/dashboard/webhooks")
        assert "acme.example.com" in listing.text and "globex.example.com" not in listing.text
        assert 'href="/dashboard/monitoring"' not in listing.text  # operator page: not shown
        assert (await client.get(f"/dashboard/webhooks/{mine['id']}")).status_code == 200
        assert (await client.get(f"/dashboard/webhooks/{theirs['id']}")).status_code == 404
        refused = await client.get("/dashboard/monitoring")
        assert refused.status_code == 403 and "not part of the customer portal" in refused.text
        # /keys (the API-keys page, when it exists) is an operator page too: not a route yet.
        assert is_operator_page("/keys") and is_operator_page("/keys/key_x/revoke")
        # Framing: the listed origin may frame the portal; X-Frame-Options would contradict it.
        policy = listing.headers["content-security-policy"]
        assert f"frame-ancestors 'self' {EMBEDDER};" in policy
        assert "x-frame-options" not in listing.headers
        # A change needs the session's CSRF token, SameSite=None or not.
        form = {"url": "https://acme.example.com/new", "events": "fabric.completed"}
        forged = await client.post("/dashboard/webhooks/new", data=form)
        assert forged.status_code == 403 and "Form expired" in forged.text
        made = await client.post("/dashboard/webhooks/new", data=form | {"csrf_token": csrf})
        assert made.status_code == 201, made.text
    listed = await service.client.get("/v1/webhooks", headers=auth)
    urls = {webhook["url"] for webhook in listed.json()["data"]}
    assert urls == {"https://acme.example.com/hook", "https://acme.example.com/new"}


async def test_without_portal_origins_nobody_frames_the_dashboard(
    make_service: ServiceFactory,
) -> None:
    service = await make_service()
    page = await service.client.get("/dashboard/login")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def mutating_routes() -> list[tuple[str, str]]:
    """Every (method, path) of the dashboard's page groups that is not GET/HEAD, found from
    their routers (so a route added later is covered without editing this test;
    test_dashboard_routes.py checks every page module's router is in ROUTERS)."""
    return [
        (method, MOUNT_PATH + route.path)
        for router in pages.ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods - {"GET", "HEAD"})
    ]


async def webhook_state(service: Service, auth: dict[str, str], webhook_id: str) -> Any:
    """The webhook as the API shows it, its secret and deliveries (not its moving stats)."""
    got = await service.client.get(f"/v1/webhooks/{webhook_id}", headers=auth)
    secret = await service.client.get(f"/v1/webhooks/{webhook_id}/secret", headers=auth)
    deliveries = await service.client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=auth)
    webhook = got.json()
    webhook.pop("stats", None)
    return webhook, secret.json(), deliveries.json()


async def test_a_read_only_session_changes_nothing(make_service: ServiceFactory) -> None:
    service = await make_service()
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url="https://acme.example.com/hook")
    created = await portal_link(service, account_id, readOnly=True)
    assert created["readOnly"] is True
    routes = mutating_routes()
    assert ("POST", "/dashboard/webhooks/new") in routes and len(routes) >= 10
    before = await webhook_state(service, auth, webhook["id"])
    async with browser(service) as client:
        csrf = await open_portal(client, created["url"])
        listing = await client.get("/dashboard/webhooks")
        assert 'class="read-only"' in listing.text
        for method, template in routes:
            if template == "/dashboard/logout":
                continue  # signing out is the one change a read-only session may make
            path = re.sub(r"\{webhook_id\}", webhook["id"], template)
            path = re.sub(r"\{[a-z_]+\}", "dlv_00000000000000000000000000", path)
            answer = await client.request(
                method,
                path,
                data={"csrf_token": csrf, "url": "https://x.example.com", "events": "a.b"},
                headers={"x-csrf-token": csrf},
            )
            assert answer.status_code == 403, (method, path, answer.status_code)
            # an operator page (API keys) is refused to every portal session, for that reason
            operator = is_operator_page(path.removeprefix(MOUNT_PATH))
            expected = "not part of the customer portal" if operator else "read-only"
            assert expected in answer.text, path
        assert await webhook_state(service, auth, webhook["id"]) == before
        listed = (await service.client.get("/v1/webhooks", headers=auth)).json()["data"]
        assert len(listed) == 1
        out = await client.post("/dashboard/logout", data={"csrf_token": csrf})
        assert out.status_code == 303


async def test_the_session_ends_with_its_ttl_and_signs_out_to_the_return_url(
    make_service: ServiceFactory,
) -> None:
    clock = ManualClock()
    service = await make_service(clock=clock)
    account_id, _ = await service.create_account()
    ret = "http://127.0.0.1:9/back"  # http: loopback in development mode
    created = await portal_link(service, account_id, ttlSeconds=120, returnUrl=ret)
    unused = await portal_link(service, account_id, ttlSeconds=60)
    async with browser(service) as client:
        csrf = await open_portal(client, created["url"])
        # Sign out redirects to the return URL: the page's CSP lets its form go there.
        shown = await client.get("/dashboard/webhooks")
        assert "form-action 'self' http://127.0.0.1:9;" in shown.headers["content-security-policy"]
        out = await client.post("/dashboard/logout", data={"csrf_token": csrf})
        assert out.status_code == 303 and out.headers["location"] == ret
        assert (await client.get("/dashboard/webhooks")).status_code == 303  # signed out
    again = await portal_link(service, account_id, ttlSeconds=60)
    async with browser(service) as client:
        await open_portal(client, again["url"])
        page = await client.get("/dashboard/webhooks")
        assert 'target="_top"' not in page.text
        clock.advance(61)
        ended = await client.get("/dashboard/webhooks")
        assert ended.status_code == 303 and ended.headers["location"].startswith("/dashboard/login")
        # In its frame, the sign-in page says the session ended: no API key form.
        framed = await client.get(ended.headers["location"], headers={"Sec-Fetch-Dest": "iframe"})
        assert framed.status_code == 401
        assert "Session ended" in framed.text and 'name="api_key"' not in framed.text
        assert 'href="/dashboard/login" target="_top"' in framed.text  # an operator's way out
        at_top = await client.get(ended.headers["location"], headers={"Sec-Fetch-Dest": "document"})
        assert at_top.status_code == 200 and 'name="api_key"' in at_top.text
        expired = await client.get(entry_path(unused["url"]))
        assert expired.status_code == 410


async def test_portal_sessions_refuse_bad_input(make_service: ServiceFactory) -> None:
    service = await make_service()
    account_id, auth = await service.create_account()
    other_id, other_auth = await service.create_account("Globex")
    path = f"/v1/accounts/{account_id}/portal-sessions"
    deep: Any = "x"
    for _ in range(200):
        deep = {"primaryColor": deep}
    bad_bodies: list[Any] = [
        {"ttlSeconds": 0},
        {"ttlSeconds": 86_401},
        {"ttlSeconds": 59},
        {"ttlSeconds": "3600"},
        {"readOnly": "yes"},
        {"returnUrl": "http://example.com/back"},  # http, not loopback
        {"returnUrl": "javascript:alert(1)"},
        {"returnUrl": "https://"},
        {"returnUrl": "https://u:p@example.com/"},
        {"returnUrl": "https://example.com/" + "a" * 3000},
        {"returnUrl": "https://exa mple.com/"},
        {"returnUrl": "https://example.com/\ud800"},
        {"theme": {"primaryColor": "red"}},
        {"theme": {"primaryColor": "#12345"}},
        {"theme": {"primaryColor": "#1234567"}},
        {"theme": {"primaryColor": "#12345g"}},
        {"theme": {"logoUrl": "data:image/png;base64,AAAA"}},
        {"theme": {"darkMode": 1}},
        {"theme": {"extra": True}},
        {"theme": deep},
        {"unknown": 1},
        [],
        "x",
    ]
    for body in bad_bodies:
        answer = await service.client.post(path, content=json.dumps(body), headers=service.admin())
        assert answer.status_code == 400, (body if body is not deep else "deep", answer.text)
        assert set(answer.json()) == {"error"}
    huge = await service.client.post(
        path,
        content=b'{"returnUrl": "https://example.com/' + b"a" * 400_000 + b'"}',
        headers=service.admin(),
    )
    assert huge.status_code in (400, 413) and "error" in huge.json()
    forbidden = await service.client.post(path, json={}, headers=other_auth)
    assert forbidden.status_code == 403 and forbidden.json()["error"]["type"] == "permission_denied"
    assert (await service.client.post(path, json={}, headers=auth)).status_code == 403
    assert (await service.client.post(path, json={})).status_code == 401
    unknown = await service.client.post(
        "/v1/accounts/acct_00000000000000000000000000/portal-sessions",
        json={},
        headers=service.admin(),
    )
    assert unknown.status_code == 404
    assert await portal_rows(service) == 0
    ok = await portal_link(
        service,
        other_id,
        ttlSeconds=86_400,
        returnUrl="https://app.example.com/settings",
        theme={"primaryColor": "#FFCC00", "logoUrl": "https://cdn.example.com/l.png"},
    )
    assert ok["readOnly"] is False and await portal_rows(service) == 1


async def test_the_theme_and_its_headers(make_service: ServiceFactory) -> None:
    service = await make_service()
    account_id, _ = await service.create_account()
    created = await portal_link(
        service,
        account_id,
        returnUrl="https://app.example.com/settings",
        theme={
            "primaryColor": "#FFCC00",
            "logoUrl": "https://cdn.example.com/l.png",
            "darkMode": True,
        },
    )
    async with browser(service) as client:
        await open_portal(client, created["url"])
        page = await client.get("/dashboard/webhooks")
        assert 'data-theme="dark"' in page.text
        assert 'src="https://cdn.example.com/l.png"' in page.text
        assert 'target="_top"' in page.text
        policy = page.headers["content-security-policy"]
        assert "img-src 'self' data: https://cdn.example.com;" in policy
        assert "form-action 'self' https://app.example.com;" in policy
        css = await client.get("/dashboard/portal/theme.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert "--brand: #ffcc00; --brand-ink: #000000;" in css.text
    # Outside a portal session there is no theme.
    async with browser(service) as stranger:
        assert (await stranger.get("/dashboard/portal/theme.css")).status_code == 303


async def test_deleting_the_account_ends_its_portal_sessions(make_service: ServiceFactory) -> None:
    service = await make_service()
    account_id, _ = await service.create_account()
    created = await portal_link(service, account_id)
    unused = await portal_link(service, account_id)
    async with browser(service) as client:
        await open_portal(client, created["url"])
        deleted = await service.client.delete(f"/v1/accounts/{account_id}", headers=service.admin())
        assert deleted.status_code == 204
        ended = await client.get("/dashboard/webhooks")
        assert ended.status_code == 303 and ended.headers["location"].startswith("/dashboard/login")
        assert (await client.get(entry_path(unused["url"]))).status_code == 410
    assert await portal_rows(service) == 0
