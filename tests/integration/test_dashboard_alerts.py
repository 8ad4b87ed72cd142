"""The dashboard's Alerts page over ASGI: it shows and saves the account's alert contacts,
refuses a form without its CSRF token, shows each error next to its field with nothing saved,
and never reaches another account's webhook."""

from __future__ import annotations

import httpx
from test_dashboard import csrf_of, key_of, new_client, sign_in

from support import Receiver, Service


async def contacts(service: Service, auth: dict[str, str]) -> dict[str, object]:
    response = await service.client.get("/v1/alert-contacts", headers=auth)
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def save(browser: httpx.AsyncClient, **fields: str) -> httpx.Response:
    token = await csrf_of(browser, "/dashboard/alerts")
    return await browser.post("/dashboard/alerts", data={"csrf_token": token} | fields)


async def test_alerts_page_saves_contacts(service: Service, receiver: Receiver) -> None:
    _account, auth = await service.create_account("Acme")
    _other, other_auth = await service.create_account("Globex")
    mine = await service.create_webhook(auth, url=receiver.url("/alerts"), description="Pager")
    theirs = await service.create_webhook(other_auth, url=receiver.url("/theirs"))
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        shown = await browser.get("/dashboard/alerts")
        assert shown.status_code == 200
        assert "Alert e-mail addresses" in shown.text and mine["id"] in shown.text
        assert theirs["id"] not in shown.text
        saved = await save(
            browser,
            emails="ops@acme.example\r\noncall@acme.example, OPS@acme.example",
            webhook_id=mine["id"],
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == "/dashboard/alerts?done=alerts-saved"
        after = await browser.get(saved.headers["location"])
        assert "Alert contacts saved." in after.text
        assert "ops@acme.example\noncall@acme.example</textarea>" in after.text
        stored = await contacts(service, auth)
        assert stored["emails"] == ["ops@acme.example", "oncall@acme.example"]
        assert stored["webhookId"] == mine["id"]

        # refused forms change nothing
        for fields, says, status in (
            ({"emails": "not-an-address", "webhook_id": ""}, "must be an e-mail address", 400),
            (
                {"emails": "a@b.example", "webhook_id": theirs["id"]},
                f"No webhook {theirs['id']}",
                400,
            ),
            ({"emails": "\ufffd@b.example", "webhook_id": ""}, "must be an e-mail address", 400),
            ({"emails": " ".join(f"o{i}@b.example" for i in range(21))}, "at most 20", 400),
        ):
            refused = await save(browser, **fields)
            assert refused.status_code == status, refused.text
            assert says in refused.text and 'aria-invalid="true"' in refused.text
            assert "Nothing was saved" in refused.text
            assert await contacts(service, auth) == stored
        # a lone surrogate, percent-encoded: refused like any bad address
        token = await csrf_of(browser, "/dashboard/alerts")
        raw = await browser.post(
            "/dashboard/alerts",
            content=f"csrf_token={token}&emails=%ED%A0%80%40b.example&webhook_id=".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert raw.status_code == 400 and "Nothing was saved" in raw.text
        assert await contacts(service, auth) == stored
        # without the CSRF token: refused
        forged = await browser.post("/dashboard/alerts", data={"emails": "x@y.example"})
        assert forged.status_code == 403
        assert await contacts(service, auth) == stored
        # clearing both
        cleared = await save(browser, emails="", webhook_id="")
        assert cleared.status_code == 303
        assert (await contacts(service, auth))["emails"] == []


async def test_every_webhook_of_the_account_can_be_chosen(service: Service) -> None:
    """Past the first page of webhooks (100), and a broker webhook (shown by its kind and
    stream, not as "None"): each is a choice, and saving one of them works."""
    _, auth = await service.create_account()
    oldest = await service.create_webhook(auth, url="http://127.0.0.1:9/oldest")
    for i in range(100):
        await service.create_webhook(auth, url=f"http://127.0.0.1:9/h{i}")
    broker = await service.client.post(
        "/v1/webhooks",
        json={
            "type": "redis-stream",
            "config": {"url": "redis://127.0.0.1:6379/0", "stream": "alerts-stream"},
            "events": ["credits.low"],
        },
        headers=auth,
    )
    assert broker.status_code == 201, broker.text
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        shown = await browser.get("/dashboard/alerts")
        assert shown.text.count('<option value="wh_') == 102
        assert f'<option value="{oldest["id"]}">' in shown.text
        assert (
            f"redis-stream redis://127.0.0.1:6379/0 stream=alerts-stream ({broker.json()['id']})"
            in shown.text
        )
        for chosen in (oldest["id"], broker.json()["id"]):
            saved = await save(browser, emails="", webhook_id=chosen)
            assert saved.status_code == 303, saved.text
            assert (await contacts(service, auth))["webhookId"] == chosen
            again = await browser.get("/dashboard/alerts")
            assert f'<option value="{chosen}" selected>' in again.text
