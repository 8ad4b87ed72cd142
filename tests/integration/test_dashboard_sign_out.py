"""Signing out of the dashboard ends the session on the server. The session is a signed cookie,
valid wherever it is copied until it expires; the sign-out is recorded in the database, so a
copy of the cookie taken before it is refused afterwards, by the process that signed out and by
another one on the same database (both sharing the session secret, as a deployment must)."""

from __future__ import annotations

import re

import httpx

from promptha_webhooks.dashboard.sessions import SESSION_COOKIE

from support import Service, ServiceFactory

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
SESSION_SECRET = "sign-out-test-session-secret-0123456789"


def browser(service: Service) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.app), base_url="http://testserver"
    )


async def sign_in(client: httpx.AsyncClient, api_key: str) -> str:
    """Sign in; the session cookie and the CSRF token of its forms."""
    form = await client.get("/dashboard/login")
    token = CSRF_RE.search(form.text)
    assert token
    signed_in = await client.post(
        "/dashboard/login", data={"csrf_token": token.group(1), "api_key": api_key}
    )
    assert signed_in.status_code == 303, signed_in.text
    page = await client.get("/dashboard/webhooks")
    csrf = CSRF_RE.search(page.text)
    assert page.status_code == 200 and csrf
    return csrf.group(1)


async def test_a_copied_session_cookie_is_refused_after_sign_out(
    make_service: ServiceFactory,
) -> None:
    first = await make_service(session_secret=SESSION_SECRET)
    second = await make_service(session_secret=SESSION_SECRET)  # another API process
    _account_id, auth = await first.create_account()
    api_key = auth["Authorization"].removeprefix("Bearer ")
    async with browser(first) as signed_out, browser(first) as other_tab:
        csrf = await sign_in(signed_out, api_key)
        copied = signed_out.cookies[SESSION_COOKIE]
        await sign_in(other_tab, api_key)  # a session of its own, which stays
        for service in (first, second):
            async with browser(service) as thief:
                thief.cookies.set(SESSION_COOKIE, copied)
                assert (await thief.get("/dashboard/webhooks")).status_code == 200
        out = await signed_out.post("/dashboard/logout", data={"csrf_token": csrf})
        assert out.status_code == 303

        for service in (first, second):
            async with browser(service) as thief:
                thief.cookies.set(SESSION_COOKIE, copied)
                page = await thief.get("/dashboard/webhooks")
                assert page.status_code == 303
                assert page.headers["location"].startswith("/dashboard/login")
                created = await thief.post(
                    "/dashboard/webhooks/new",
                    data={
                        "csrf_token": csrf,
                        "url": "http://127.0.0.1:9/stolen",
                        "events": "fabric.completed",
                    },
                )
                assert created.status_code == 303
                assert created.headers["location"].startswith("/dashboard/login")
                # The sign-in page does not send a signed-out session back to the dashboard.
                thief.cookies.set(SESSION_COOKIE, copied)
                login = await thief.get("/dashboard/login")
                assert login.status_code == 200 and 'name="api_key"' in login.text
        # Signing out again with the copy (a second tab of the same session) changes nothing.
        async with browser(second) as thief:
            thief.cookies.set(SESSION_COOKIE, copied)
            again = await thief.post("/dashboard/logout", data={"csrf_token": csrf})
            assert again.status_code == 303
        assert (await other_tab.get("/dashboard/webhooks")).status_code == 200
    assert (await first.client.get("/v1/webhooks", headers=auth)).json()["data"] == []
