"""Statistics: per-webhook windows, per-account failures by reason, hourly buckets, against
real receivers and a clock the test moves."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from typing import Any

from aiohttp import web

from support import ManualClock, ReceivedRequest, Receiver, Service, ServiceFactory, free_port

PAYLOAD = {"executionId": "e1", "fabricId": "f1", "result": {"output": "x"}, "usage": {}}


async def attempt_durations(service: Service, auth: dict[str, str], webhook_id: str) -> list[float]:
    page = await service.client.get(
        f"/v1/webhooks/{webhook_id}/deliveries", params={"limit": 100}, headers=auth
    )
    durations: list[float] = []
    for delivery in page.json()["data"]:
        detail = await service.client.get(f"/v1/deliveries/{delivery['id']}", headers=auth)
        durations += [a["durationMs"] for a in detail.json()["attempts"]]
    return sorted(durations)


async def test_webhook_stats_windows(make_service: ServiceFactory, receiver: Receiver) -> None:
    clock = ManualClock()
    service = await make_service(clock=clock, retry_schedule_s=(0.0,))
    account_id, auth = await service.create_account()
    receiver.script("/h", [200, 500, 200, 500, 200])
    webhook = await service.create_webhook(auth, url=receiver.url("/h"))
    for _ in range(5):
        await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, webhook["id"], status="delivered", count=3)
    await service.wait_delivery(auth, webhook["id"], status="failed", count=2)

    response = await service.client.get(f"/v1/webhooks/{webhook['id']}/stats", headers=auth)
    assert response.status_code == 200, response.text
    stats: dict[str, Any] = response.json()
    assert stats["object"] == "webhook_stats" and stats["webhookId"] == webhook["id"]
    assert [w["window"] for w in stats["windows"]] == ["1h", "24h", "7d"]
    for window in stats["windows"]:
        assert (window["attempts"], window["delivered"], window["failed"]) == (5, 3, 2)
        assert window["successRate"] == 0.6
    durations = await attempt_durations(service, auth, webhook["id"])
    latency = stats["windows"][0]["latency"]
    assert durations[0] <= latency["p50Ms"] <= latency["p95Ms"] <= latency["p99Ms"]
    assert latency["p99Ms"] <= durations[-1]
    assert stats["health"]["lastSuccessAt"] is not None
    assert stats["health"]["lastFailureReason"] in (None, "HTTP 500")

    # the webhook object carries the same windows (lists do not: one query per webhook)
    single = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
    assert single["stats"] == stats["windows"]
    assert single["health"] == stats["health"]
    listed = (await service.client.get("/v1/webhooks", headers=auth)).json()["data"]
    assert listed[0]["stats"] is None and listed[0]["health"] == stats["health"]

    clock.advance(2 * 3600)  # out of the 1 h window, still in 24 h
    stats = (await service.client.get(f"/v1/webhooks/{webhook['id']}/stats", headers=auth)).json()
    one_hour, day, week = stats["windows"]
    assert one_hour["attempts"] == 0 and one_hour["successRate"] is None
    assert one_hour["latency"] == {"p50Ms": None, "p95Ms": None, "p99Ms": None}
    assert day["attempts"] == 5 and week["attempts"] == 5

    clock.advance(8 * 24 * 3600)
    stats = (await service.client.get(f"/v1/webhooks/{webhook['id']}/stats", headers=auth)).json()
    assert [w["attempts"] for w in stats["windows"]] == [0, 0, 0]


async def test_account_stats_failures_by_reason(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    # The timeout leaves room for a busy CI host: one attempt only, so an /ok answer that took
    # longer than the timeout would count as a failure.
    service = await make_service(retry_schedule_s=(0.0,), delivery_timeout_s=1.0, lease_s=5.0)
    account_id, auth = await service.create_account()

    async def slow(_request: ReceivedRequest) -> web.Response:
        await asyncio.sleep(4)
        return web.Response(status=200)

    receiver.responders["/slow"] = slow
    receiver.script("/error", [503])
    receiver.script("/ok", [200])
    closed = f"http://127.0.0.1:{free_port()}/nobody"  # nothing listens: connection refused
    hooks = [
        await service.create_webhook(auth, url=url)
        for url in (receiver.url("/slow"), receiver.url("/error"), receiver.url("/ok"), closed)
    ]
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    for hook, status in zip(hooks, ["failed", "failed", "delivered", "failed"], strict=True):
        await service.wait_delivery(auth, hook["id"], status=status, count=2)

    response = await service.client.get("/v1/stats", params={"window": "1h"}, headers=auth)
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["object"] == "account_stats" and stats["accountId"] == account_id
    assert (stats["attempts"], stats["delivered"], stats["failed"]) == (8, 2, 6)
    assert stats["successRate"] == 0.25
    reasons = {r["reason"]: r["count"] for r in stats["failuresByReason"]}
    assert reasons == {"timeout": 2, "http_503": 2, "connection_error": 2}
    assert stats["latency"]["p95Ms"] >= stats["latency"]["p50Ms"]
    assert stats["webhooksDisabled"] == 0

    # another account sees none of it
    _other, other_auth = await service.create_account("Other")
    other = (await service.client.get("/v1/stats", headers=other_auth)).json()
    assert other["attempts"] == 0 and other["failuresByReason"] == []


async def test_hourly_buckets(make_service: ServiceFactory, receiver: Receiver) -> None:
    clock = ManualClock()
    service = await make_service(clock=clock, retry_schedule_s=(0.0,))
    account_id, auth = await service.create_account()
    receiver.script("/h", [500, 200, 200])
    webhook = await service.create_webhook(auth, url=receiver.url("/h"))
    for _ in range(3):
        await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, webhook["id"], status="delivered", count=2)
    await service.wait_delivery(auth, webhook["id"], status="failed", count=1)
    clock.advance(3 * 3600)

    response = await service.client.get(f"/v1/webhooks/{webhook['id']}/stats/hourly", headers=auth)
    assert response.status_code == 200, response.text
    buckets = response.json()["buckets"]
    assert len(buckets) == 24
    hours = [datetime.fromisoformat(b["hour"].replace("Z", "+00:00")) for b in buckets]
    assert all(b.minute == 0 and b.second == 0 for b in hours)
    assert all((b - a).total_seconds() == 3600 for a, b in itertools.pairwise(hours))
    busy = [b for b in buckets if b["delivered"] or b["failed"]]
    assert len(busy) in (1, 2)  # the attempts may straddle an hour boundary
    assert sum(b["delivered"] for b in busy) == 2 and sum(b["failed"] for b in busy) == 1
    assert busy[-1] in buckets[-5:-2]  # three hours before the current one

    short = await service.client.get(
        f"/v1/webhooks/{webhook['id']}/stats/hourly", params={"hours": 2}, headers=auth
    )
    assert [b["delivered"] + b["failed"] for b in short.json()["buckets"]] == [0, 0]


async def test_stats_bad_input_and_isolation(service: Service, receiver: Receiver) -> None:
    _account_id, auth = await service.create_account()
    _other, other_auth = await service.create_account("Other")
    webhook = await service.create_webhook(auth, url=receiver.url("/h"))
    for path in ("stats", "stats/hourly"):
        response = await service.client.get(
            f"/v1/webhooks/{webhook['id']}/{path}", headers=other_auth
        )
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "not_found"
    for params in ({"window": "2d"}, {"window": ""}):
        response = await service.client.get("/v1/stats", params=params, headers=auth)
        assert response.status_code == 400 and response.json()["error"]["field"] == "window"
    for hours in ("0", "169", "x"):
        response = await service.client.get(
            f"/v1/webhooks/{webhook['id']}/stats/hourly", params={"hours": hours}, headers=auth
        )
        assert response.status_code == 400, response.text
    response = await service.client.get("/v1/stats", headers=service.admin())
    assert response.status_code == 403
