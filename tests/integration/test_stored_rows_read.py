"""Reading never fails on stored data: rows as older versions wrote them (an event body with a
lone-surrogate escape, integers beyond 2^53, nesting deeper than what is accepted today) and
attempts whose receiver answered oddly (deeply nested JSON, a lone-surrogate escape, markup,
header values that are not strings) are inserted straight into SQLite and PostgreSQL, then read
through every list and detail route of the API and every page of the dashboard."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from sqlalchemy import insert

from promptha_webhooks import ids
from promptha_webhooks.canonical_json import MAX_NESTING_DEPTH
from promptha_webhooks.store.tables import attempts, deliveries, events

from support import Receiver, Service

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')

BIG = 123456789012345678901234567890  # beyond 2^53 and 2^64: kept exactly
OLD_DEPTH = 300  # what older versions stored; today's limit is MAX_NESTING_DEPTH
DEEP_ANSWER = "[" * 5000 + "]" * 5000  # a receiver's answer deeper than any parser goes


def event_body(event_id: str, data_text: str, now_s: int) -> str:
    return (
        f'{{"event":"fabric.completed","data":{data_text[:-1]},"eventId":"{event_id}"}},'
        f'"timestamp":{now_s}}}'
    )


ODD_DATA = {
    "surrogate": '{"executionId":"e\\ud800x","fabricId":"f","\\udc01key":1,"result":1,"usage":{}}',
    "big": f'{{"executionId":"e","fabricId":"f","result":{BIG},"usage":{{}}}}',
    "deep": (
        '{"executionId":"e","fabricId":"f","result":'
        + "[" * OLD_DEPTH
        + "]" * OLD_DEPTH
        + ',"usage":{}}'
    ),
}
ODD_ANSWERS: list[tuple[str | None, str | None]] = [
    # (response headers as stored, response body as stored)
    ('{"content-type":"application/json","x-odd":"a\\ud800b","x-count":5}', DEEP_ANSWER),
    ('{"content-type":"application/json"}', "[" * OLD_DEPTH + "]" * OLD_DEPTH),
    (None, '{"a":"\\udc00","b":' + str(BIG) + "}"),
    ('["not","an","object"]', "<script>alert(1)</script>"),
]


async def insert_odd_rows(service: Service, auth: dict[str, str], url: str) -> dict[str, Any]:
    webhook = await service.create_webhook(auth, url=url)
    now = int(time.time() * 1000)
    rows: dict[str, Any] = {"webhook": webhook["id"], "events": {}, "deliveries": {}}
    owner = await service.sql_row(
        "SELECT account_id FROM webhooks WHERE id = :id", id=webhook["id"]
    )
    async with service.app.state.services.db.transaction() as conn:
        for name, data_text in ODD_DATA.items():
            event_id = ids.new_id(ids.EVENT, now_ms=now)
            delivery_id = ids.new_id(ids.DELIVERY, now_ms=now)
            await conn.execute(
                insert(events).values(
                    id=event_id,
                    account_id=owner[0],
                    type="fabric.completed",
                    body=event_body(event_id, data_text, now // 1000),
                    is_test=False,
                    created_at=now,
                )
            )
            await conn.execute(
                insert(deliveries).values(
                    id=delivery_id,
                    event_id=event_id,
                    webhook_id=webhook["id"],
                    account_id=owner[0],
                    event_type="fabric.completed",
                    status="failed",
                    attempt_count=len(ODD_ANSWERS),
                    next_attempt_at=None,
                    claim_token=None,
                    last_status_code=500,
                    last_error="HTTP 500",
                    is_test=False,
                    created_at=now,
                    updated_at=now,
                )
            )
            for number, (headers, body) in enumerate(ODD_ANSWERS, start=1):
                await conn.execute(
                    insert(attempts).values(
                        id=ids.new_id(ids.ATTEMPT, now_ms=now),
                        delivery_id=delivery_id,
                        webhook_id=webhook["id"],
                        number=number,
                        trigger="scheduled",
                        url=url,
                        request_headers='{"x-promptha-event":"fabric.completed"}',
                        response_status=500,
                        response_headers=headers,
                        response_body=body,
                        duration_ms=12.5,
                        error="HTTP 500",
                        outcome="retry",
                        started_at=now + number,
                        finished_at=now + number,
                    )
                )
            rows["events"][name] = event_id
            rows["deliveries"][name] = delivery_id
    return rows


def check_event_data(name: str, data: dict[str, Any]) -> None:
    if name == "surrogate":
        assert data["executionId"] == "e\ufffdx"
        assert data["\ufffdkey"] == 1
    elif name == "big":
        assert data["result"] == BIG
    else:
        # Levels past MAX_NESTING_DEPTH (counted from the stored body's root) are their text.
        result = data["result"]
        nested = 0
        while isinstance(result, list):
            result, nested = result[0], nested + 1
        assert isinstance(result, str) and result.startswith("[[") and result.endswith("]]")
        assert nested + 2 == MAX_NESTING_DEPTH  # body → data → result → …
        assert result.count("[") == OLD_DEPTH - nested


async def signed_in_browser(service: Service, auth: dict[str, str]) -> httpx.AsyncClient:
    """A browser of its own on the app, signed in to the dashboard with the account's key."""
    browser = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.app), base_url="http://testserver", timeout=60
    )
    form = await browser.get("/dashboard/login")
    token = CSRF_RE.search(form.text)
    assert token, form.text
    key = auth["Authorization"].removeprefix("Bearer ")
    signed = await browser.post(
        "/dashboard/login", data={"csrf_token": token.group(1), "api_key": key}
    )
    assert signed.status_code == 303, signed.text
    return browser


async def get_ok(client: httpx.AsyncClient, path: str, **kwargs: Any) -> httpx.Response:
    response = await client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.text[:500])
    return response


async def test_every_api_read_renders_odd_stored_rows(service: Service, receiver: Receiver) -> None:
    _account, auth = await service.create_account()
    rows = await insert_odd_rows(service, auth, receiver.url("/odd"))
    client = service.client
    listed = (await get_ok(client, "/v1/events", headers=auth)).json()["data"]
    undelivered = (await get_ok(client, "/v1/events?undelivered=true", headers=auth)).json()
    assert {e["id"] for e in listed} == set(rows["events"].values())
    assert {e["id"] for e in undelivered["data"]} == set(rows["events"].values())
    by_id = {e["id"]: e for e in listed}
    for name, event_id in rows["events"].items():
        check_event_data(name, by_id[event_id]["data"])
        one = (await get_ok(client, f"/v1/events/{event_id}", headers=auth)).json()
        check_event_data(name, one["data"])
    webhook = rows["webhook"]
    page = await get_ok(client, f"/v1/webhooks/{webhook}/deliveries", headers=auth)
    assert len(page.json()["data"]) == len(ODD_DATA)
    for path in (f"/v1/webhooks/{webhook}", f"/v1/webhooks/{webhook}/stats", "/v1/stats"):
        await get_ok(client, path, headers=auth)
    for name, delivery_id in rows["deliveries"].items():
        detail = (await get_ok(client, f"/v1/deliveries/{delivery_id}", headers=auth)).json()
        check_event_data(name, detail["payload"]["data"])
        first, second, third, fourth = detail["attempts"]
        assert first["responseHeaders"] == {
            "content-type": "application/json",
            "x-odd": "a\ufffdb",
            "x-count": "5",
        }
        assert first["responseBody"] == DEEP_ANSWER  # bodies are text, shown as received
        assert second["responseBody"].startswith("[[[")
        assert third["responseHeaders"] is None and "\\udc00" in third["responseBody"]
        assert fourth["responseHeaders"] == {"": "['not', 'an', 'object']"}
        assert fourth["responseBody"] == "<script>alert(1)</script>"
        # The stored body, byte for byte: what each attempt sent.
        assert first["requestBody"].startswith('{"event":"fabric.completed"')


async def test_every_dashboard_page_renders_odd_stored_rows(
    service: Service, receiver: Receiver
) -> None:
    _account, auth = await service.create_account()
    rows = await insert_odd_rows(service, auth, receiver.url("/odd"))
    webhook = rows["webhook"]
    browser = await signed_in_browser(service, auth)
    try:
        for path in (
            "/dashboard/webhooks",
            f"/dashboard/webhooks/{webhook}",
            f"/dashboard/webhooks/{webhook}/deliveries",
            "/dashboard/monitoring",
        ):
            await get_ok(browser, path)
        for name, delivery_id in rows["deliveries"].items():
            for htmx in (False, True):
                headers = {"HX-Request": "true"} if htmx else {}
                page = await get_ok(
                    browser, f"/dashboard/deliveries/{delivery_id}", headers=headers
                )
                html = page.text
                context = (name, htmx, html[:300])
                # Deeply nested answers are shown as the text they were, not indented.
                assert DEEP_ANSWER in html, context
                assert "[" * OLD_DEPTH in html, context
                assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, context
                assert "<script>alert(1)" not in html, context
                assert "a\ufffdb" in html, context
                if name == "surrogate":
                    assert "e\ufffdx" in html, context
                elif name == "big":
                    assert str(BIG) in html, context
    finally:
        await browser.aclose()


async def test_resending_an_odd_stored_event_sends_its_stored_bytes(
    service: Service, receiver: Receiver
) -> None:
    _account, auth = await service.create_account()
    rows = await insert_odd_rows(service, auth, receiver.url("/odd"))
    for name, delivery_id in rows["deliveries"].items():
        stored = await service.sql_row(
            "SELECT e.body FROM events AS e JOIN deliveries AS d ON d.event_id = e.id "
            "WHERE d.id = :id",
            id=delivery_id,
        )
        response = await service.client.post(f"/v1/deliveries/{delivery_id}/retry", headers=auth)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "delivered", name
        [received] = [
            r for r in receiver.on("/odd") if r.headers["x-promptha-delivery-id"] == delivery_id
        ]
        assert received.body == stored[0].encode()
