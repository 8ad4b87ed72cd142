"""Tenant isolation (another account's objects are 404, never 403) and authentication."""

from __future__ import annotations

import pytest

from support import Receiver, Service


async def test_account_b_sees_nothing_of_account_a(service: Service, receiver: Receiver) -> None:
    account_a, auth_a = await service.create_account("A")
    _account_b, auth_b = await service.create_account("B")
    webhook = await service.create_webhook(auth_a, url=receiver.url("/a"))
    event = await service.publish(
        account_a,
        "fabric.completed",
        {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}},
    )
    [delivery] = await service.wait_delivery(auth_a, webhook["id"], status="delivered")
    wid, did = webhook["id"], delivery["id"]
    calls = [
        ("GET", f"/v1/webhooks/{wid}", None),
        ("PATCH", f"/v1/webhooks/{wid}", {"enabled": False}),
        ("DELETE", f"/v1/webhooks/{wid}", None),
        ("GET", f"/v1/webhooks/{wid}/secret", None),
        ("GET", f"/v1/webhooks/{wid}/deliveries", None),
        ("POST", "/v1/webhooks/test", {"webhookId": wid, "event": "fabric.completed"}),
        ("GET", f"/v1/deliveries/{did}", None),
        ("POST", f"/v1/deliveries/{did}/retry", None),
        ("GET", f"/v1/events/{event['id']}", None),
    ]
    for method, path, body in calls:
        response = await service.client.request(method, path, json=body, headers=auth_b)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["type"] == "not_found"
    assert (await service.client.get("/v1/webhooks", headers=auth_b)).json()["data"] == []
    # Nothing changed for A, and nothing was sent again.
    still = (await service.client.get(f"/v1/webhooks/{wid}", headers=auth_a)).json()
    assert still["enabled"] is True
    assert len(receiver.on("/a")) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/webhooks"),
        ("POST", "/v1/webhooks"),
        ("GET", "/v1/webhooks/wh_x"),
        ("PATCH", "/v1/webhooks/wh_x"),
        ("DELETE", "/v1/webhooks/wh_x"),
        ("POST", "/v1/webhooks/test"),
        ("GET", "/v1/webhooks/wh_x/deliveries"),
        ("GET", "/v1/deliveries/dlv_x"),
        ("POST", "/v1/deliveries/dlv_x/retry"),
        ("GET", "/v1/event-types"),
        ("POST", "/v1/events"),
        ("GET", "/v1/accounts"),
        ("POST", "/v1/accounts"),
    ],
)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer pwk_not_a_real_key_000000000", "Basic dXNlcjpwYXNz", "Bearer"]
)
async def test_missing_or_wrong_key_is_401(
    service: Service, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await service.client.request(method, path, json={}, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["type"] == "authentication_failed"


async def test_roles(service: Service) -> None:
    _account_id, auth = await service.create_account()
    as_account = await service.client.get("/v1/accounts", headers=auth)
    assert as_account.status_code == 403
    as_admin = await service.client.get("/v1/webhooks", headers=service.admin())
    assert as_admin.status_code == 403
    assert as_admin.json()["error"]["type"] == "permission_denied"
    other = await service.client.post(
        "/v1/events",
        json={"account": "acct_someone_else", "event": "credits.low", "data": {}},
        headers=auth,
    )
    assert other.status_code in (400, 404)


async def test_account_lifecycle_and_keys(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account("Lifecycle")
    got = await service.client.get(f"/v1/accounts/{account_id}", headers=service.admin())
    assert got.json()["name"] == "Lifecycle"
    new_key = await service.client.post(f"/v1/accounts/{account_id}/keys", headers=service.admin())
    assert new_key.status_code == 201
    second_auth = {"Authorization": f"Bearer {new_key.json()['key']}"}
    assert (await service.client.get("/v1/webhooks", headers=second_auth)).status_code == 200
    keys = (
        await service.client.get(f"/v1/accounts/{account_id}/keys", headers=service.admin())
    ).json()
    assert len(keys) == 2 and all(k["key"] is None for k in keys)
    revoked = await service.client.delete(
        f"/v1/accounts/{account_id}/keys/{new_key.json()['id']}", headers=service.admin()
    )
    assert revoked.status_code == 204
    assert (await service.client.get("/v1/webhooks", headers=second_auth)).status_code == 401
    await service.create_webhook(auth, url=receiver.url())
    deleted = await service.client.delete(f"/v1/accounts/{account_id}", headers=service.admin())
    assert deleted.status_code == 204
    assert (await service.client.get("/v1/webhooks", headers=auth)).status_code == 401
    assert (
        await service.client.get(f"/v1/accounts/{account_id}", headers=service.admin())
    ).status_code == 404
