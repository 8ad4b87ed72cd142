"""Secret rotation end to end with a receiver written exactly like the guide's Express handler
(tests/node/server.js under Node): it holds ONE secret and verifies only `x-promptha-signature`,
which a rotation signs with the new secret. Its owner switches that secret at several moments
within the grace period (before, during and after a burst of events): every event is accepted
at least once and no delivery fails. The window's ending (on its own or completed early) then
follows the normal rules.

Every wait is a bounded poll; nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from node_receiver import NodeReceiver

from support import Service

OLD = "whsec_rotation_old_0123456789"
LONG_GRACE_S = 600  # the switches happen within it; these tests never wait for it to end
SHORT_GRACE_S = 5  # long enough for the whole retry schedule to run (≈0.3 s) before it ends
BURST = 8
RETRY_ATTEMPTS = 6  # support.FAST_SCHEDULE: attempts made before a delivery parks
WAIT_S = 30.0


async def publish_burst(service: Service, account_id: str, tag: str, count: int) -> list[str]:
    """`count` credits.low events; their ids (the service puts each in data.eventId, which the
    handler records)."""
    published = []
    for n in range(count):
        event = await service.publish(
            account_id, "credits.low", {"remaining": n, "threshold": 10, "userId": f"{tag}-{n}"}
        )
        published.append(str(event["id"]))
    return published


async def accepted(node: NodeReceiver) -> list[str]:
    received = await asyncio.to_thread(node.received)
    return [str(item["eventId"]) for item in received]


async def wait_accepted(node: NodeReceiver, tags: list[str]) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        missing = set(tags) - set(await accepted(node))
        if not missing:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"never accepted: {sorted(missing)}\n{node.log()[-2000:]}")
        await asyncio.sleep(0.05)


async def deliveries(service: Service, auth: dict[str, str], webhook_id: str) -> list[Any]:
    found: list[Any] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        response = await service.client.get(
            f"/v1/webhooks/{webhook_id}/deliveries", params=params, headers=auth
        )
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["data"]
        cursor = page.get("nextCursor")
        if not cursor:
            return found


async def wait_parked(
    service: Service, auth: dict[str, str], webhook_id: str, count: int
) -> list[Any]:
    """Until `count` deliveries are parked: pending after the whole retry schedule of 401s."""
    deadline = time.monotonic() + WAIT_S
    while True:
        parked = [
            d
            for d in await deliveries(service, auth, webhook_id)
            if d["status"] == "pending"
            and d["attemptCount"] >= RETRY_ATTEMPTS
            and d["lastResponseStatus"] == 401
        ]
        if len(parked) >= count:
            return parked
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(parked)} parked deliveries, wanted {count}")
        await asyncio.sleep(0.05)


async def wait_settled(
    service: Service, auth: dict[str, str], webhook_id: str, count: int
) -> dict[str, int]:
    """Until none of the webhook's `count` deliveries is pending; how many ended how."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = await deliveries(service, auth, webhook_id)
        statuses: dict[str, int] = {}
        for delivery in found:
            statuses[delivery["status"]] = statuses.get(delivery["status"], 0) + 1
        if len(found) == count and "pending" not in statuses:
            return statuses
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries not settled: {statuses}")
        await asyncio.sleep(0.05)


async def rotate(
    service: Service, auth: dict[str, str], webhook_id: str, grace_s: int
) -> dict[str, Any]:
    response = await service.client.post(
        f"/v1/webhooks/{webhook_id}/rotate-secret",
        json={"gracePeriodSeconds": grace_s},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_guide_handler_loses_no_event_whenever_its_owner_switches_in_the_window(
    service: Service, node_receiver: NodeReceiver
) -> None:
    node_receiver.set_secret(OLD)
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=node_receiver.url, events=["credits.low"], secret=OLD
    )
    webhook_id = webhook["id"]
    everything = await publish_burst(service, account_id, "before-rotation", BURST)
    await wait_accepted(node_receiver, everything)

    # 1. The owner switches AFTER a burst: every event of it was rejected through the whole
    # retry schedule and parked; the next event's 2xx wakes them.
    new = (await rotate(service, auth, webhook_id, LONG_GRACE_S))["secret"]
    after = await publish_burst(service, account_id, "switch-after", BURST)
    await wait_parked(service, auth, webhook_id, BURST)
    assert not set(after) & set(await accepted(node_receiver))
    node_receiver.set_secret(new)
    woke = await publish_burst(service, account_id, "wakes-them", 1)
    everything += after + woke
    await wait_accepted(node_receiver, everything)

    # 2. The owner switches DURING a burst.
    new = (await rotate(service, auth, webhook_id, LONG_GRACE_S))["secret"]
    during = await publish_burst(service, account_id, "switch-during-1", BURST // 2)
    node_receiver.set_secret(new)
    during += await publish_burst(service, account_id, "switch-during-2", BURST // 2)
    everything += during
    await wait_accepted(node_receiver, everything)

    # 3. The owner switches BEFORE a burst (right after the rotation).
    new = (await rotate(service, auth, webhook_id, LONG_GRACE_S))["secret"]
    node_receiver.set_secret(new)
    before = await publish_burst(service, account_id, "switch-before", BURST)
    everything += before
    await wait_accepted(node_receiver, everything)

    statuses = await wait_settled(service, auth, webhook_id, len(everything))
    assert statuses == {"delivered": len(everything)}
    assert set(everything) <= set(await accepted(node_receiver))


async def test_a_parked_delivery_is_sent_when_the_grace_period_ends(
    service: Service, node_receiver: NodeReceiver
) -> None:
    # Its owner switches once the schedule is spent, and no other event comes to wake the
    # parked deliveries: the end of the grace period does.
    node_receiver.set_secret(OLD)
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=node_receiver.url, events=["credits.low"], secret=OLD
    )
    rotation = await rotate(service, auth, webhook["id"], SHORT_GRACE_S)
    tags = await publish_burst(service, account_id, "parked", 3)
    parked = await wait_parked(service, auth, webhook["id"], 3)
    expires = datetime.fromisoformat(rotation["previousSecretExpiresAt"])
    assert {datetime.fromisoformat(d["nextAttemptAt"]) for d in parked} == {expires}
    node_receiver.set_secret(rotation["secret"])
    await wait_accepted(node_receiver, tags)
    assert await wait_settled(service, auth, webhook["id"], 3) == {"delivered": 3}


async def test_without_a_switch_the_end_of_the_grace_period_fails_them(
    service: Service, node_receiver: NodeReceiver
) -> None:
    node_receiver.set_secret(OLD)
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=node_receiver.url, events=["credits.low"], secret=OLD
    )
    await rotate(service, auth, webhook["id"], SHORT_GRACE_S)
    await publish_burst(service, account_id, "never", 2)
    await wait_parked(service, auth, webhook["id"], 2)
    assert await wait_settled(service, auth, webhook["id"], 2) == {"failed": 2}
    for delivery in await deliveries(service, auth, webhook["id"]):
        # One attempt more than the schedule: the one at the window's end, under the normal
        # rules (a 401 fails).
        assert delivery["attemptCount"] == RETRY_ATTEMPTS + 1
        assert delivery["lastResponseStatus"] == 401


async def test_completing_the_rotation_sends_parked_deliveries_under_the_normal_rules(
    service: Service, node_receiver: NodeReceiver
) -> None:
    node_receiver.set_secret(OLD)
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=node_receiver.url, events=["credits.low"], secret=OLD
    )
    webhook_id = webhook["id"]
    complete = f"/v1/webhooks/{webhook_id}/rotate-secret/complete"

    # Switched, then completed: the parked deliveries go at once and are accepted.
    new = (await rotate(service, auth, webhook_id, LONG_GRACE_S))["secret"]
    switched = await publish_burst(service, account_id, "switched", 3)
    await wait_parked(service, auth, webhook_id, 3)
    node_receiver.set_secret(new)
    response = await service.client.post(complete, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["previousSecretExpiresAt"] is None
    await wait_accepted(node_receiver, switched)
    assert await wait_settled(service, auth, webhook_id, 3) == {"delivered": 3}

    # Completed without switching: the owner ended the window, a 401 fails as it always does.
    await rotate(service, auth, webhook_id, LONG_GRACE_S)
    await publish_burst(service, account_id, "not-switched", 2)
    await wait_parked(service, auth, webhook_id, 2)
    response = await service.client.post(complete, headers=auth)
    assert response.status_code == 200, response.text
    assert await wait_settled(service, auth, webhook_id, 5) == {"delivered": 3, "failed": 2}
