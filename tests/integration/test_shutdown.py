"""Graceful stop: attempts still running when the grace period ends are handed back (due at
once), so the next process sends them without waiting for the lease to run out."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from support import Receiver, ServiceFactory


async def test_stop_releases_unfinished_claims(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    first = await make_service(shutdown_grace_s=0.3, lease_s=60.0, delivery_timeout_s=10.0)
    account_id, auth = await first.create_account()
    hang = asyncio.Event()

    async def slow_then_fast(_request: object) -> web.Response:
        if not hang.is_set():
            await asyncio.sleep(5)
        return web.Response(text="ok")

    receiver.responders["/stuck"] = slow_then_fast
    webhook = await first.create_webhook(auth, url=receiver.url("/stuck"), events=["credits.low"])
    await first.publish(account_id, "credits.low", {"remaining": 1, "threshold": 2, "userId": "u"})
    await receiver.wait_for(1, path="/stuck")
    stopped_at = time.monotonic()
    await make_service.close()  # SIGTERM path: lifespan shutdown → dispatcher.stop(grace)
    assert time.monotonic() - stopped_at < 3  # the grace, not the 5 s answer or the lease

    hang.set()
    second = await make_service(lease_s=60.0)
    [delivered] = await second.wait_delivery(auth, webhook["id"], status="delivered", timeout=5)
    # Released, not leased: sent again well before the 60 s lease would have expired.
    assert len(receiver.on("/stuck")) == 2
    detail = (await second.client.get(f"/v1/deliveries/{delivered['id']}", headers=auth)).json()
    assert detail["attempts"][-1]["responseStatus"] == 200
