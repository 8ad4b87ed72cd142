"""Production mode: https only, public addresses only, checked at creation and at every attempt
after DNS resolution (a host that re-resolves to a private address is not called)."""

from __future__ import annotations

import pytest

from promptha_webhooks.config import Mode

from support import Receiver, ServiceFactory

PUBLIC_IP = "93.184.215.14"


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://10.1.2.3/x",
        "https://192.168.0.10/x",
        "https://172.16.5.4/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://0.0.0.0/x",
        "https://100.64.0.1/x",
        "https://internal.test/x",
    ],
)
async def test_non_public_urls_refused_at_creation(make_service: ServiceFactory, url: str) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return {"localhost": ["127.0.0.1"], "internal.test": ["10.0.0.7"]}.get(host, [PUBLIC_IP])

    service = await make_service(mode=Mode.PRODUCTION, resolve=resolve)
    _account_id, auth = await service.create_account()
    response = await service.client.post(
        "/v1/webhooks", json={"url": url, "events": ["fabric.completed"]}, headers=auth
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == "url"


async def test_public_https_url_accepted(make_service: ServiceFactory) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return [PUBLIC_IP]

    service = await make_service(mode=Mode.PRODUCTION, resolve=resolve)
    _account_id, auth = await service.create_account()
    response = await service.client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/promptha", "events": ["fabric.completed"]},
        headers=auth,
    )
    assert response.status_code == 201


async def test_dns_rebinding_is_blocked_at_attempt(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    """The host resolved to a public address when saved, then to loopback: no request leaves."""
    answers = {"rebind.example.com": [PUBLIC_IP]}

    async def resolve(host: str, port: int) -> list[str]:
        return answers.get(host, [PUBLIC_IP])

    service = await make_service(mode=Mode.PRODUCTION, resolve=resolve)
    account_id, auth = await service.create_account()
    port = receiver.base_url.rsplit(":", 1)[1]
    webhook = await service.create_webhook(auth, url=f"https://rebind.example.com:{port}/hook")
    answers["rebind.example.com"] = ["127.0.0.1"]
    await service.publish(
        account_id,
        "fabric.completed",
        {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}},
    )
    [delivery] = await service.wait_delivery(auth, webhook["id"], status="failed")
    detail = (await service.client.get(f"/v1/deliveries/{delivery['id']}", headers=auth)).json()
    assert detail["attempts"], detail
    assert all(a["error"].startswith("blocked") for a in detail["attempts"])
    assert receiver.requests == []


async def test_development_mode_allows_loopback_http(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    service = await make_service(mode=Mode.DEVELOPMENT)
    _account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url())
    assert webhook["url"].startswith("http://127.0.0.1")
