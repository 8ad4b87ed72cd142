"""The dashboard's webhook form: custom headers, retry delays and timeout on Add and Edit
(over ASGI, both backends); header values never appear in a page; bad values are shown next
to their field and change nothing; a saved header reaches a real receiver."""

from __future__ import annotations

from typing import Any

from test_dashboard import add_webhook, csrf_of, key_of, new_client, sign_in

from support import Receiver, Service


async def _webhook(service: Service, auth: dict[str, str], wid: str) -> dict[str, Any]:
    found: dict[str, Any] = (await service.client.get(f"/v1/webhooks/{wid}", headers=auth)).json()
    return found


async def test_add_with_delivery_settings_then_edit(service: Service, receiver: Receiver) -> None:
    _account, auth = await service.create_account()
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        created = await add_webhook(
            browser,
            receiver.url("/dash"),
            action="save_test",
            headers="X-Api-Key: dash-key-1\n\nX-Tenant: acme\n",
            retry_schedule="5s, 30s, 5m",
            timeout="10",
        )
        assert created.status_code == 201, created.text
        [request] = await receiver.wait_for(1, path="/dash")
        assert request.headers["X-Api-Key"] == "dash-key-1"
        assert request.headers["X-Tenant"] == "acme"
        [hook] = (await service.client.get("/v1/webhooks", headers=auth)).json()["data"]
        assert hook["headerNames"] == ["X-Api-Key", "X-Tenant"]
        assert (hook["retrySchedule"], hook["timeoutSeconds"]) == ([5, 30, 300], 10)

        path = f"/dashboard/webhooks/{hook['id']}"
        page = await browser.get(path)
        assert "X-Api-Key, X-Tenant" in page.text and "dash-key-1" not in page.text
        assert 'value="5s, 30s, 5m"' in page.text and 'value="10"' in page.text
        token = await csrf_of(browser, path)
        fields = {"csrf_token": token, "url": receiver.url("/dash"), "events": "fabric.completed"}
        # Saved without new headers: kept; schedule and timeout as the form holds them.
        kept = await browser.post(path, data=fields | {"retry_schedule": "none", "timeout": ""})
        assert kept.status_code == 303, kept.text
        after = await _webhook(service, auth, hook["id"])
        assert after["headerNames"] == ["X-Api-Key", "X-Tenant"]
        assert (after["retrySchedule"], after["timeoutSeconds"]) == ([], None)
        replaced = await browser.post(path, data=fields | {"headers": "X-Only: 1"})
        assert replaced.status_code == 303
        assert (await _webhook(service, auth, hook["id"]))["headerNames"] == ["X-Only"]
        cleared = await browser.post(path, data=fields | {"clear_headers": "on"})
        assert cleared.status_code == 303
        assert (await _webhook(service, auth, hook["id"]))["headerNames"] == []
        assert (await _webhook(service, auth, hook["id"]))["retrySchedule"] is None


async def test_bad_delivery_settings_are_shown_next_to_their_field(service: Service) -> None:
    _account, auth = await service.create_account()
    cases = [
        ({"headers": "no colon here"}, "headers"),
        ({"headers": "Host: evil"}, "headers"),
        ({"headers": "X-Ok: a\rb"}, "headers"),
        ({"retry_schedule": "5x"}, "retrySchedule"),
        ({"retry_schedule": "2d, 2d"}, "retrySchedule"),
        ({"retry_schedule": ", ".join(["1s"] * 10)}, "retrySchedule"),
        ({"timeout": "31"}, "timeoutSeconds"),
        ({"timeout": "0"}, "timeoutSeconds"),
        ({"timeout": "1.5"}, "timeoutSeconds"),
    ]
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        for extra, field in cases:
            response = await add_webhook(browser, "http://127.0.0.1:9/x", **extra)
            assert response.status_code == 400, extra
            assert f'id="{field}-error"' in response.text, (extra, response.text)
        assert (await service.client.get("/v1/webhooks", headers=auth)).json()["data"] == []
        webhook = await service.create_webhook(
            auth, url="http://127.0.0.1:9/x", headers={"X-Keep": "k"}, timeoutSeconds=5
        )
        path = f"/dashboard/webhooks/{webhook['id']}"
        token = await csrf_of(browser, path)
        fields = {"csrf_token": token, "url": "http://127.0.0.1:9/x", "events": "fabric.completed"}
        for extra, field in cases:
            response = await browser.post(path, data=fields | extra)
            assert response.status_code == 400, extra
            assert f'id="{field}-error"' in response.text, extra
        after = await _webhook(service, auth, webhook["id"])
        assert (after["headerNames"], after["timeoutSeconds"]) == (["X-Keep"], 5)
