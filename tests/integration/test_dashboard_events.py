"""The dashboard's Events pages (search by id, type or pattern and time range; one event with
its deliveries to every webhook) and bulk resend on the delivery log (the ticked failed
deliveries, or every failed one in the time range a batch at a time with a progress count),
over ASGI on both backends, with a receiver that fails, then succeeds."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

from test_dashboard import csrf_of, key_of, new_client, sign_in

from promptha_webhooks import ids
from promptha_webhooks.dashboard.pages.deliveries import RESEND_BATCH

from support import Receiver, Service, ServiceFactory

FABRIC = {"executionId": "e1", "fabricId": "f1", "result": {"output": "x"}, "usage": {}}
LOW = {"remaining": 120, "threshold": 500, "userId": "user_7d2f"}
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def hidden_fields(html: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in HIDDEN_RE.findall(html)}


async def statuses(service: Service, auth: dict[str, str], webhook_id: str) -> dict[str, str]:
    response = await service.client.get(
        f"/v1/webhooks/{webhook_id}/deliveries", params={"limit": 100}, headers=auth
    )
    return {d["id"]: d["status"] for d in response.json()["data"]}


async def test_events_search_and_event_detail(service: Service, receiver: Receiver) -> None:
    account, auth = await service.create_account("Acme")
    other, other_auth = await service.create_account("Globex")
    receiver.script("/down", [410])
    up = await service.create_webhook(auth, url=receiver.url("/up"), events=["fabric.*"])
    down = await service.create_webhook(auth, url=receiver.url("/down"), events=["fabric.*"])
    event = await service.publish(account, "fabric.completed", FABRIC)
    low = await service.publish(account, "credits.low", LOW)
    foreign = await service.publish(other, "fabric.completed", FABRIC)
    await service.wait_delivery(auth, up["id"], status="delivered")
    [failed] = await service.wait_delivery(auth, down["id"], status="failed")

    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        listing = await browser.get("/dashboard/events")
        assert listing.status_code == 200
        assert event["id"] in listing.text and low["id"] in listing.text
        assert foreign["id"] not in listing.text
        assert listing.text.index(low["id"]) < listing.text.index(event["id"])  # newest first
        assert 'href="/dashboard/events" aria-current="page"' in listing.text

        fabric = await browser.get("/dashboard/events", params={"type": "fabric.*"})
        assert event["id"] in fabric.text and low["id"] not in fabric.text
        by_id = await browser.get("/dashboard/events", params={"id": low["id"]})
        assert low["id"] in by_id.text and event["id"] not in by_id.text
        theirs = await browser.get("/dashboard/events", params={"id": foreign["id"]})
        assert f"/dashboard/events/{foreign['id']}" not in theirs.text
        assert "No events match this search" in theirs.text

        for params, says in (
            ({"type": "nope.*"}, "covers no event type"),
            ({"type": "x" * 5000}, "Unknown event type"),
            ({"id": "evt_nope"}, "not an event id"),
            ({"since": "yesterday"}, "Use a date and time"),
            ({"since": "2026-01-02T00:00", "until": "2026-01-01T00:00"}, "until must not be"),
        ):
            bad = await browser.get("/dashboard/events", params=params)
            assert bad.status_code == 200 and says in bad.text, (params, bad.text[-500:])
            assert 'aria-invalid="true"' in bad.text
        raw = await browser.get("/dashboard/events?type=%ED%A0%80&id=%00")
        assert raw.status_code == 200 and 'aria-invalid="true"' in raw.text

        detail = await browser.get(f"/dashboard/events/{event['id']}")
        assert detail.status_code == 200
        for text in (receiver.url("/up"), receiver.url("/down"), "HTTP 410", "executionId"):
            assert text in detail.text, text
        assert f'href="/dashboard/deliveries/{failed["id"]}"' in detail.text
        assert f'href="/dashboard/webhooks/{up["id"]}/deliveries"' in detail.text
        unknown = ids.new_id(ids.EVENT)
        for path in (f"/dashboard/events/{foreign['id']}", f"/dashboard/events/{unknown}"):
            missing = await browser.get(path)
            assert missing.status_code == 404 and "another account" in missing.text
    async with new_client(service) as browser:
        await sign_in(browser, key_of(other_auth))
        mine = await browser.get("/dashboard/events")
        assert foreign["id"] in mine.text and event["id"] not in mine.text


async def test_resend_selected_failed_deliveries(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    service = await make_service(retry_schedule_s=(0.0,))
    account, auth = await service.create_account("Acme")
    other, other_auth = await service.create_account("Globex")
    receiver.script("/flaky", [500])
    webhook = await service.create_webhook(auth, url=receiver.url("/flaky"))
    for _ in range(3):
        await service.publish(account, "fabric.completed", FABRIC)
    failed = await service.wait_delivery(auth, webhook["id"], status="failed", count=3)
    theirs = await service.create_webhook(other_auth, url=receiver.url("/theirs"))
    receiver.script("/theirs", [500])
    await service.publish(other, "fabric.completed", FABRIC)
    [foreign] = await service.wait_delivery(other_auth, theirs["id"], status="failed")
    receiver.script("/flaky", [200])
    log_path = f"/dashboard/webhooks/{webhook['id']}/deliveries"

    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        log = await browser.get(log_path)
        for delivery in failed:
            assert f'value="{delivery["id"]}" form="bulk-form"' in log.text
        token = await csrf_of(browser, log_path)
        chosen = [failed[0]["id"], failed[1]["id"]]
        form: Any = [("csrf_token", token), ("status", "failed")]
        form += [("delivery", id) for id in [*chosen, foreign["id"]]]
        done = await browser.post(
            f"{log_path}/resend",
            content=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"{log_path}?status=failed&resent=2&of=3"
        await service.wait_delivery(auth, webhook["id"], status="delivered", count=2)
        fresh = await browser.get(done.headers["location"])
        assert "Resent 2 of 3 (1 could not be" in fresh.text
        # The fresh log of failed deliveries holds the one left, not the resent ones.
        assert failed[2]["id"] in fresh.text
        assert chosen[0] not in fresh.text and chosen[1] not in fresh.text

        nothing = await browser.post(f"{log_path}/resend", data={"csrf_token": token})
        assert nothing.status_code == 400 and "Select at least one" in nothing.text
        hostile = await browser.post(
            f"{log_path}/resend", data={"csrf_token": token, "delivery": "dlv_\U0001f600" * 50}
        )
        assert hostile.status_code == 400 and "not a delivery id" in hostile.text
        their_log = f"/dashboard/webhooks/{theirs['id']}/deliveries"
        for path in (f"{their_log}/resend", f"{their_log}/resend-failed"):
            refused = await browser.post(
                path, data={"csrf_token": token, "delivery": foreign["id"]}
            )
            assert refused.status_code == 404, path
    assert await statuses(service, other_auth, theirs["id"]) == {foreign["id"]: "failed"}
    assert len(receiver.on("/theirs")) == 1


async def test_resend_all_failed_in_range_with_progress(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    service = await make_service(retry_schedule_s=(0.0,))
    account, auth = await service.create_account("Acme")
    receiver.script("/flaky", [500])
    webhook = await service.create_webhook(auth, url=receiver.url("/flaky"))
    count = RESEND_BATCH + 5
    batch = {
        "account": account,
        "events": [{"event": "fabric.completed", "data": FABRIC} for _ in range(count)],
    }
    published = await service.client.post("/v1/events/batch", json=batch, headers=service.admin())
    assert published.status_code == 201, published.text
    await service.wait_delivery(auth, webhook["id"], status="failed", count=count)
    receiver.script("/flaky", [200])
    log_path = f"/dashboard/webhooks/{webhook['id']}/deliveries"

    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        token = await csrf_of(browser, f"{log_path}?since=24h")
        htmx = {"HX-Request": "true", "X-CSRF-Token": token}
        first = await browser.post(f"{log_path}/resend-failed", data={"since": "24h"}, headers=htmx)
        assert first.status_code == 200, first.text
        assert f"Resent {RESEND_BATCH} of {count}" in first.text
        assert 'hx-trigger="load"' in first.text
        carried = hidden_fields(first.text)
        assert carried["done"] == str(RESEND_BATCH) and carried["since"] == "24h"
        second = await browser.post(f"{log_path}/resend-failed", data=carried, headers=htmx)
        assert second.status_code == 200
        fresh_url = second.headers["HX-Redirect"]
        assert fresh_url == f"{log_path}?since=24h&resent={count}&of={count}"
        await service.wait_delivery(auth, webhook["id"], status="delivered", count=count)
        fresh = await browser.get(fresh_url)
        assert f"Resent {count} of {count}." in fresh.text
        assert "badge-failed" not in fresh.text  # no stale row

        # Without htmx the form does every batch, then shows the fresh log.
        await service.publish(account, "fabric.completed", FABRIC)
        receiver.script("/flaky", [500])
        await wait_failed(service, auth, webhook["id"], 1)
        receiver.script("/flaky", [200])
        plain = await browser.post(
            f"{log_path}/resend-failed", data={"csrf_token": token, "status": "failed"}
        )
        assert plain.status_code == 303
        assert plain.headers["location"] == f"{log_path}?status=failed&resent=1&of=1"
        for bad in ({"done": "x"}, {"started": "soon"}, {"before": "later"}):
            refused = await browser.post(
                f"{log_path}/resend-failed", data={"csrf_token": token} | bad
            )
            assert refused.status_code == 400, bad


async def wait_failed(service: Service, auth: dict[str, str], webhook_id: str, count: int) -> None:
    await service.wait_delivery(auth, webhook_id, status="failed", count=count)
