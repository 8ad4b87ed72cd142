"""Operations endpoints: /healthz, /readyz (database, migrations, dispatcher loop), /metrics in
Prometheus format, and one structured log line per attempt."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from promptha_webhooks.config import LogFormat, Mode, Settings
from promptha_webhooks.logs import JsonFormatter, TextFormatter
from promptha_webhooks.store.database import schema_head

from support import Receiver, Service, ServiceFactory

PAYLOAD = {"executionId": "e1", "fabricId": "f1", "result": {"output": "x"}, "usage": {}}
Labels = tuple[tuple[str, str], ...]


def samples(body: str) -> dict[tuple[str, Labels], float]:
    found: dict[tuple[str, Labels], float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_healthz_and_readyz(service: Service) -> None:
    assert (await service.client.get("/healthz")).json() == {"status": "ok"}
    response = await service.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "dispatcher": "ok"},
    }


async def test_readyz_reports_a_stale_schema(service: Service) -> None:
    database = service.app.state.services.db
    async with database.transaction() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    response = await service.client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    head = schema_head(service.settings.database_url)
    assert head is not None and head != "0002"
    assert body["checks"]["migrations"] == f"schema at 0002, code expects {head}"


async def test_readyz_reports_a_stopped_dispatcher(service: Service) -> None:
    dispatcher = service.app.state.dispatcher
    await dispatcher.stop(grace_s=0)  # the claim loop ends and never runs again
    dispatcher.last_loop_monotonic -= 3600
    response = await service.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["dispatcher"].startswith("claim loop silent for")


async def test_readyz_without_dispatcher(make_service: ServiceFactory) -> None:
    service = await make_service(run_dispatcher=False)
    response = await service.client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["dispatcher"] == "not run by this process"


async def test_metrics_count_every_delivery_of_a_result_batch(
    service: Service, receiver: Receiver
) -> None:
    # Results ending together are written (and counted) as one batch.
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/ok"))
    for _ in range(5):
        await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, webhook["id"], status="delivered", count=5)
    found = samples((await service.client.get("/metrics")).text)
    delivered = (("event_type", "fabric.completed"), ("outcome", "delivered"))
    assert found[("promptha_deliveries_total", delivered)] == 5


async def test_metrics(make_service: ServiceFactory, receiver: Receiver) -> None:
    service = await make_service(retry_schedule_s=(0.0,))
    account_id, auth = await service.create_account()
    receiver.script("/ok", [200])
    receiver.script("/gone", [410])
    ok = await service.create_webhook(auth, url=receiver.url("/ok"))
    gone = await service.create_webhook(auth, url=receiver.url("/gone"))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, ok["id"], status="delivered")
    await service.wait_delivery(auth, gone["id"], status="failed")

    response = await service.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    delivered = (("event_type", "fabric.completed"), ("outcome", "delivered"))
    failed = (("event_type", "fabric.completed"), ("outcome", "failed"))
    assert found[("promptha_deliveries_total", delivered)] == 1
    assert found[("promptha_deliveries_total", failed)] == 1
    assert found[("promptha_attempt_duration_seconds_count", (("outcome", "delivered"),))] == 1
    assert found[("promptha_attempt_duration_seconds_count", (("outcome", "failed"),))] == 1
    assert found[("promptha_webhooks_disabled", (("reason", "gone"),))] == 1
    assert found[("promptha_alerts_total", (("event", "webhook.disabled"),))] == 1
    assert found[("promptha_queue_depth", ())] == 0
    assert found[("promptha_oldest_due_age_seconds", ())] == 0
    assert found[("promptha_claim_duration_seconds_count", ())] >= 1  # the claim loop polls
    # `serve` hands a publish's deliveries to its own dispatcher: nothing left to claim
    assert found[("promptha_handed_off_deliveries_total", ())] == 2
    assert found[("promptha_claimed_deliveries_total", ())] == 0
    route = (
        ("method", "GET"),
        ("route", "/v1/webhooks/{webhook_id}/deliveries"),
        ("status", "200"),
    )
    assert found[("promptha_http_request_duration_seconds_count", route)] >= 2
    assert not any("wh_" in dict(labels).get("route", "") for _, labels in found)


async def test_queue_gauges_count_due_deliveries(make_service: ServiceFactory) -> None:
    service = await make_service(run_dispatcher=False)  # nothing takes them
    account_id, auth = await service.create_account()
    await service.create_webhook(auth, url="http://127.0.0.1:9/nobody")
    for _ in range(3):
        await service.publish(account_id, "fabric.completed", PAYLOAD)
    found = samples((await service.client.get("/metrics")).text)
    assert found[("promptha_queue_depth", ())] == 3
    assert found[("promptha_oldest_due_age_seconds", ())] >= 0


async def test_one_log_line_per_attempt(
    service: Service, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="promptha_webhooks.attempts")
    account_id, auth = await service.create_account()
    receiver.script("/h", [503, 200])
    webhook = await service.create_webhook(auth, url=receiver.url("/h"))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    [delivery] = await service.wait_delivery(auth, webhook["id"], status="delivered")
    records = [r for r in caplog.records if r.name == "promptha_webhooks.attempts"]
    assert len(records) == 2
    lines: list[dict[str, Any]] = [json.loads(JsonFormatter().format(r)) for r in records]
    assert [line["status"] for line in lines] == [503, 200]
    assert [line["outcome"] for line in lines] == ["retry", "delivered"]
    assert [line["attempt"] for line in lines] == [1, 2]
    for line in lines:
        assert line["delivery_id"] == delivery["id"]
        assert line["webhook_id"] == webhook["id"]
        assert line["event_type"] == "fabric.completed"
        assert line["ms"] >= 0 and line["level"] == "info"
        assert line["logger"] == "promptha_webhooks.attempts"
    readable = TextFormatter().format(records[1])
    assert f"delivery_id={delivery['id']}" in readable and "status=200" in readable


def test_log_format_follows_mode() -> None:
    assert Settings(mode=Mode.PRODUCTION).effective_log_format is LogFormat.JSON
    assert Settings(mode=Mode.DEVELOPMENT).effective_log_format is LogFormat.TEXT
    forced = Settings(mode=Mode.DEVELOPMENT, log_format=LogFormat.JSON)
    assert forced.effective_log_format is LogFormat.JSON
