"""The dashboard's side of scheduled deliveries and cancels: the event's "Deliver at", the
Cancel button of a pending delivery and "Cancel pending deliveries" on an event (CSRF like
every form), the cancelled badge and filter, and another account's ids as 404."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from test_dashboard import PAYLOAD, csrf_of, key_of, new_client, sign_in

from support import Receiver, Service


def rfc3339(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).isoformat().replace("+00:00", "Z")


async def publish_later(service: Service, account_id: str, seconds: float) -> dict[str, object]:
    response = await service.client.post(
        "/v1/events",
        json={
            "account": account_id,
            "event": "fabric.completed",
            "data": PAYLOAD,
            "deliverAt": rfc3339(time.time() + seconds),
        },
        headers=service.admin(),
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_cancel_buttons_badge_and_filter(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/later"))
    one = await publish_later(service, account_id, 3600)
    whole = await publish_later(service, account_id, 3600)
    [delivery] = (
        await service.client.get(f"/v1/events/{one['id']}/deliveries", headers=auth)
    ).json()["data"]
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        detail = await browser.get(f"/dashboard/deliveries/{delivery['id']}")
        assert (
            "badge-pending" in detail.text and f"/deliveries/{delivery['id']}/cancel" in detail.text
        )
        # without the CSRF token: refused, nothing changes
        refused = await browser.post(f"/dashboard/deliveries/{delivery['id']}/cancel")
        assert refused.status_code == 403
        token = await csrf_of(browser)
        cancelled = await browser.post(
            f"/dashboard/deliveries/{delivery['id']}/cancel",
            headers={"X-CSRF-Token": token, "HX-Request": "true"},
        )
        assert cancelled.status_code == 200, cancelled.text
        assert (
            "badge-cancelled" in cancelled.text
            and "Cancelled: it will not be sent" in cancelled.text
        )
        assert f"/deliveries/{delivery['id']}/cancel" not in cancelled.text  # no button now
        again = await browser.post(
            f"/dashboard/deliveries/{delivery['id']}/cancel",
            headers={"X-CSRF-Token": token, "HX-Request": "true"},
        )
        assert again.status_code == 200 and "Not cancelled: delivery" in again.text

        event_page = await browser.get(f"/dashboard/events/{whole['id']}")
        assert "Deliver at" in event_page.text and "Cancel pending deliveries" in event_page.text
        done = await browser.post(
            f"/dashboard/events/{whole['id']}/cancel", data={"csrf_token": token}
        )
        assert done.status_code == 303
        fresh = await browser.get(done.headers["location"])
        assert (
            "Cancelled 1 delivery." in fresh.text and "Cancel pending deliveries" not in fresh.text
        )

        log = await browser.get(
            f"/dashboard/webhooks/{webhook['id']}/deliveries", params={"status": "cancelled"}
        )
        assert log.status_code == 200
        assert '<option value="cancelled" selected>' in log.text
        assert len(set(re.findall(r'id="row-(dlv_\w+)"', log.text))) == 2
    statuses = (
        await service.client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=auth)
    ).json()["data"]
    assert {d["status"] for d in statuses} == {"cancelled"}
    assert receiver.requests == []


async def test_another_accounts_cancel_is_not_found(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    await service.create_webhook(auth, url=receiver.url("/mine"))
    event = await publish_later(service, account_id, 3600)
    [delivery] = (
        await service.client.get(f"/v1/events/{event['id']}/deliveries", headers=auth)
    ).json()["data"]
    _other, other_auth = await service.create_account("Other")
    async with new_client(service) as browser:
        await sign_in(browser, key_of(other_auth))
        token = await csrf_of(browser)
        for path in (
            f"/dashboard/deliveries/{delivery['id']}/cancel",
            f"/dashboard/events/{event['id']}/cancel",
            "/dashboard/events/evt_nope/cancel",
        ):
            response = await browser.post(path, data={"csrf_token": token})
            assert response.status_code == 404, (path, response.text)
    [still] = (
        await service.client.get(f"/v1/events/{event['id']}/deliveries", headers=auth)
    ).json()["data"]
    assert still["status"] == "pending"
