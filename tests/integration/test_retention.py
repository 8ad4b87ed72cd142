"""Retention: old events, their deliveries and attempts are purged in batches; recent ones and
events with a pending delivery stay; on PostgreSQL a large purge runs while deliveries go on."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from promptha_webhooks.config import Settings
from promptha_webhooks.retention import RetentionJob
from promptha_webhooks.store import create_database
from promptha_webhooks.store.database import migrate

from support import ADMIN_KEY, TEST_KEY_RING, ManualClock, Receiver, ServiceFactory

PAYLOAD = {"executionId": "e1", "fabricId": "f1", "result": {"output": "x"}, "usage": {}}
DAY_S = 24 * 3600


async def test_purges_old_events_with_their_deliveries(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    clock = ManualClock()
    service = await make_service(
        clock=clock, retry_schedule_s=(0.0, 40 * DAY_S), retention_batch_size=2
    )
    account_id, auth = await service.create_account()
    receiver.script("/ok", [200])
    receiver.script("/down", [500])
    ok = await service.create_webhook(auth, url=receiver.url("/ok"))
    old = [await service.publish(account_id, "fabric.completed", PAYLOAD) for _ in range(5)]
    delivered = await service.wait_delivery(auth, ok["id"], status="delivered", count=5)
    down = await service.create_webhook(auth, url=receiver.url("/down"))
    waiting = await service.publish(account_id, "fabric.completed", PAYLOAD)
    await receiver.wait_for(1, path="/down")  # its retry is due in 40 days: stays pending
    clock.advance(31 * DAY_S)
    recent = await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, ok["id"], status="delivered", count=7)

    job: RetentionJob = service.app.state.retention
    batches_before = job.batches
    assert await job.run_once() == 5
    assert job.batches - batches_before == 3  # 2 + 2 + 1: a short batch ends the run
    for event in old:
        response = await service.client.get(f"/v1/events/{event['id']}", headers=auth)
        assert response.status_code == 404
    for delivery in delivered:
        response = await service.client.get(f"/v1/deliveries/{delivery['id']}", headers=auth)
        assert response.status_code == 404
    for event in (waiting, recent):
        response = await service.client.get(f"/v1/events/{event['id']}", headers=auth)
        assert response.status_code == 200
    pending = await service.client.get(
        f"/v1/webhooks/{down['id']}/deliveries", params={"status": "pending"}, headers=auth
    )
    assert waiting["id"] in {d["eventId"] for d in pending.json()["data"]}
    assert await job.run_once() == 0


async def test_retention_zero_keeps_everything(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    clock = ManualClock()
    service = await make_service(clock=clock, retention_s=0)
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/ok"))
    event = await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, webhook["id"], status="delivered")
    clock.advance(365 * DAY_S)
    assert service.app.state.retention is not None
    assert await service.app.state.retention.run_once() == 0
    assert (await service.client.get(f"/v1/events/{event['id']}", headers=auth)).status_code == 200


OLD_EVENTS = 100_000


@pytest.mark.postgres
async def test_large_purge_on_postgres_while_delivering(
    fresh_postgres_url: str, receiver: Receiver
) -> None:
    await migrate(fresh_postgres_url)
    now_s = ManualClock().now()
    old_ms = int((now_s - 40 * DAY_S) * 1000)
    conn = await asyncpg.connect(fresh_postgres_url)
    try:
        await conn.execute("INSERT INTO accounts VALUES ('acct_old', 'Old', $1)", old_ms)
        await conn.execute(
            "INSERT INTO webhooks (id, account_id, url, kind, events, secret, description,"
            " enabled, created_at, updated_at) VALUES ('wh_old', 'acct_old',"
            " 'http://127.0.0.1:9/old', 'http', '[\"fabric.completed\"]', 'whsec_oldoldoldold',"
            " '', true, $1, $1)",
            old_ms,
        )
        await conn.execute(
            "INSERT INTO events SELECT 'evt_old_' || i, 'acct_old', 'fabric.completed',"
            " '{}', false, $1::bigint + i FROM generate_series(1, $2) AS i",
            old_ms,
            OLD_EVENTS,
        )
        await conn.execute(
            "INSERT INTO deliveries (id, event_id, webhook_id, account_id, event_type, status,"
            " attempt_count, is_test, created_at, updated_at) SELECT 'dlv_old_' || i,"
            " 'evt_old_' || i, 'wh_old', 'acct_old', 'fabric.completed', 'delivered', 1, false,"
            " $1::bigint + i, $1::bigint + i FROM generate_series(1, $2) AS i",
            old_ms,
            OLD_EVENTS,
        )
        await conn.execute(
            "INSERT INTO attempts (id, delivery_id, webhook_id, number, trigger, url,"
            " request_headers, response_status, duration_ms, outcome, started_at, finished_at)"
            " SELECT 'att_old_' || i, 'dlv_old_' || i, 'wh_old', 1, 'scheduled',"
            " 'http://127.0.0.1:9/old', '{}', 200, 12.5, 'delivered',"
            " $1::bigint + i, $1::bigint + i"
            " FROM generate_series(1, $2) AS i",
            old_ms,
            OLD_EVENTS,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()

    factory = ServiceFactory(fresh_postgres_url)
    try:
        # The service's own retention loop is off (interval far away); the test runs one.
        service = await factory(retention_s=0)
        account_id, auth = await service.create_account()
        webhook = await service.create_webhook(auth, url=receiver.url("/live"))
        settings = Settings(
            database_url=fresh_postgres_url, admin_key=ADMIN_KEY, retention_batch_size=5000
        )
        database = create_database(fresh_postgres_url, TEST_KEY_RING)
        job = RetentionJob(settings, database)
        try:

            async def deliver_meanwhile() -> None:
                for _ in range(20):
                    await service.publish(account_id, "fabric.completed", PAYLOAD)
                await service.wait_delivery(
                    auth, webhook["id"], status="delivered", count=20, timeout=60
                )

            purged, _ = await asyncio.gather(job.run_once(), deliver_meanwhile())
        finally:
            await database.dispose()
        assert purged == OLD_EVENTS
        assert job.batches == OLD_EVENTS // 5000 + 1
        conn = await asyncpg.connect(fresh_postgres_url)
        try:
            counts = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM deliveries) AS d,"
                " (SELECT count(*) FROM attempts) AS a,"
                " (SELECT count(*) FROM attempts WHERE webhook_id = 'wh_old') AS old"
            )
        finally:
            await conn.close()
        assert counts is not None
        assert (counts["e"], counts["d"], counts["a"], counts["old"]) == (20, 20, 20, 0)
    finally:
        await factory.close()


async def test_stop_waits_for_the_running_batch_not_for_the_next_run(database_url: str) -> None:
    # Cancelled mid-batch, the job would leave its driver's work running behind it (on SQLite
    # an aiosqlite connect that calls back into a closed event loop); idle, it stops at once
    # rather than at the end of its hour-long interval.
    settings = Settings(database_url=database_url, retention_interval_s=3600.0)
    database = create_database(database_url, TEST_KEY_RING)
    job = RetentionJob(settings, database)
    try:
        job.start()  # runs at once
        for _ in range(500):
            if job.batches:
                break
            await asyncio.sleep(0.01)
        assert job.batches == 1
        await asyncio.wait_for(job.stop(), 30)
        assert job.batches == 1
        job.start()
        await asyncio.wait_for(job.stop(), 30)  # stopped while its first batch may be running
        assert job.batches in (1, 2)
    finally:
        await database.dispose()
