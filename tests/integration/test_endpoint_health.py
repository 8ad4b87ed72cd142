"""Endpoint health against real receivers that fail on purpose, with a clock the test moves:
warnings at 50/75/90 % of the auto-disable budget, auto-disable, 410 Gone, the receiver's
x-promptha-delivery header, skipped deliveries, "recovered", alert routing, e-mail alerts and
the feedback-loop guard."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web

from conftest import MailSink
from support import ManualClock, ReceivedRequest, Receiver, Service, ServiceFactory

PAYLOAD = {"executionId": "e1", "fabricId": "f1", "result": {"output": "x"}, "usage": {}}
ALERTS = ["webhook.failing", "webhook.disabled", "webhook.recovered", "delivery.failed"]
BUDGET_S = 1000.0


async def monitored(
    make_service: ServiceFactory, clock: ManualClock, **overrides: Any
) -> tuple[Service, str, dict[str, str]]:
    settings: dict[str, Any] = {
        "retry_schedule_s": (0.0,),  # one attempt per delivery: each failure is final
        "auto_disable_after_s": BUDGET_S,
        "auto_disable_min_failed_deliveries": 3,
    }
    settings.update(overrides)
    service = await make_service(clock=clock, **settings)
    account_id, auth = await service.create_account()
    return service, account_id, auth


def alerts_of(receiver: Receiver, path: str = "/alerts") -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.on(path)]


async def fail_once(
    service: Service, account_id: str, auth: dict[str, str], webhook_id: str, count: int
) -> None:
    """Publish one event and wait until the webhook has `count` failed deliveries."""
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, webhook_id, status="failed", count=count)


async def test_warnings_then_auto_disable_then_skipped(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    clock = ManualClock()
    service, account_id, auth = await monitored(make_service, clock)
    alerts = await service.create_webhook(auth, url=receiver.url("/alerts"), events=ALERTS)
    receiver.script("/down", [500])
    down = await service.create_webhook(auth, url=receiver.url("/down"))

    await fail_once(service, account_id, auth, down["id"], 1)  # the streak starts
    # Settle the alert deliveries before each clock jump (a jump past a lease re-claims).
    await service.wait_delivery(auth, alerts["id"], status="delivered", count=1)
    for step, failures in ((500, 2), (250, 3), (150, 4)):  # 50 %, 75 %, 90 % of the budget
        clock.advance(step)
        await fail_once(service, account_id, auth, down["id"], failures)
        # each step: one delivery.failed and one webhook.failing
        await service.wait_delivery(auth, alerts["id"], status="delivered", count=failures * 2 - 1)
    webhook = (await service.client.get(f"/v1/webhooks/{down['id']}", headers=auth)).json()
    assert webhook["enabled"] is True
    assert webhook["health"]["consecutiveFailures"] == 4
    assert webhook["health"]["failedDeliveries"] == 4
    assert webhook["health"]["lastFailureReason"] == "HTTP 500"

    clock.advance(100)  # budget spent, with 5 failed deliveries ≥ 3
    await fail_once(service, account_id, auth, down["id"], 5)
    webhook = (await service.client.get(f"/v1/webhooks/{down['id']}", headers=auth)).json()
    assert webhook["enabled"] is False
    assert webhook["disabledReason"] == "auto_disabled"
    assert webhook["health"]["disabledAt"] is not None

    # 5 delivery.failed + 3 warnings + 1 disabled, each delivered to the alert endpoint
    await receiver.wait_for(9, path="/alerts")
    received = alerts_of(receiver)
    failing = [a["data"] for a in received if a["event"] == "webhook.failing"]
    assert [a["percent"] for a in failing] == [50, 75, 90]
    assert all(a["webhookId"] == down["id"] for a in failing)
    [disabled] = [a["data"] for a in received if a["event"] == "webhook.disabled"]
    assert disabled["reason"] == "auto_disabled" and disabled["consecutiveFailures"] == 5
    failed = [a["data"] for a in received if a["event"] == "delivery.failed"]
    assert len(failed) == 5 and {f["failedEvent"] for f in failed} == {"fabric.completed"}
    assert all(f["lastResponseStatus"] == 500 for f in failed)
    # alerts are signed deliveries like any other
    assert all(r.headers["x-promptha-event"] in ALERTS for r in receiver.on("/alerts"))

    # Events for a disabled webhook are kept as skipped (recoverable), not sent.
    before = len(receiver.on("/down"))
    event = await service.publish(account_id, "fabric.completed", PAYLOAD)
    assert event["deliveryCount"] == 1
    [skipped] = await service.wait_delivery(auth, down["id"], status="skipped")
    assert skipped["eventId"] == event["id"]
    assert len(receiver.on("/down")) == before
    assert alerts["id"] != down["id"]


async def test_budget_needs_enough_failed_deliveries(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    clock = ManualClock()
    service, account_id, auth = await monitored(
        make_service, clock, auto_disable_min_failed_deliveries=10
    )
    receiver.script("/down", [503])
    down = await service.create_webhook(auth, url=receiver.url("/down"))
    await fail_once(service, account_id, auth, down["id"], 1)
    clock.advance(BUDGET_S * 5)
    await fail_once(service, account_id, auth, down["id"], 2)
    webhook = (await service.client.get(f"/v1/webhooks/{down['id']}", headers=auth)).json()
    assert webhook["enabled"] is True  # long enough, but only 2 of 10 failed deliveries
    assert webhook["health"]["failedDeliveries"] == 2


async def test_410_gone_disables_at_once(make_service: ServiceFactory, receiver: Receiver) -> None:
    clock = ManualClock()
    service, account_id, auth = await monitored(make_service, clock)
    alerts = await service.create_webhook(auth, url=receiver.url("/alerts"), events=ALERTS)
    receiver.script("/gone", [410])
    gone = await service.create_webhook(auth, url=receiver.url("/gone"))
    await fail_once(service, account_id, auth, gone["id"], 1)
    webhook = (await service.client.get(f"/v1/webhooks/{gone['id']}", headers=auth)).json()
    assert webhook["enabled"] is False and webhook["disabledReason"] == "gone"
    await receiver.wait_for(2, path="/alerts")
    assert sorted(a["event"] for a in alerts_of(receiver)) == [
        "delivery.failed",
        "webhook.disabled",
    ]
    assert alerts["enabled"] is True


async def test_receiver_abort_stops_retries(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    service = await make_service()  # the fast six-attempt schedule
    account_id, auth = await service.create_account()

    async def abort(_request: ReceivedRequest) -> web.Response:
        return web.Response(status=503, headers={"x-promptha-delivery": "abort"})

    receiver.responders["/abort"] = abort
    webhook = await service.create_webhook(auth, url=receiver.url("/abort"))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    [delivery] = await service.wait_delivery(auth, webhook["id"], status="failed")
    detail = (await service.client.get(f"/v1/deliveries/{delivery['id']}", headers=auth)).json()
    assert len(detail["attempts"]) == 1  # 503 is retryable: only the header stopped it
    assert "x-promptha-delivery: abort" in detail["attempts"][0]["error"]
    assert "x-promptha-delivery: abort" in detail["lastError"]
    assert len(receiver.on("/abort")) == 1
    after = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
    assert after["enabled"] is True


async def test_receiver_disable_disables_webhook(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    service = await make_service()
    account_id, auth = await service.create_account()

    async def disable(_request: ReceivedRequest) -> web.Response:
        return web.Response(status=200, headers={"X-Promptha-Delivery": "disable"})

    receiver.responders["/off"] = disable
    webhook = await service.create_webhook(auth, url=receiver.url("/off"))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    [delivery] = await service.wait_delivery(auth, webhook["id"], status="delivered")
    after = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
    assert after["enabled"] is False and after["disabledReason"] == "receiver_disabled"
    detail = (await service.client.get(f"/v1/deliveries/{delivery['id']}", headers=auth)).json()
    assert "x-promptha-delivery: disable" in detail["attempts"][0]["error"]


async def test_successes_on_a_healthy_webhook_move_only_its_last_success(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    # On PostgreSQL a batch of successes on healthy webhooks is written by one statement,
    # health included; a batch with a webhook whose failure is counted goes through the
    # health recorder.
    clock = ManualClock()
    service, account_id, auth = await monitored(make_service, clock)

    async def health(webhook_id: str) -> dict[str, Any]:
        response = await service.client.get(f"/v1/webhooks/{webhook_id}", headers=auth)
        body: dict[str, Any] = response.json()["health"]
        return body

    def seconds(value: str) -> float:
        return datetime.fromisoformat(value).timestamp()

    healthy = await service.create_webhook(auth, url=receiver.url("/ok"))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, healthy["id"], status="delivered")
    ok = await health(healthy["id"])
    assert abs(seconds(ok["lastSuccessAt"]) - clock.now()) < 1
    assert ok["consecutiveFailures"] == 0 and ok["lastFailureAt"] is None

    receiver.script("/flaky", [500, 200])
    flaky = await service.create_webhook(auth, url=receiver.url("/flaky"))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, flaky["id"], status="failed")
    clock.advance(60)
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, healthy["id"], status="delivered", count=3)
    await service.wait_delivery(auth, flaky["id"], status="delivered")
    ok = await health(healthy["id"])
    assert abs(seconds(ok["lastSuccessAt"]) - clock.now()) < 1
    assert ok["consecutiveFailures"] == 0 and ok["failingSince"] is None
    recovered = await health(flaky["id"])  # its failure streak ended with the success
    assert recovered["consecutiveFailures"] == 0 and recovered["failingSince"] is None
    assert recovered["lastFailureAt"] is not None
    assert recovered["lastSuccessAt"] == ok["lastSuccessAt"]


async def test_recovered_notice_after_warning(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    clock = ManualClock()
    service, account_id, auth = await monitored(make_service, clock)
    await service.create_webhook(auth, url=receiver.url("/alerts"), events=["webhook.recovered"])
    receiver.script("/flaky", [500])
    flaky = await service.create_webhook(auth, url=receiver.url("/flaky"))
    await fail_once(service, account_id, auth, flaky["id"], 1)
    clock.advance(BUDGET_S * 0.6)  # no alert delivery in flight: only recovered is routed
    await fail_once(service, account_id, auth, flaky["id"], 2)  # 50 % warning sent
    receiver.script("/flaky", [200])
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, flaky["id"], status="delivered")
    [request] = await receiver.wait_for(1, path="/alerts")
    body = json.loads(request.body)
    assert body["event"] == "webhook.recovered"
    assert body["data"]["webhookId"] == flaky["id"]
    webhook = (await service.client.get(f"/v1/webhooks/{flaky['id']}", headers=auth)).json()
    assert webhook["health"]["consecutiveFailures"] == 0
    assert webhook["health"]["lastSuccessAt"] is not None
    assert webhook["health"]["failingSince"] is None
    # a second success sends nothing more
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, flaky["id"], status="delivered", count=2)
    events = await service.client.get(
        "/v1/events", params={"since": int(clock.now()) - 3600, "limit": 100}, headers=auth
    )
    types = [e["event"] for e in events.json()["data"]]
    assert types.count("webhook.recovered") == 1


async def test_alerts_never_feed_a_failing_alert_endpoint(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    clock = ManualClock()
    service, account_id, auth = await monitored(make_service, clock)
    receiver.script("/alerts", [500])  # the alert endpoint itself is down
    alerts = await service.create_webhook(auth, url=receiver.url("/alerts"), events=ALERTS)
    receiver.script("/down", [500])
    # subscribed to its own alerts too: an alert about a webhook never goes to it
    down = await service.create_webhook(
        auth, url=receiver.url("/down"), events=["fabric.completed", *ALERTS]
    )
    await fail_once(service, account_id, auth, down["id"], 1)
    # the delivery.failed alert reaches the alert endpoint, fails, and that failure is final
    [alert_delivery] = await service.wait_delivery(auth, alerts["id"], status="failed")
    assert alert_delivery["event"] == "delivery.failed"
    events = await service.client.get(
        "/v1/events", params={"since": int(clock.now()) - 60, "limit": 100}, headers=auth
    )
    types = sorted(e["event"] for e in events.json()["data"])
    assert types == ["delivery.failed", "fabric.completed"]  # no alert about the alert
    assert len(receiver.on("/alerts")) == 1
    assert [r.headers["x-promptha-event"] for r in receiver.on("/down")] == ["fabric.completed"]
    health = (await service.client.get(f"/v1/webhooks/{alerts['id']}", headers=auth)).json()
    assert health["health"]["consecutiveFailures"] == 1  # still counted for its own health


async def test_alerts_are_emailed(
    make_service: ServiceFactory, receiver: Receiver, smtp_server: MailSink
) -> None:
    clock = ManualClock()
    service, account_id, auth = await monitored(
        make_service,
        clock,
        alert_email_to=("ops@example.com",),
        alert_email_from="webhooks@example.com",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
    )
    receiver.script("/gone", [410])
    gone = await service.create_webhook(auth, url=receiver.url("/gone"))
    await fail_once(service, account_id, auth, gone["id"], 1)
    await service.app.state.services.observer.sink.drain()
    [message] = smtp_server.messages
    assert message["To"] == "ops@example.com"
    assert message["From"] == "webhooks@example.com"
    assert gone["id"] in message["Subject"]
    text = message.get_payload()
    assert isinstance(text, str)
    assert "webhook.disabled" in text and "delivery.failed" in text and "reason: gone" in text


async def test_reenabling_starts_a_fresh_streak(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    clock = ManualClock()
    service, account_id, auth = await monitored(make_service, clock)
    receiver.script("/gone", [410])
    gone = await service.create_webhook(auth, url=receiver.url("/gone"))
    await fail_once(service, account_id, auth, gone["id"], 1)
    receiver.script("/gone", [500])
    patched = await service.client.patch(
        f"/v1/webhooks/{gone['id']}", json={"enabled": True}, headers=auth
    )
    assert patched.status_code == 200
    assert patched.json()["disabledReason"] is None
    assert patched.json()["health"]["consecutiveFailures"] == 0
    clock.advance(BUDGET_S * 2)
    await fail_once(service, account_id, auth, gone["id"], 2)
    webhook = (await service.client.get(f"/v1/webhooks/{gone['id']}", headers=auth)).json()
    assert webhook["enabled"] is True  # the old streak does not count
