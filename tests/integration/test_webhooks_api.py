"""The guide's calls with an account key: create/list/get/update/delete webhooks, event types,
secrets, pagination."""

from __future__ import annotations

from support import Receiver, Service


async def test_guide_create_call_and_crud(service: Service, receiver: Receiver) -> None:
    _account_id, auth = await service.create_account()
    guide_events = [
        "fabric.completed",
        "fabric.failed",
        "ask.message",
        "credits.low",
        "credits.depleted",
    ]
    response = await service.client.post(
        "/v1/webhooks",
        json={"url": receiver.url(), "events": guide_events, "secret": "your_webhook_secret"},
        headers=auth,
    )
    assert response.status_code == 201
    created = response.json()
    assert created["id"].startswith("wh_")
    assert created["events"] == guide_events
    assert created["secret"] == "your_webhook_secret"
    assert created["enabled"] is True

    got = (await service.client.get(f"/v1/webhooks/{created['id']}", headers=auth)).json()
    assert got["url"] == receiver.url()
    assert "secret" not in got
    secret = (await service.client.get(f"/v1/webhooks/{created['id']}/secret", headers=auth)).json()
    assert secret["secret"] == "your_webhook_secret"

    patched = await service.client.patch(
        f"/v1/webhooks/{created['id']}",
        json={"enabled": False, "description": "paused", "filters": {"tier": ["a"]}},
        headers=auth,
    )
    assert patched.status_code == 200
    assert patched.json()["enabled"] is False
    assert patched.json()["disabledReason"] == "manual"
    assert patched.json()["filters"] == {"tier": ["a"]}
    reenabled = await service.client.patch(
        f"/v1/webhooks/{created['id']}", json={"enabled": True, "filters": None}, headers=auth
    )
    assert reenabled.json()["enabled"] is True
    assert reenabled.json()["disabledReason"] is None
    assert reenabled.json()["filters"] is None

    rotated = await service.client.patch(
        f"/v1/webhooks/{created['id']}", json={"secret": None}, headers=auth
    )
    assert rotated.status_code == 200
    new_secret = (
        await service.client.get(f"/v1/webhooks/{created['id']}/secret", headers=auth)
    ).json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != "your_webhook_secret"

    deleted = await service.client.delete(f"/v1/webhooks/{created['id']}", headers=auth)
    assert deleted.status_code == 204
    gone = await service.client.get(f"/v1/webhooks/{created['id']}", headers=auth)
    assert gone.status_code == 404
    assert gone.json()["error"]["type"] == "not_found"


async def test_secret_generated_when_omitted(service: Service, receiver: Receiver) -> None:
    _account_id, auth = await service.create_account()
    created = await service.create_webhook(auth, url=receiver.url())
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 30


async def test_list_webhooks_paginates_newest_first(service: Service, receiver: Receiver) -> None:
    _account_id, auth = await service.create_account()
    ids = [(await service.create_webhook(auth, url=receiver.url(f"/{i}")))["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await service.client.get("/v1/webhooks", params=params, headers=auth)).json()
        seen += [w["id"] for w in page["data"]]
        if not page["hasMore"]:
            break
        cursor = page["nextCursor"]
    assert seen == list(reversed(ids))


async def test_event_types_catalogue(service: Service) -> None:
    _account_id, auth = await service.create_account()
    response = await service.client.get("/v1/event-types", headers=auth)
    assert response.status_code == 200
    types = {t["name"]: t for t in response.json()}
    assert set(types) == {
        "fabric.started",
        "fabric.completed",
        "fabric.failed",
        "ask.session.created",
        "ask.message",
        "ask.session.ended",
        "credits.low",
        "credits.depleted",
        "credits.purchased",
        # operational events the service publishes about the account's own endpoints
        "webhook.failing",
        "webhook.disabled",
        "webhook.recovered",
        "delivery.failed",
    }
    assert types["fabric.started"]["description"] == "Execution began"
    assert set(types["credits.purchased"]["schema"]["required"]) == {
        "amount",
        "newBalance",
        "userId",
    }
    assert set(types["fabric.completed"]["schema"]["required"]) == {
        "executionId",
        "fabricId",
        "result",
        "usage",
    }


async def test_openapi_lists_the_guide_routes(service: Service) -> None:
    spec = (await service.client.get("/openapi.json")).json()
    for path in (
        "/v1/webhooks",
        "/v1/webhooks/test",
        "/v1/webhooks/{webhook_id}",
        "/v1/webhooks/{webhook_id}/deliveries",
        "/v1/deliveries/{delivery_id}",
        "/v1/deliveries/{delivery_id}/retry",
        "/v1/event-types",
        "/v1/events",
        "/v1/accounts",
    ):
        assert path in spec["paths"], path
