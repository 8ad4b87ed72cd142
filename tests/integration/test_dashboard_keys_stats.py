"""The dashboard's API keys page and /v1/keys (an account managing its own keys), a webhook's
Stats page and /v1/webhooks/{id}/stats/series over 1 h / 24 h / 7 d with real deliveries to a
loopback receiver, and the health badges (never green for 0 %). Over ASGI, on SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import httpx

from promptha_webhooks.dashboard.sessions import SESSION_COOKIE

from support import ManualClock, Receiver, Service, ServiceFactory

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY_RE = re.compile(r'<code id="new-api-key" class="secret">(pwk_[^<]+)</code>')
PAYLOAD = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}


def key_of(auth: dict[str, str]) -> str:
    return auth["Authorization"].removeprefix("Bearer ")


def new_client(service: Service) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.app), base_url="http://testserver", timeout=60
    )


async def sign_in(client: httpx.AsyncClient, api_key: str) -> str:
    """Sign in; the CSRF token of the session's forms."""
    form = await client.get("/dashboard/login")
    token = CSRF_RE.search(form.text)
    assert token
    done = await client.post(
        "/dashboard/login", data={"csrf_token": token.group(1), "api_key": api_key}
    )
    assert done.status_code == 303, done.text
    page = await client.get("/dashboard/keys")
    assert page.status_code == 200, page.text
    csrf = CSRF_RE.search(page.text)
    assert csrf
    return csrf.group(1)


async def api_keys(service: Service, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = await service.client.get("/v1/keys", headers=auth)
    assert response.status_code == 200, response.text
    keys: list[dict[str, Any]] = response.json()
    return keys


async def test_keys_api_manages_the_callers_own_account(service: Service) -> None:
    account, auth = await service.create_account("Acme")
    other_account, other_auth = await service.create_account("Other")
    (first,) = await api_keys(service, auth)
    assert first["accountId"] == account and first["key"] is None

    created = await service.client.post("/v1/keys", headers=auth)
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["key"].startswith("pwk_") and new["key"].startswith(new["prefix"])
    listed = await api_keys(service, auth)
    assert [k["id"] for k in listed] == [new["id"], first["id"]]  # newest first
    assert all(k["key"] is None for k in listed)
    new_auth = {"Authorization": f"Bearer {new['key']}"}
    assert (await service.client.get("/v1/webhooks", headers=new_auth)).status_code == 200

    # Another account's key looks like an unknown one, and stays.
    (theirs,) = await api_keys(service, other_auth)
    refused = await service.client.delete(f"/v1/keys/{theirs['id']}", headers=auth)
    assert refused.status_code == 404 and set(refused.json()) == {"error"}
    assert (await service.client.get("/v1/keys", headers=other_auth)).status_code == 200
    for bad in ("key_nope", "key_" + "x" * 5000, "key_%ED%A0%80"):
        response = await service.client.delete(f"/v1/keys/{bad}", headers=auth)
        assert response.status_code == 404, (bad[:20], response.text)
    admin = await service.client.get("/v1/keys", headers=service.admin())
    assert admin.status_code == 403

    # Revoking the key making the call is allowed: it stops working at once.
    revoked = await service.client.delete(f"/v1/keys/{first['id']}", headers=auth)
    assert revoked.status_code == 204
    assert (await service.client.get("/v1/keys", headers=auth)).status_code == 401
    assert [k["id"] for k in await api_keys(service, new_auth)] == [new["id"]]
    # ...and so is revoking the last one (Stripe's choice): only the admin can add one then.
    assert (
        await service.client.delete(f"/v1/keys/{new['id']}", headers=new_auth)
    ).status_code == 204
    assert (await service.client.get("/v1/keys", headers=new_auth)).status_code == 401
    by_admin = await service.client.get(f"/v1/accounts/{account}/keys", headers=service.admin())
    assert by_admin.json() == []
    assert other_account != account


async def test_keys_page_create_shown_once_and_revoke(service: Service) -> None:
    _account, auth = await service.create_account("Acme")
    _other, other_auth = await service.create_account("Other")
    (theirs,) = await api_keys(service, other_auth)
    async with new_client(service) as browser:
        csrf = await sign_in(browser, key_of(auth))
        page = await browser.get("/dashboard/keys")
        (mine,) = await api_keys(service, auth)
        assert mine["id"] in page.text and "This session" in page.text
        assert key_of(auth) not in page.text
        assert 'aria-current="page">API keys' in page.text

        # Without the CSRF token nothing is created.
        refused = await browser.post("/dashboard/keys", data={})
        assert refused.status_code == 403 and "Form expired" in refused.text
        wrong = await browser.post(  # a lone surrogate, as a form encodes it
            "/dashboard/keys",
            content=b"csrf_token=%ED%A0%80",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert wrong.status_code == 403
        assert len(await api_keys(service, auth)) == 1

        created = await browser.post("/dashboard/keys", data={"csrf_token": csrf})
        assert created.status_code == 201, created.text
        shown = KEY_RE.search(created.text)
        assert shown and 'data-copy="new-api-key"' in created.text
        new_key = shown.group(1)
        keys = await api_keys(service, auth)
        assert len(keys) == 2
        new_id = next(k["id"] for k in keys if k["id"] != mine["id"])
        # The key works, and is never shown again.
        assert (await api_keys(service, {"Authorization": f"Bearer {new_key}"}))[0]["id"] == new_id
        again = await browser.get("/dashboard/keys")
        assert new_id in again.text and new_key not in again.text
        assert new_key[12:] not in again.text

        # Another account's key, unknown and hostile ids: not found, nothing revoked.
        for bad in (theirs["id"], "key_nope", "key_%ED%A0%80", "k" * 5000, "%00"):
            response = await browser.post(
                f"/dashboard/keys/{bad}/revoke", data={"csrf_token": csrf}
            )
            assert response.status_code in (404, 400), (bad[:20], response.status_code)
            assert "Not found" in response.text or "Something went wrong" in response.text
        assert len(await api_keys(service, other_auth)) == 1
        assert len(await api_keys(service, auth)) == 2
        # A revoke without the CSRF token, or with a huge form, changes nothing.
        no_csrf = await browser.post(f"/dashboard/keys/{new_id}/revoke", data={})
        assert no_csrf.status_code == 403
        huge = await browser.post(
            f"/dashboard/keys/{new_id}/revoke",
            content=b"csrf_token=" + b"x" * 2_000_000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert 400 <= huge.status_code < 500
        assert len(await api_keys(service, auth)) == 2

        # Revoking another key of the account: back to the list, the key no longer works.
        revoked = await browser.post(f"/dashboard/keys/{new_id}/revoke", data={"csrf_token": csrf})
        assert revoked.status_code == 303
        assert revoked.headers["location"] == "/dashboard/keys?done=key-revoked"
        listing = await browser.get(revoked.headers["location"])
        assert "API key revoked" in listing.text and new_id not in listing.text
        gone = await service.client.get("/v1/keys", headers={"Authorization": f"Bearer {new_key}"})
        assert gone.status_code == 401

        # Revoking the session's own key (the last one, warned about) signs out cleanly.
        assert "the account&#39;s last key" in listing.text or "account's last key" in listing.text
        assert "you will be signed out" in listing.text
        cookie = browser.cookies[SESSION_COOKIE]
        own = await browser.post(f"/dashboard/keys/{mine['id']}/revoke", data={"csrf_token": csrf})
        assert own.status_code == 303
        assert own.headers["location"] == "/dashboard/login?done=key-revoked-signed-out"
        assert SESSION_COOKIE not in browser.cookies
        login = await browser.get(own.headers["location"])
        assert login.status_code == 200 and "you are signed out" in login.text
        browser.cookies.set(SESSION_COOKIE, cookie)  # a copy of the old cookie is refused
        after = await browser.get("/dashboard/keys")
        assert after.status_code == 303 and after.headers["location"].startswith("/dashboard/login")
    assert (await service.client.get("/v1/keys", headers=auth)).status_code == 401


async def deliver(service: Service, account: str, count: int) -> None:
    for _ in range(count):
        await service.publish(account, "fabric.completed", PAYLOAD)


async def series(service: Service, auth: dict[str, str], webhook_id: str, window: str) -> Any:
    response = await service.client.get(
        f"/v1/webhooks/{webhook_id}/stats/series", params={"window": window}, headers=auth
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_stats_windows_series_and_badges(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    clock = ManualClock()
    service = await make_service(clock=clock, retry_schedule_s=(0.0,))
    account, auth = await service.create_account("Acme")
    _other, other_auth = await service.create_account("Other")
    receiver.script("/mixed", [200, 500, 200, 500, 200])
    receiver.script("/down", [500])
    mixed = await service.create_webhook(auth, url=receiver.url("/mixed"), description="mixed")
    down = await service.create_webhook(
        auth, url=receiver.url("/down"), events=["credits.low"], description="down"
    )
    quiet = await service.create_webhook(auth, url=receiver.url("/quiet"), events=["credits.low"])
    await deliver(service, account, 5)
    await service.wait_delivery(auth, mixed["id"], status="delivered", count=3)
    await service.wait_delivery(auth, mixed["id"], status="failed", count=2)
    credits = {"remaining": 1, "threshold": 2, "userId": "u"}
    await service.client.patch(f"/v1/webhooks/{quiet['id']}", json={"enabled": False}, headers=auth)
    for _ in range(2):
        await service.publish(account, "credits.low", credits)
    await service.wait_delivery(auth, down["id"], status="failed", count=2)
    await service.client.patch(f"/v1/webhooks/{quiet['id']}", json={"enabled": True}, headers=auth)

    # The API: every window's series adds up to the attempts made.
    for window, buckets, seconds in (("1h", 12, 300), ("24h", 24, 3600), ("7d", 28, 21600)):
        body = await series(service, auth, mixed["id"], window)
        assert body["object"] == "webhook_stats_series" and body["window"] == window
        assert len(body["buckets"]) == buckets and body["bucketSeconds"] == seconds
        busy = [b for b in body["buckets"] if b["attempts"]]
        assert len(busy) in (1, 2)  # the attempts may straddle a bucket boundary
        assert sum(b["delivered"] for b in busy) == 3 and sum(b["failed"] for b in busy) == 2
        latency = busy[-1]["latency"]
        assert latency["p50Ms"] <= latency["p95Ms"] <= latency["p99Ms"]
    last = (await series(service, auth, mixed["id"], "24h"))["buckets"][-1]
    if last["attempts"] == 5:
        assert last["successRate"] == 0.6
    refused = await service.client.get(
        f"/v1/webhooks/{mixed['id']}/stats/series", params={"window": "2d"}, headers=auth
    )
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "window"
    other = await service.client.get(f"/v1/webhooks/{mixed['id']}/stats/series", headers=other_auth)
    assert other.status_code == 404

    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        # The list: mixed (60 %) amber, down (0 %) red, quiet (no traffic) grey; never green.
        listing = (await browser.get("/dashboard/webhooks")).text
        rows = {hook["id"]: row_of(listing, hook["id"]) for hook in (mixed, down, quiet)}
        assert 'badge-degraded" title="Enabled; 24 h success rate">Degraded' in rows[mixed["id"]]
        assert (
            'badge-failing" title="Enabled; 24 h success rate">Failing' in rows[down["id"]]
            and "0.0 %" in rows[down["id"]]
        )
        assert (
            'badge-no-traffic" title="Enabled; 24 h success rate">No traffic' in rows[quiet["id"]]
        )
        assert "badge-healthy" not in listing and "badge-enabled" not in listing
        detail = (await browser.get(f"/dashboard/webhooks/{down['id']}")).text
        assert (
            'badge-failing" title="Enabled; 24 h success rate">Failing' in detail
            and "/stats" in detail
        )

        # The Stats page, each window: the figures, both charts with axes and tooltips.
        for window, label in (("1h", "1 hour"), ("24h", "24 hours"), ("7d", "7 days")):
            page = await browser.get(
                f"/dashboard/webhooks/{mixed['id']}/stats", params={"window": window}
            )
            assert page.status_code == 200, page.text
            text = page.text
            assert f'aria-current="page">{label}</a>' in text
            assert '<p class="stat-value" id="stat-success">60.0 %</p>' in text
            assert '<p class="stat-value" id="stat-attempts">5</p>' in text
            assert 'id="stat-p95">—' not in text
            assert "Attempts (count)" in text and "Latency (ms)" in text and "Time (UTC)" in text
            assert re.search(
                r"<title>[^<]*: \d attempts, \d delivered, \d failed, [\d.]+ % success", text
            )
            assert re.search(r"<title>[^<]*: p95 [\d.]+ ms</title>", text)
            assert "<svg" in text and "<script" not in text.split("<main", 1)[1].split("</main>")[0]
        down_page = (await browser.get(f"/dashboard/webhooks/{down['id']}/stats")).text
        assert (
            'id="stat-success">0.0 %' in down_page
            and 'badge-failing" title="Enabled; 24 h success rate">Failing' in down_page
        )
        quiet_page = (await browser.get(f"/dashboard/webhooks/{quiet['id']}/stats")).text
        assert 'id="stat-success">—' in quiet_page and "No attempts in this window" in quiet_page
        # An unknown window: the default one; another account's webhook or a hostile id: 404.
        odd = await browser.get(f"/dashboard/webhooks/{mixed['id']}/stats?window=%ED%A0%80")
        assert odd.status_code == 303
        assert odd.headers["location"] == f"/dashboard/webhooks/{mixed['id']}/stats"
        (theirs,) = [await service.create_webhook(other_auth, url=receiver.url("/theirs"))]
        for bad in (theirs["id"], "wh_nope", "wh_%ED%A0%80", "wh_" + "x" * 5000):
            response = await browser.get(f"/dashboard/webhooks/{bad}/stats")
            assert response.status_code == 404, (bad[:20], response.status_code)

        # Two hours later the 1 h window is empty, the 24 h one still counts them.
        clock.advance(2 * 3600)
        hour = (await browser.get(f"/dashboard/webhooks/{mixed['id']}/stats?window=1h")).text
        assert 'id="stat-attempts">0<' in hour and 'id="stat-success">—' in hour
        day = (await browser.get(f"/dashboard/webhooks/{mixed['id']}/stats?window=24h")).text
        assert 'id="stat-attempts">5<' in day
        one_hour = await series(service, auth, mixed["id"], "1h")
        assert sum(b["attempts"] for b in one_hour["buckets"]) == 0


def row_of(listing: str, webhook_id: str) -> str:
    start = listing.index(f"/dashboard/webhooks/{webhook_id}")
    return listing[start : listing.index("</tr>", start)]
