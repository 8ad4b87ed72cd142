"""Broker destinations through the dashboard's forms (httpx over ASGI, SQLite and
PostgreSQL): Add with a Redis stream publishes the test event to the real Redis; bad broker
settings are shown next to their field and nothing is saved; the edit form shows the URL with
its password masked and, saved as shown, keeps the stored one; another account's webhook is
a 404; a form without its CSRF token changes nothing."""

from __future__ import annotations

import json
from typing import Any

from test_dashboard import add_webhook, csrf_of, key_of, new_client, sign_in

from broker_peers import broker_peer, lower
from promptha_webhooks.config import Mode
from promptha_webhooks.receiver.verify import verify

from support import Service, ServiceFactory

PASSWORD = "dash-broker-pass-7"


async def _webhooks(service: Service, auth: dict[str, str]) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = (await service.client.get("/v1/webhooks", headers=auth)).json()[
        "data"
    ]
    return data


async def test_add_a_redis_stream_and_save_and_test(service: Service) -> None:
    _, auth = await service.create_account()
    async with broker_peer("redis-stream") as peer, new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        config = peer.config()
        response = await add_webhook(
            browser,
            "",
            action="save_test",
            destination_type="redis-stream",
            broker_url=config["url"],
            stream=config["stream"],
            max_len="1000",
        )
        assert response.status_code in (200, 201, 303), response.text
        [hook] = await _webhooks(service, auth)
        assert hook["type"] == "redis-stream" and hook["config"]["maxLen"] == 1000
        message = await peer.next_message()
        secret = await service.client.get(f"/v1/webhooks/{hook['id']}/secret", headers=auth)
        verify(message.body, lower(message.headers), secret.json()["secret"])

        # The event's deliveries name the broker webhook by its kind (it has no URL), in the
        # API and on the event's page (never an empty link).
        event_id = json.loads(message.body)["data"]["eventId"]
        listed = await service.client.get(f"/v1/events/{event_id}/deliveries", headers=auth)
        [row] = listed.json()["data"]
        assert (row["webhookType"], row["webhookUrl"]) == ("redis-stream", None)
        shown = await browser.get(f"/dashboard/events/{event_id}")
        assert shown.status_code == 200
        assert f">redis-stream {hook['id']}</a>" in shown.text
        assert '"></a>' not in shown.text


async def test_bad_broker_settings_are_shown_next_to_their_field(service: Service) -> None:
    _, auth = await service.create_account()
    cases = [
        ({"destination_type": "nats"}, "broker_url"),  # no URL
        ({"destination_type": "nats", "broker_url": "http://127.0.0.1:4222"}, "broker_url"),
        ({"destination_type": "nats", "broker_url": "nats://127.0.0.1:4222"}, "subject"),
        (
            {"destination_type": "redis-stream", "broker_url": "redis://127.0.0.1", "stream": "x"}
            | {"max_len": "-5"},
            "max_len",
        ),
        ({"destination_type": "kafka"}, "destination_type"),
        (
            {"destination_type": "nats", "broker_url": "nats://127.0.0.1", "subject": "s" * 99_999},
            "subject",
        ),
    ]
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        for extra, field in cases:
            response = await add_webhook(browser, "", **extra)
            assert response.status_code == 400, (extra, response.text[:300])
            assert f'id="{field}-error"' in response.text, (extra, field)
        # A lone surrogate's bytes (ED A0 80) in the broker URL: refused, nothing saved.
        token = await csrf_of(browser)
        raw = (
            f"csrf_token={token}&events=fabric.completed&destination_type=rabbitmq"
            "&broker_url=amqp%3A%2F%2Fh%ED%A0%80st&routing_key=q"
        )
        response = await browser.post(
            "/dashboard/webhooks/new",
            content=raw,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 400
    assert await _webhooks(service, auth) == []


async def test_edit_keeps_the_masked_password_and_other_accounts_get_404(
    service: Service,
) -> None:
    account_id, auth = await service.create_account()
    _, other = await service.create_account("Other")
    url = f"nats://app:{PASSWORD}@127.0.0.1:4222"
    hook = await service.create_webhook(auth, type="nats", config={"url": url, "subject": "orders"})
    path = f"/dashboard/webhooks/{hook['id']}"
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        page = await browser.get(path)
        assert page.status_code == 200
        assert PASSWORD not in page.text and "nats://app:****@127.0.0.1:4222" in page.text
        token = await csrf_of(browser, path)
        fields = {
            "csrf_token": token,
            "destination_type": "nats",
            "broker_url": "nats://app:****@127.0.0.1:4222",
            "subject": "orders.v2",
            "events": "fabric.completed",
        }
        saved = await browser.post(path, data=fields)
        assert saved.status_code == 303, saved.text
        no_csrf = await browser.post(path, data=fields | {"csrf_token": "", "subject": "x"})
        assert no_csrf.status_code in (400, 403)
    async with service.app.state.services.db.transaction() as conn:
        settings = await service.app.state.services.store.webhooks.delivery_settings(
            conn, account_id, hook["id"]
        )
    assert settings.destination is not None
    assert PASSWORD in settings.destination.config and "orders.v2" in settings.destination.config
    async with new_client(service) as intruder:
        await sign_in(intruder, key_of(other))
        assert (await intruder.get(path)).status_code == 404
        token = await csrf_of(intruder)
        stolen = await intruder.post(path, data=fields | {"csrf_token": token})
        assert stolen.status_code == 404


async def test_a_private_broker_host_is_refused_in_production(
    make_service: ServiceFactory,
) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["10.0.0.7"]

    service = await make_service(mode=Mode.PRODUCTION, resolve=resolve)
    _, auth = await service.create_account()
    for config in (
        {"url": "nats://127.0.0.1:4222", "subject": "s"},
        {"url": "redis://broker.internal:6379/0", "stream": "s"},
        {"url": "amqps://u:p@[::1]:5671/", "exchange": "", "routingKey": "q"},
    ):
        kind = {"nats": "nats", "redis": "redis-stream", "amqps": "rabbitmq"}[
            config["url"].split(":")[0]
        ]
        response = await service.client.post(
            "/v1/webhooks",
            json={"type": kind, "config": config, "events": ["fabric.completed"]},
            headers=auth,
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["field"] == "config.url"
    assert await _webhooks(service, auth) == []
