"""The dashboard over ASGI (no browser): sign-in and sessions, CSRF, validation next to fields,
save-and-test, delivery logs, resend, secrets only in POST answers, and tenant isolation."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx

from promptha_webhooks.config import Mode
from promptha_webhooks.dashboard.sessions import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from promptha_webhooks.secret_box import KeyRing, generate_key_entry

from support import ADMIN_KEY, TEST_KEY_ID, Receiver, Service, ServiceFactory

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PAYLOAD = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}


def key_of(auth: dict[str, str]) -> str:
    return auth["Authorization"].removeprefix("Bearer ")


def new_client(service: Service, scheme: str = "http") -> httpx.AsyncClient:
    """A browser of its own (its own cookie jar) on the same app."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.app),
        base_url=f"{scheme}://testserver",
        timeout=60,
    )


async def csrf_of(client: httpx.AsyncClient, path: str = "/dashboard/webhooks") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF_RE.search(page.text)
    assert match, page.text
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, api_key: str) -> httpx.Response:
    form = await client.get("/dashboard/login")
    token = CSRF_RE.search(form.text)
    assert token
    return await client.post(
        "/dashboard/login", data={"csrf_token": token.group(1), "api_key": api_key}
    )


async def add_webhook(
    client: httpx.AsyncClient, url: str, *, action: str = "save", **extra: str
) -> httpx.Response:
    data = {"csrf_token": await csrf_of(client), "url": url, "events": "fabric.completed"}
    data |= {"action": action} | extra
    return await client.post("/dashboard/webhooks/new", data=data)


async def test_sign_in_session_cookie_and_sign_out(service: Service) -> None:
    _account, auth = await service.create_account("Acme")
    async with new_client(service) as browser:
        first = await browser.get("/dashboard/webhooks")
        assert first.status_code == 303
        assert first.headers["location"].startswith("/dashboard/login?next=")
        login = await browser.get("/dashboard/login")
        assert "httponly" in login.headers["set-cookie"].lower()
        assert "samesite=lax" in login.headers["set-cookie"].lower()

        wrong = await sign_in(browser, "pwk_not_a_key")
        assert wrong.status_code == 401 and "not valid" in wrong.text
        admin = await sign_in(browser, ADMIN_KEY)
        assert admin.status_code == 403 and "Admin keys cannot sign in" in admin.text
        assert SESSION_COOKIE not in browser.cookies

        ok = await sign_in(browser, key_of(auth))
        assert ok.status_code == 303 and ok.headers["location"] == "/dashboard/webhooks"
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie
        assert key_of(auth) not in cookie and key_of(auth)[4:] not in cookie
        page = await browser.get("/dashboard/webhooks")
        assert page.status_code == 200 and "Acme" in page.text and "No webhooks yet" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]

        token = CSRF_RE.search(page.text)
        assert token
        out = await browser.post("/dashboard/logout", data={"csrf_token": token.group(1)})
        assert out.status_code == 303
        assert (await browser.get("/dashboard/webhooks")).status_code == 303


async def test_login_needs_its_form_token_and_htmx_gets_a_redirect_header(
    service: Service,
) -> None:
    _account, auth = await service.create_account()
    async with new_client(service) as browser:
        await browser.get("/dashboard/login")
        forged = await browser.post(
            "/dashboard/login", data={"csrf_token": "other", "api_key": key_of(auth)}
        )
        assert forged.status_code == 403 and SESSION_COOKIE not in browser.cookies
        browser.cookies.delete(LOGIN_CSRF_COOKIE)
        htmx = await browser.get("/dashboard/webhooks", headers={"HX-Request": "true"})
        assert htmx.headers["HX-Redirect"].startswith("/dashboard/login")


async def test_forms_without_the_csrf_token_are_rejected(
    service: Service, receiver: Receiver
) -> None:
    _account, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/c"))
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        base = {"url": receiver.url("/x"), "events": "fabric.completed"}
        for token in (None, "", "0" * 64):
            data = base if token is None else base | {"csrf_token": token}
            response = await browser.post("/dashboard/webhooks/new", data=data)
            assert response.status_code == 403, response.text
            assert "Form expired" in response.text
        for path in ("enabled", "delete", "secret"):
            response = await browser.post(
                f"/dashboard/webhooks/{webhook['id']}/{path}", data={"enabled": "false"}
            )
            assert response.status_code == 403
        # The header htmx sends works as well as the field.
        token = await csrf_of(browser)
        by_header = await browser.post(
            f"/dashboard/webhooks/{webhook['id']}/secret",
            data={"action": "reveal"},
            headers={"X-CSRF-Token": token, "HX-Request": "true"},
        )
        assert by_header.status_code == 200 and webhook["secret"] in by_header.text
    listed = (await service.client.get("/v1/webhooks", headers=auth)).json()["data"]
    assert [w["id"] for w in listed] == [webhook["id"]]
    assert listed[0]["enabled"] is True


async def test_validation_errors_are_shown_next_to_each_field(service: Service) -> None:
    _account, auth = await service.create_account()
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        token = await csrf_of(browser)
        response = await browser.post(
            "/dashboard/webhooks/new",
            data={
                "csrf_token": token,
                "url": "ftp://example.com/hook",
                "fabric_ids": "x" * 10,
                "description": "d" * 501,
            },
        )
        assert response.status_code == 400
        for field in ("url", "events", "description"):
            assert f'id="{field}-error"' in response.text, field
        assert 'aria-invalid="true"' in response.text
        assert "x" * 10 in response.text  # what was typed is kept
        odd = await browser.post(
            "/dashboard/webhooks/new",
            data={"csrf_token": token, "url": "http://127.0.0.1:1/x", "events": "no.such"},
        )
        assert odd.status_code == 400 and 'id="events-error"' in odd.text
        assert "Unknown event type" in odd.text
    assert (await service.client.get("/v1/webhooks", headers=auth)).json()["data"] == []


async def test_save_and_test_logs_and_resend(service: Service, receiver: Receiver) -> None:
    _account, auth = await service.create_account()
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        created = await add_webhook(
            browser,
            receiver.url("/hook"),
            action="save_test",
            fabric_ids="product-description, seo-optimizer",
            description="Completions",
        )
        assert created.status_code == 201, created.text
        [webhook] = (await service.client.get("/v1/webhooks", headers=auth)).json()["data"]
        assert webhook["filters"] == {"fabricId": ["product-description", "seo-optimizer"]}
        secret = (
            await service.client.get(f"/v1/webhooks/{webhook['id']}/secret", headers=auth)
        ).json()["secret"]
        assert secret in created.text and "shown only this once" in created.text
        assert "Delivered" in created.text and "HTTP 200" in created.text
        [request] = receiver.on("/hook")
        assert request.headers["x-promptha-test"] == "true"

        detail = await browser.get(f"/dashboard/webhooks/{webhook['id']}")
        assert detail.status_code == 200 and secret not in detail.text
        logs = await browser.get(f"/dashboard/webhooks/{webhook['id']}/deliveries")
        [delivery_id] = set(re.findall(r'id="row-(dlv_\w+)"', logs.text))
        one = await browser.get(f"/dashboard/deliveries/{delivery_id}", headers={"HX-Request": "1"})
        assert "HTTP 200" in one.text and "x-promptha-signature" in one.text
        assert "&#34;executionId&#34;" in one.text or "&quot;executionId&quot;" in one.text

        token = await csrf_of(browser)
        resent = await browser.post(
            f"/dashboard/deliveries/{delivery_id}/resend",
            headers={"X-CSRF-Token": token, "HX-Request": "true"},
        )
        assert resent.status_code == 200 and "Resent" in resent.text
        assert len(receiver.on("/hook")) == 2
        assert resent.text.count('class="attempt ') == 2

        test = await browser.post(
            f"/dashboard/webhooks/{webhook['id']}/test",
            data={"csrf_token": token, "event": "credits.low", "payload": '{"remaining": 3}'},
            headers={"HX-Request": "true"},
        )
        assert "Delivered" in test.text
        assert b'"remaining":3' in receiver.on("/hook")[-1].body
        bad = await browser.post(
            f"/dashboard/webhooks/{webhook['id']}/test",
            data={"csrf_token": token, "event": "credits.low", "payload": "{nope"},
            headers={"HX-Request": "true"},
        )
        assert "Not valid JSON" in bad.text and len(receiver.on("/hook")) == 3

        off = await browser.post(
            f"/dashboard/webhooks/{webhook['id']}/enabled",
            data={"csrf_token": token, "enabled": "false"},
        )
        assert off.status_code == 303
        listing = await browser.get("/dashboard/webhooks")
        assert "badge-disabled" in listing.text
        on_api = await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)
        assert on_api.json()["enabled"] is False


async def test_secret_reveal_and_rotate_only_by_post(service: Service, receiver: Receiver) -> None:
    _account, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/s"))
    wid = webhook["id"]
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        detail = await browser.get(f"/dashboard/webhooks/{wid}")
        assert webhook["secret"] not in detail.text
        assert "No rotation in progress" in detail.text
        token = await csrf_of(browser, f"/dashboard/webhooks/{wid}")
        revealed_page = await browser.post(
            f"/dashboard/webhooks/{wid}/secret", data={"csrf_token": token}
        )
        assert webhook["secret"] in revealed_page.text
        rotated = await browser.post(
            f"/dashboard/webhooks/{wid}/rotate-secret",
            data={"csrf_token": token, "grace_period": "3600"},
        )
        assert rotated.status_code == 200, rotated.text
        now = (await service.client.get(f"/v1/webhooks/{wid}/secret", headers=auth)).json()
        assert now["secret"] != webhook["secret"] and now["secret"] in rotated.text
        assert webhook["secret"] not in rotated.text
        assert "Rotation in progress" in rotated.text and "Complete now" in rotated.text
        state = (await service.client.get(f"/v1/webhooks/{wid}", headers=auth)).json()
        ends = datetime.fromisoformat(state["previousSecretExpiresAt"])
        left = (ends - datetime.now(UTC)).total_seconds()
        assert 3_500 < left <= 3_600
        # The detail page shows the state without the secret; htmx gets the panel alone.
        again = await browser.get(f"/dashboard/webhooks/{wid}")
        assert "Rotation in progress" in again.text and now["secret"] not in again.text
        completed = await browser.post(
            f"/dashboard/webhooks/{wid}/rotate-secret/complete",
            data={"csrf_token": token},
            headers={"HX-Request": "true"},
        )
        assert completed.status_code == 200, completed.text
        assert 'id="secret-panel"' in completed.text and "<html" not in completed.text
        assert "No rotation in progress" in completed.text
        after = (await service.client.get(f"/v1/webhooks/{wid}", headers=auth)).json()
        assert after["previousSecretExpiresAt"] is None


async def test_rotate_form_refuses_bad_grace_periods_and_changes_nothing(
    service: Service, receiver: Receiver
) -> None:
    _account, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/g"))
    wid = webhook["id"]
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        token = await csrf_of(browser, f"/dashboard/webhooks/{wid}")
        for bad in ("", "soon", "-1", "604801", "1e3", "9" * 5_000, "\uff13\uff16\uff10\uff10"):
            response = await browser.post(
                f"/dashboard/webhooks/{wid}/rotate-secret",
                data={"csrf_token": token, "grace_period": bad},
            )
            assert response.status_code == 400, (bad, response.text)
            assert webhook["secret"] not in response.text
        surrogate = await browser.post(  # a lone surrogate, percent-encoded as a browser would
            f"/dashboard/webhooks/{wid}/rotate-secret",
            content=f"csrf_token={token}&grace_period=%ED%A0%80".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert surrogate.status_code == 400, surrogate.text
        missing = await browser.post(
            "/dashboard/webhooks/wh_unknown/rotate-secret",
            data={"csrf_token": token, "grace_period": "0"},
        )
        assert missing.status_code == 404
    state = (await service.client.get(f"/v1/webhooks/{wid}", headers=auth)).json()
    assert state["previousSecretExpiresAt"] is None
    same = (await service.client.get(f"/v1/webhooks/{wid}/secret", headers=auth)).json()
    assert same["secret"] == webhook["secret"]


async def test_edit_and_delete(service: Service, receiver: Receiver) -> None:
    _account, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/e"))
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        token = await csrf_of(browser)
        path = f"/dashboard/webhooks/{webhook['id']}"
        bad = await browser.post(path, data={"csrf_token": token, "url": "nope", "events": ""})
        assert bad.status_code == 400 and 'id="url-error"' in bad.text
        saved = await browser.post(
            path,
            data={
                "csrf_token": token,
                "url": receiver.url("/e2"),
                "events": ["credits.low", "credits.depleted"],
                "description": "Alerts",
            },
        )
        assert saved.status_code == 303
        after = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
        assert after["url"] == receiver.url("/e2") and after["events"] == [
            "credits.low",
            "credits.depleted",
        ]
        assert after["description"] == "Alerts" and after["filters"] is None
        gone = await browser.post(f"{path}/delete", data={"csrf_token": token})
        assert gone.status_code == 303
        assert (await browser.get(path)).status_code == 404


async def test_another_account_gets_404_for_every_page_and_action(
    service: Service, receiver: Receiver
) -> None:
    account_a, auth_a = await service.create_account("A")
    _account_b, auth_b = await service.create_account("B")
    webhook = await service.create_webhook(auth_a, url=receiver.url("/a"))
    await service.publish(account_a, "fabric.completed", PAYLOAD)
    [delivery] = await service.wait_delivery(auth_a, webhook["id"], status="delivered")
    wid, did = webhook["id"], delivery["id"]
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth_b))
        token = await csrf_of(browser)
        listing = await browser.get("/dashboard/webhooks")
        assert wid not in listing.text and receiver.url("/a") not in listing.text
        for path in (
            f"/dashboard/webhooks/{wid}",
            f"/dashboard/webhooks/{wid}/deliveries",
            f"/dashboard/webhooks/{wid}/test-sample?event=credits.low",
            f"/dashboard/deliveries/{did}",
        ):
            response = await browser.get(path)
            assert response.status_code == 404, path
            assert receiver.url("/a") not in response.text
        for path, data in (
            (f"/dashboard/webhooks/{wid}", {"url": receiver.url("/b"), "events": "credits.low"}),
            (f"/dashboard/webhooks/{wid}/enabled", {"enabled": "false"}),
            (f"/dashboard/webhooks/{wid}/secret", {}),
            (f"/dashboard/webhooks/{wid}/rotate-secret", {"grace_period": "0"}),
            (f"/dashboard/webhooks/{wid}/rotate-secret/complete", {}),
            (f"/dashboard/webhooks/{wid}/test", {"event": "fabric.completed", "payload": "{}"}),
            (f"/dashboard/deliveries/{did}/resend", {}),
            (f"/dashboard/webhooks/{wid}/delete", {}),
        ):
            response = await browser.post(path, data={"csrf_token": token} | data)
            assert response.status_code == 404, (path, response.text)
            assert webhook["secret"] not in response.text
    still = (await service.client.get(f"/v1/webhooks/{wid}/secret", headers=auth_a)).json()
    assert still["secret"] == webhook["secret"]
    after = (await service.client.get(f"/v1/webhooks/{wid}", headers=auth_a)).json()
    assert after["enabled"] is True and after["url"] == receiver.url("/a")
    assert len(receiver.on("/a")) == 1


async def test_revoked_key_or_tampered_cookie_ends_the_session(service: Service) -> None:
    account, auth = await service.create_account()
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        assert (await browser.get("/dashboard/webhooks")).status_code == 200
        cookie = browser.cookies[SESSION_COOKIE]
        payload, signature = cookie.split(".")
        browser.cookies.clear()
        browser.cookies.set(SESSION_COOKIE, payload + "." + "0" * len(signature))
        assert (await browser.get("/dashboard/webhooks")).status_code == 303
        browser.cookies.clear()
        browser.cookies.set(SESSION_COOKIE, cookie)
        assert (await browser.get("/dashboard/webhooks")).status_code == 200
        keys = await service.client.get(f"/v1/accounts/{account}/keys", headers=service.admin())
        for key in keys.json():
            await service.client.delete(
                f"/v1/accounts/{account}/keys/{key['id']}", headers=service.admin()
            )
        assert (await browser.get("/dashboard/webhooks")).status_code == 303


async def test_delivery_log_filters_and_cursor_pages(service: Service, receiver: Receiver) -> None:
    account, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=receiver.url("/p"), events=["fabric.completed", "credits.low"]
    )
    events = [{"event": "fabric.completed", "data": PAYLOAD}] * 55
    events += [{"event": "credits.low", "data": {"remaining": 1, "threshold": 2, "userId": "u"}}]
    response = await service.client.post(
        "/v1/events/batch", json={"account": account, "events": events}, headers=service.admin()
    )
    assert response.status_code == 201, response.text
    await service.wait_delivery(auth, webhook["id"], status="delivered", count=56, timeout=30)
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        path = f"/dashboard/webhooks/{webhook['id']}/deliveries"
        first = await browser.get(path)
        rows = re.findall(r'id="row-(dlv_\w+)"', first.text)
        assert len(rows) == 50 and rows == sorted(rows, reverse=True)
        older = re.search(r'href="([^"]+cursor=dlv_\w+)"', first.text)
        assert older
        second = await browser.get(older.group(1).replace("&amp;", "&"))
        rest = re.findall(r'id="row-(dlv_\w+)"', second.text)
        assert len(rest) == 6 and not set(rest) & set(rows)

        low = await browser.get(path, params={"event": "credits.low", "status": "delivered"})
        assert len(re.findall(r'id="row-', low.text)) == 1
        assert len(re.findall(r'id="row-', (await browser.get(path, params={"since": "1h"})).text))
        before = await browser.get(path, params={"before": "2001-01-01T00:00"})
        assert "No deliveries match" in before.text
        for params in ({"status": "bogus"}, {"event": "x.y"}, {"before": "soon"}, {"cursor": "?"}):
            odd = await browser.get(path, params=params)
            assert odd.status_code == 200, params
        monitoring = await browser.get("/dashboard/monitoring")
        assert monitoring.status_code == 200 and "Failures by reason" in monitoring.text


async def test_static_files_and_unknown_pages(service: Service) -> None:
    htmx = await service.client.get("/dashboard/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx 2.0" in htmx.text[:200]
    css = await service.client.get("/dashboard/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    missing = await service.client.get("/dashboard/nowhere")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    # The dashboard is not part of the API's OpenAPI document.
    schema = (await service.client.get("/openapi.json")).json()
    assert not [p for p in schema["paths"] if p.startswith("/dashboard")]


async def test_production_mode_marks_the_session_cookie_secure(
    make_service: ServiceFactory,
) -> None:
    service = await make_service(mode=Mode.PRODUCTION)
    _account, auth = await service.create_account()
    async with new_client(service, "https") as browser:
        response = await sign_in(browser, key_of(auth))
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]
        assert (await browser.get("/dashboard/webhooks")).status_code == 200


async def test_webhook_list_and_monitoring_show_the_statistics(
    service: Service, receiver: Receiver
) -> None:
    """The 24 h success rates, hourly charts and Monitoring figures come from the same
    statistics as GET /v1/stats: one endpoint always answers 200, the other always 500."""
    account_id, auth = await service.create_account()
    healthy = await service.create_webhook(auth, url=receiver.url("/ok"))
    failing = await service.create_webhook(auth, url=receiver.url("/down"))
    receiver.script("/down", [500])
    for _ in range(2):
        await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, healthy["id"], status="delivered", count=2)
    await service.wait_delivery(auth, failing["id"], status="failed", count=2, timeout=30)
    api = (await service.client.get("/v1/stats", params={"window": "24h"}, headers=auth)).json()
    failed_attempts = len(receiver.on("/down"))
    assert api["attempts"] == 2 + failed_attempts and api["failed"] == failed_attempts

    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        listing = await browser.get("/dashboard/webhooks")
        assert listing.status_code == 200
        assert "100.0 %" in listing.text and "0.0 %" in listing.text
        assert "Last 24 hours: 2 delivered, 0 failed" in listing.text
        assert f"Last 24 hours: 0 delivered, {failed_attempts} failed" in listing.text

        monitoring = await browser.get("/dashboard/monitoring")
        assert monitoring.status_code == 200
        assert "No statistics yet" not in monitoring.text
        rate = f"{100 * 2 / (2 + failed_attempts):.1f} %"
        assert rate in monitoring.text
        assert f">{2 + failed_attempts}<" in monitoring.text  # attempts, last 24 h
        assert "http_500" in monitoring.text
        assert f"Last 24 hours: 2 delivered, {failed_attempts} failed" in monitoring.text


async def test_a_webhook_disabled_by_its_health_says_why(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    gone = await service.create_webhook(auth, url=receiver.url("/gone"))
    receiver.script("/gone", [410])
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, gone["id"], status="failed")
    webhook = (await service.client.get(f"/v1/webhooks/{gone['id']}", headers=auth)).json()
    assert webhook["enabled"] is False and webhook["disabledReason"] == "gone"
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        listing = await browser.get("/dashboard/webhooks")
        assert "Auto-disabled" in listing.text
        detail = await browser.get(f"/dashboard/webhooks/{gone['id']}")
        assert "disabled automatically: it answered 410 Gone" in detail.text


async def test_signing_scheme_chosen_when_adding_a_webhook(
    service: Service, receiver: Receiver
) -> None:
    _account, auth = await service.create_account()
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        form = await browser.get("/dashboard/webhooks/new")
        assert 'name="signing"' in form.text and "Standard Webhooks, Ed25519" in form.text
        for bad in ("svix", "", "standard-" + "x" * 5_000):
            refused = await add_webhook(browser, receiver.url("/bad"), signing=bad)
            assert refused.status_code == 400, bad
            assert 'id="signing-error"' in refused.text
        surrogate = await browser.post(
            "/dashboard/webhooks/new",
            content=(
                f"csrf_token={await csrf_of(browser)}&url={receiver.url('/bad')}"
                "&events=fabric.completed&signing=%ED%A0%80"
            ).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert surrogate.status_code == 400 and 'id="signing-error"' in surrogate.text
        assert (await service.client.get("/v1/webhooks", headers=auth)).json()["data"] == []

        ed = await add_webhook(browser, receiver.url("/ed"), signing="standard-ed25519")
        assert ed.status_code == 201, ed.text
        standard = await add_webhook(browser, receiver.url("/std"), signing="standard")
        assert standard.status_code == 201, standard.text
    hooks = {
        w["url"]: w for w in (await service.client.get("/v1/webhooks", headers=auth)).json()["data"]
    }
    ed_hook, std_hook = hooks[receiver.url("/ed")], hooks[receiver.url("/std")]
    assert (ed_hook["signatureFormat"], ed_hook["signatureAlgorithm"]) == ("standard", "ed25519")
    assert (std_hook["signatureFormat"], std_hook["signatureAlgorithm"]) == (
        "standard",
        "hmac-sha256",
    )
    key = (await service.client.get(f"/v1/webhooks/{ed_hook['id']}/secret", headers=auth)).json()
    public = (
        await service.client.get(f"/v1/webhooks/{ed_hook['id']}/public-key", headers=auth)
    ).json()["publicKey"]
    assert key["secret"].startswith("whsk_") and key["secret"] in ed.text
    assert public.startswith("whpk_") and public in ed.text  # shown next to the signing key
    assert "whpk_" not in standard.text


async def test_signing_scheme_changed_on_the_edit_form(
    service: Service, receiver: Receiver
) -> None:
    _account, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/edit"))
    wid, path = webhook["id"], f"/dashboard/webhooks/{webhook['id']}"
    fields = {"url": receiver.url("/edit"), "events": "fabric.completed"}

    async def state() -> tuple[str, str, str, str | None]:
        shown = (await service.client.get(f"/v1/webhooks/{wid}", headers=auth)).json()
        secret = (await service.client.get(f"/v1/webhooks/{wid}/secret", headers=auth)).json()
        return (
            shown["signatureFormat"],
            shown["signatureAlgorithm"],
            secret["secret"],
            shown["previousSecretExpiresAt"],
        )

    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        token = await csrf_of(browser, path)
        page = await browser.get(path)
        assert '<option value="promptha" selected>' in page.text
        # A rotation keeps running when the form is saved with the same scheme.
        rotated = await browser.post(
            f"{path}/rotate-secret", data={"csrf_token": token, "grace_period": "3600"}
        )
        assert rotated.status_code == 200
        rotating = await state()
        saved = await browser.post(path, data={"csrf_token": token, "signing": "promptha"} | fields)
        assert saved.status_code == 303 and await state() == rotating

        # The generated whsec_ secret fits the standard format: kept; the rotation ends.
        to_standard = await browser.post(
            path, data={"csrf_token": token, "signing": "standard"} | fields
        )
        assert to_standard.status_code == 303
        assert await state() == ("standard", "hmac-sha256", rotating[2], None)

        # An HMAC secret is no Ed25519 key: refused next to the field, nothing changes.
        refused = await browser.post(
            path, data={"csrf_token": token, "signing": "standard-ed25519"} | fields
        )
        assert refused.status_code == 400 and 'id="signing-error"' in refused.text
        assert await state() == ("standard", "hmac-sha256", rotating[2], None)

        # With a new secret asked for: a whsk_ key, and the page shows its public key.
        switched = await browser.post(
            path,
            data={"csrf_token": token, "signing": "standard-ed25519", "new_secret": "on"} | fields,
        )
        assert switched.status_code == 303 and "saved-new-secret" in switched.headers["location"]
        after = await state()
        assert after[:2] == ("standard", "ed25519") and after[2].startswith("whsk_")
        detail = await browser.get(switched.headers["location"])
        assert "A new signing secret signs from now on" in detail.text
        public = (await service.client.get(f"/v1/webhooks/{wid}/public-key", headers=auth)).json()
        assert public["publicKey"] in detail.text and after[2] not in detail.text


async def test_a_webhook_whose_secret_does_not_decrypt(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    """Under a wrong key ring: the pages render, what needs the old secret is a 503 page, and
    the edit form's "new secret" replaces it (with the scheme the form shows)."""
    first = await make_service(run_dispatcher=False)
    _account, auth = await first.create_account()
    webhook = await first.create_webhook(auth, url=receiver.url(), signatureFormat="standard")
    wid, path = webhook["id"], f"/dashboard/webhooks/{webhook['id']}"
    wrong = KeyRing.parse(generate_key_entry(TEST_KEY_ID))
    service = await make_service(encryption_keys=wrong, handoff=False, run_dispatcher=False)
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        assert (await browser.get("/dashboard/webhooks")).status_code == 200
        detail = await browser.get(path)
        assert detail.status_code == 200 and '<option value="standard" selected>' in detail.text
        token = await csrf_of(browser, path)
        for action in ("secret", "rotate-secret", "rotate-secret/complete"):
            answer = await browser.post(
                f"{path}/{action}", data={"csrf_token": token, "grace_period": "3600"}
            )
            assert answer.status_code == 503, (action, answer.status_code)
        fields = {"url": receiver.url(), "events": "fabric.completed", "signing": "standard"}
        saved = await browser.post(path, data={"csrf_token": token, "new_secret": "on"} | fields)
        assert saved.status_code == 303, saved.text
    shown = (await service.client.get(f"/v1/webhooks/{wid}", headers=auth)).json()
    assert (shown["signatureFormat"], shown["signatureAlgorithm"]) == ("standard", "hmac-sha256")
    secret = await service.client.get(f"/v1/webhooks/{wid}/secret", headers=auth)
    assert secret.status_code == 200 and secret.json()["secret"].startswith("whsec_")


async def test_delivery_settings_on_the_add_and_edit_forms(
    service: Service, receiver: Receiver
) -> None:
    """Requests at once (maxConcurrency), rate limit and ordering: chosen when adding, shown
    and changed on the edit form, refused next to their field (changing nothing)."""
    _account, auth = await service.create_account()
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        form = await browser.get("/dashboard/webhooks/new")
        for name in ("max_concurrency", "rate_limit", "ordering"):
            assert f'name="{name}"' in form.text
        for field, bad in (
            ("rate_limit", "0"),
            ("rate_limit", "1001"),
            ("rate_limit", "2.5"),
            ("rate_limit", "x" * 5_000),
            ("rate_limit", "\u0661"),  # an Arabic-Indic digit: not ASCII
            ("max_concurrency", "0"),
            ("max_concurrency", "-3"),
            ("ordering", "lifo"),
        ):
            refused = await add_webhook(browser, receiver.url("/bad"), **{field: bad})
            assert refused.status_code == 400, (field, bad)
            assert f'id="{field}-error"' in refused.text, (field, bad)
        surrogate = await browser.post(
            "/dashboard/webhooks/new",
            content=(
                f"csrf_token={await csrf_of(browser)}&url={receiver.url('/bad')}"
                "&events=fabric.completed&ordering=%ED%A0%80&rate_limit=%ED%A0%80"
            ).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert surrogate.status_code == 400 and 'id="ordering-error"' in surrogate.text
        assert (await service.client.get("/v1/webhooks", headers=auth)).json()["data"] == []

        added = await add_webhook(
            browser, receiver.url("/paced"), max_concurrency="4", rate_limit="20", ordering="fifo"
        )
        assert added.status_code == 201, added.text
        (hook,) = (await service.client.get("/v1/webhooks", headers=auth)).json()["data"]
        assert (hook["maxConcurrency"], hook["rateLimit"], hook["ordering"]) == (4, 20, "fifo")

        path = f"/dashboard/webhooks/{hook['id']}"
        page = await browser.get(path)
        assert 'name="rate_limit"' in page.text and 'value="20"' in page.text
        assert '<option value="fifo" selected>' in page.text
        fields = {
            "url": receiver.url("/paced"),
            "events": "fabric.completed",
            "signing": "promptha",
        }
        token = await csrf_of(browser, path)
        refused = await browser.post(path, data={"csrf_token": token, "rate_limit": "0"} | fields)
        assert refused.status_code == 400 and 'id="rate_limit-error"' in refused.text
        saved = await browser.post(
            path,
            data={"csrf_token": token, "rate_limit": "", "max_concurrency": "", "ordering": "none"}
            | fields,
        )
        assert saved.status_code == 303, saved.text
    shown = (await service.client.get(f"/v1/webhooks/{hook['id']}", headers=auth)).json()
    assert (shown["maxConcurrency"], shown["rateLimit"], shown["ordering"]) == (None, None, "none")
