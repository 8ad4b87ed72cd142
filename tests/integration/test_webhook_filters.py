"""A webhook's filters must fit its events: a filter on a field the catalogue gives to some event
types (`fabricId`: fabric.*) would silently drop every event of a subscribed type without it
(credits.*), so it is a 400 naming those types, on create and on update (new filters, or new
events that the stored filters no longer fit), in the API and in the dashboard's form."""

from __future__ import annotations

import re
from typing import Any

import httpx

from support import Receiver, Service

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
FABRIC_FILTER = {"fabricId": ["product-description"]}
CREDITS_LOW = {"remaining": 1, "threshold": 10, "userId": "u"}


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "invalid_request"
    return error


async def test_create_refuses_a_filter_the_subscribed_events_do_not_carry(
    service: Service, receiver: Receiver
) -> None:
    _account_id, auth = await service.create_account()
    url = receiver.url("/f")
    credits_only = await service.client.post(
        "/v1/webhooks",
        json={"url": url, "events": ["credits.low", "credits.depleted"], "filters": FABRIC_FILTER},
        headers=auth,
    )
    assert error_of(credits_only) == {
        "type": "invalid_request",
        "message": "filters.fabricId: credits.low and credits.depleted have no fabricId (only "
        "fabric.completed, fabric.failed and fabric.started do), so the filter would drop "
        "every one of them: subscribe to them on another webhook, or remove the filter",
        "field": "filters.fabricId",
    }
    mixed = await service.client.post(
        "/v1/webhooks",
        json={"url": url, "events": ["fabric.completed", "credits.low"], "filters": FABRIC_FILTER},
        headers=auth,
    )
    message = error_of(mixed)["message"]
    assert message.startswith("filters.fabricId: credits.low has no fabricId (only "), message
    assert "subscribe to it on another webhook" in message
    never = await service.client.post(
        "/v1/webhooks",
        json={"url": url, "events": ["fabric.completed"], "filters": {"eventId": ["evt_1"]}},
        headers=auth,
    )
    assert error_of(never)["field"] == "filters.eventId"
    assert (await service.client.get("/v1/webhooks", headers=auth)).json()["data"] == []


async def test_filters_that_fit_are_accepted_and_match(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    await service.create_webhook(
        auth,
        url=receiver.url("/fabric"),
        events=["fabric.started", "fabric.completed", "fabric.failed"],
        filters=FABRIC_FILTER,
    )
    # userId is in every credits.* payload; tier in none of the catalogue's (a field the
    # platform adds): both may filter.
    await service.create_webhook(
        auth,
        url=receiver.url("/credits"),
        events=["credits.low", "credits.depleted", "credits.purchased"],
        filters={"userId": ["u"], "tier": ["pro"]},
    )
    fabric = await service.publish(
        account_id,
        "fabric.completed",
        {"executionId": "e", "fabricId": "product-description", "result": 1, "usage": {}},
    )
    credits = await service.publish(account_id, "credits.low", CREDITS_LOW | {"tier": "pro"})
    assert fabric["deliveryCount"] == 1 and credits["deliveryCount"] == 1


async def test_update_checks_the_filters_and_events_it_leaves_together(
    service: Service, receiver: Receiver
) -> None:
    _account_id, auth = await service.create_account()
    fabric = await service.create_webhook(
        auth, url=receiver.url("/fabric"), events=["fabric.completed"], filters=FABRIC_FILTER
    )
    credits = await service.create_webhook(auth, url=receiver.url("/c"), events=["credits.low"])

    # New filters on the stored events.
    new_filters = await service.client.patch(
        f"/v1/webhooks/{credits['id']}", json={"filters": FABRIC_FILTER}, headers=auth
    )
    assert error_of(new_filters)["field"] == "filters.fabricId"
    # New events alone, which the stored filter no longer fits: the events are the culprit.
    new_events = await service.client.patch(
        f"/v1/webhooks/{fabric['id']}",
        json={"events": ["fabric.completed", "credits.purchased"]},
        headers=auth,
    )
    error = error_of(new_events)
    assert error["field"] == "events" and "credits.purchased has no fabricId" in error["message"]
    for webhook, events, filters in (
        (fabric, ["fabric.completed"], FABRIC_FILTER),
        (credits, ["credits.low"], None),
    ):
        stored = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
        assert stored["events"] == events and stored["filters"] == filters  # unchanged
    # Both at once, fitting: accepted.
    both = await service.client.patch(
        f"/v1/webhooks/{fabric['id']}",
        json={"events": ["credits.purchased"], "filters": None},
        headers=auth,
    )
    assert both.status_code == 200, both.text
    assert both.json()["events"] == ["credits.purchased"] and both.json()["filters"] is None
    unknown = await service.client.patch(
        "/v1/webhooks/wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC",
        json={"events": ["fabric.failed"]},
        headers=auth,
    )
    assert unknown.status_code == 404


async def test_the_dashboard_form_shows_the_error_next_to_the_filter(
    service: Service, receiver: Receiver
) -> None:
    _account_id, auth = await service.create_account()
    hook = await service.create_webhook(auth, url=receiver.url("/d"), events=["credits.low"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.app), base_url="http://testserver"
    ) as browser:
        login = await browser.get("/dashboard/login")
        token = CSRF_RE.search(login.text)
        assert token
        key = auth["Authorization"].removeprefix("Bearer ")
        signed_in = await browser.post(
            "/dashboard/login", data={"csrf_token": token.group(1), "api_key": key}
        )
        assert signed_in.status_code == 303
        page = await browser.get("/dashboard/webhooks")
        csrf = CSRF_RE.search(page.text)
        assert csrf
        form = {
            "csrf_token": csrf.group(1),
            "url": receiver.url("/d2"),
            "events": ["fabric.completed", "credits.low"],
            "fabric_ids": "product-description",
        }
        for path in ("/dashboard/webhooks/new", f"/dashboard/webhooks/{hook['id']}"):
            response = await browser.post(path, data=form)
            assert response.status_code == 400, (path, response.text)
            assert 'id="filters-error"' in response.text
            assert "credits.low has no fabricId" in response.text
            assert 'id="events-error"' not in response.text
    listed = (await service.client.get("/v1/webhooks", headers=auth)).json()["data"]
    assert [(w["id"], w["events"], w["filters"]) for w in listed] == [
        (hook["id"], ["credits.low"], None)
    ]
