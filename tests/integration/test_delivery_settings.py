"""A webhook's own delivery settings, end to end against real receivers on 127.0.0.1 (SQLite
and PostgreSQL): static `headers` arrive on every attempt (stored sealed, logged masked),
`timeoutSeconds` bounds each attempt, `retrySchedule` decides the retries; bad values are
refused with a 400 that names the field and change nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from support import FAST_SCHEDULE, ReceivedRequest, Receiver, Service, ServiceFactory

COMPLETED = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}
GATEWAY = {"X-Api-Key": "gw-key-0123456789", "Authorization": "Bearer gateway-token"}


async def _delivery(service: Service, auth: dict[str, str], delivery_id: str) -> dict[str, Any]:
    response = await service.client.get(f"/v1/deliveries/{delivery_id}", headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("handoff", [True, False])
async def test_static_headers_arrive_on_every_attempt_and_are_sealed(
    make_service: ServiceFactory, receiver: Receiver, handoff: bool
) -> None:
    service = await make_service(handoff=handoff)
    account_id, auth = await service.create_account()
    receiver.script("/hook", [500, 200])
    webhook = await service.create_webhook(auth, url=receiver.url("/hook"), headers=GATEWAY)
    assert webhook["headerNames"] == ["Authorization", "X-Api-Key"]
    assert "headers" not in webhook
    await service.publish(account_id, "fabric.completed", COMPLETED)
    [delivered] = await service.wait_delivery(auth, webhook["id"], status="delivered")
    arrived = receiver.on("/hook")
    assert len(arrived) == 2  # the first attempt (500) and its retry
    for request in arrived:
        assert request.headers["X-Api-Key"] == GATEWAY["X-Api-Key"]
        assert request.headers["Authorization"] == GATEWAY["Authorization"]
        assert request.headers["x-promptha-signature"]
    # The attempt log names them without their values.
    detail = await _delivery(service, auth, delivered["id"])
    for attempt in detail["attempts"]:
        assert attempt["requestHeaders"]["X-Api-Key"] == "[redacted]"
        assert "gw-key" not in str(attempt["requestHeaders"])
    # Sealed at rest: neither value is in the row.
    row = await service.sql_row("SELECT headers FROM webhooks WHERE id = :id", id=webhook["id"])
    assert row[0].startswith("v1:")
    assert "gw-key" not in row[0] and "gateway-token" not in row[0]
    # Their values on the dedicated endpoint (like the secret's).
    revealed = await service.client.get(f"/v1/webhooks/{webhook['id']}/headers", headers=auth)
    assert revealed.status_code == 200, revealed.text
    assert revealed.json() == {
        "object": "webhook_headers",
        "webhookId": webhook["id"],
        "headers": GATEWAY,
    }


async def test_test_events_and_resends_carry_the_headers(
    service: Service, receiver: Receiver
) -> None:
    _, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=receiver.url("/t"), headers={"X-Gateway": "abc"}
    )
    response = await service.client.post(
        "/v1/webhooks/test",
        json={"webhookId": webhook["id"], "event": "fabric.completed"},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    [request] = await receiver.wait_for(1, path="/t")
    assert request.headers["X-Gateway"] == "abc"


async def test_patch_replaces_and_clears_the_headers(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/p"), headers=GATEWAY)
    path = f"/v1/webhooks/{webhook['id']}"
    patched = await service.client.patch(path, json={"headers": {"X-New": "n"}}, headers=auth)
    assert patched.status_code == 200, patched.text
    assert patched.json()["headerNames"] == ["X-New"]
    await service.publish(account_id, "fabric.completed", COMPLETED)
    [request] = await receiver.wait_for(1, path="/p")
    assert request.headers["X-New"] == "n"
    assert "X-Api-Key" not in request.headers
    kept = await service.client.patch(path, json={"description": "d"}, headers=auth)
    assert kept.json()["headerNames"] == ["X-New"]
    cleared = await service.client.patch(path, json={"headers": None}, headers=auth)
    assert cleared.json()["headerNames"] == []
    row = await service.sql_row("SELECT headers FROM webhooks WHERE id = :id", id=webhook["id"])
    assert row[0] is None
    revealed = await service.client.get(f"{path}/headers", headers=auth)
    assert revealed.json()["headers"] == {}


@pytest.fixture
async def stalled() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A receiver that reads the request and answers only when the test lets it go."""
    release = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        await release.wait()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/slow", release
    finally:
        release.set()
        await runner.cleanup()


async def test_a_slow_receiver_times_out_at_the_webhooks_timeout(
    make_service: ServiceFactory, stalled: tuple[str, asyncio.Event]
) -> None:
    url, _ = stalled
    # The server's timeout is far longer: the attempt ends at the webhook's 1 s.
    service = await make_service(delivery_timeout_s=60.0, lease_s=120.0)
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=url, timeoutSeconds=1, retrySchedule=[])
    assert webhook["timeoutSeconds"] == 1
    await service.publish(account_id, "fabric.completed", COMPLETED)
    [failed] = await service.wait_delivery(auth, webhook["id"], status="failed", timeout=30)
    detail = await _delivery(service, auth, failed["id"])
    [attempt] = detail["attempts"]
    assert attempt["error"] == "timeout: no complete answer within 1 s"
    assert attempt["responseStatus"] is None


async def test_the_server_timeout_applies_without_the_webhooks(
    make_service: ServiceFactory, stalled: tuple[str, asyncio.Event]
) -> None:
    url, _ = stalled
    service = await make_service(delivery_timeout_s=2.0)
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=url, retrySchedule=[])
    assert webhook["timeoutSeconds"] is None
    await service.publish(account_id, "fabric.completed", COMPLETED)
    [failed] = await service.wait_delivery(auth, webhook["id"], status="failed", timeout=30)
    [attempt] = (await _delivery(service, auth, failed["id"]))["attempts"]
    assert attempt["error"] == "timeout: no complete answer within 2 s"


async def test_a_failing_receiver_is_retried_on_the_webhooks_schedule(
    service: Service, receiver: Receiver
) -> None:
    """Three attempts (the server's schedule has six), the later ones no sooner than the
    webhook's delays after the one before."""
    assert len(FAST_SCHEDULE) == 6
    delays = [0.3, 0.6]
    account_id, auth = await service.create_account()
    receiver.script("/fail", [503])
    webhook = await service.create_webhook(auth, url=receiver.url("/fail"), retrySchedule=delays)
    assert webhook["retrySchedule"] == delays
    await service.publish(account_id, "fabric.completed", COMPLETED)
    [failed] = await service.wait_delivery(auth, webhook["id"], status="failed", timeout=30)
    assert failed["attemptCount"] == 3
    arrived: list[ReceivedRequest] = receiver.on("/fail")
    assert len(arrived) == 3
    assert len((await _delivery(service, auth, failed["id"]))["attempts"]) == 3
    # Lower bounds only: a retry is never due before its delay has passed.
    times = [r.received_at for r in arrived]
    assert times[1] - times[0] >= delays[0] - 0.01
    assert times[2] - times[1] >= delays[1] - 0.01


async def test_an_empty_schedule_means_one_attempt(service: Service, receiver: Receiver) -> None:
    account_id, auth = await service.create_account()
    receiver.script("/once", [500])
    webhook = await service.create_webhook(auth, url=receiver.url("/once"), retrySchedule=[])
    await service.publish(account_id, "fabric.completed", COMPLETED)
    [failed] = await service.wait_delivery(auth, webhook["id"], status="failed")
    assert failed["attemptCount"] == 1


async def test_patch_sets_and_resets_schedule_and_timeout(service: Service) -> None:
    _, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url="http://127.0.0.1:9/x")
    assert webhook["retrySchedule"] is None and webhook["timeoutSeconds"] is None
    path = f"/v1/webhooks/{webhook['id']}"
    body = {"retrySchedule": [5, 30, 300], "timeoutSeconds": 30}
    patched = await service.client.patch(path, json=body, headers=auth)
    assert patched.status_code == 200, patched.text
    assert patched.json()["retrySchedule"] == [5, 30, 300]
    assert patched.json()["timeoutSeconds"] == 30
    kept = await service.client.patch(path, json={"description": "d"}, headers=auth)
    assert kept.json()["retrySchedule"] == [5, 30, 300]
    reset = await service.client.patch(
        path, json={"retrySchedule": None, "timeoutSeconds": None}, headers=auth
    )
    assert reset.json()["retrySchedule"] is None and reset.json()["timeoutSeconds"] is None


BAD = [
    ("headers", {"x-promptha-signature": "x"}),
    ("headers", {"Webhook-Id": "x"}),
    ("headers", {"Content-Type": "text/plain"}),
    ("headers", {"HOST": "evil"}),
    ("headers", {"Content-Length": "1"}),
    ("headers", {"Connection": "close"}),
    ("headers", {"Transfer-Encoding": "chunked"}),
    ("headers", {"Proxy-Authorization": "x"}),
    ("headers", {"Keep-Alive": "1"}),
    ("headers", {"Upgrade": "h2c"}),
    ("headers", {"TE": "trailers"}),
    ("headers", {"Bad Name": "x"}),
    ("headers", {"X-Ok": "a\r\nX-Injected: 1"}),
    ("headers", {"X-Ok": "a\nb"}),
    ("headers", {"X-Ok": "a\x00b"}),
    ("headers", {"X-Ok": ""}),
    ("headers", {"X-Ok": "é"}),
    ("headers", {"X-Ok": "v" * 1025}),
    ("headers", {"X" * 65: "v"}),
    ("headers", {f"X-H{i}": "v" for i in range(21)}),
    ("headers", {"X-Ok": 1}),
    ("headers", ["X-Ok: 1"]),
    ("retrySchedule", [1] * 10),
    ("retrySchedule", [-1]),
    ("retrySchedule", [86400, 86400, 86400, 1]),
    ("retrySchedule", ["5s"]),
    ("retrySchedule", [True]),
    ("retrySchedule", 5),
    ("timeoutSeconds", 0),
    ("timeoutSeconds", 31),
    ("timeoutSeconds", 1.5),
    ("timeoutSeconds", "10"),
    ("timeoutSeconds", True),
]


@pytest.mark.parametrize(("name", "value"), BAD)
async def test_bad_values_are_refused_and_change_nothing(
    service: Service, name: str, value: Any
) -> None:
    _, auth = await service.create_account()
    created = await service.client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/x", "events": ["fabric.completed"], name: value},
        headers=auth,
    )
    assert created.status_code == 400, created.text
    error = created.json()["error"]
    assert error["type"] == "invalid_request"
    assert error.get("field", name).startswith(name)
    assert (await service.client.get("/v1/webhooks", headers=auth)).json()["data"] == []
    webhook = await service.create_webhook(
        auth,
        url="http://127.0.0.1:9/x",
        headers={"X-Keep": "k"},
        retrySchedule=[1, 2],
        timeoutSeconds=5,
    )
    patched = await service.client.patch(
        f"/v1/webhooks/{webhook['id']}", json={name: value}, headers=auth
    )
    assert patched.status_code == 400, patched.text
    got = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
    assert got["headerNames"] == ["X-Keep"]
    assert got["retrySchedule"] == [1, 2]
    assert got["timeoutSeconds"] == 5


async def test_the_bounds_are_accepted(service: Service) -> None:
    _, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth,
        url="http://127.0.0.1:9/x",
        headers={f"X-H{i}": "v" * 1024 for i in range(20)},
        retrySchedule=[28800.0] * 9,  # 9 retries, exactly 3 days
        timeoutSeconds=1,
    )
    assert len(webhook["headerNames"]) == 20
    assert webhook["retrySchedule"] == [28800.0] * 9


async def test_headers_of_another_account_or_unknown_webhook_are_not_found(
    service: Service,
) -> None:
    _, auth = await service.create_account("A")
    _, other = await service.create_account("B")
    webhook = await service.create_webhook(auth, url="http://127.0.0.1:9/x", headers={"X-A": "a"})
    for headers, webhook_id in ((other, webhook["id"]), (auth, "wh_unknown")):
        response = await service.client.get(f"/v1/webhooks/{webhook_id}/headers", headers=headers)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["type"] == "not_found"
