"""Deleting a webhook or an account leaves none of its deliveries or attempts behind, and touches
nobody else's, on both backends. Attempts have no foreign key to their delivery (migration
0006): these deletions remove them explicitly."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from promptha_webhooks.store import dispatch_statements

from support import Receiver, Service, attempt_row, delivered_update

PAYLOAD = {"executionId": "e1", "fabricId": "f1", "result": {"output": "x"}, "usage": {}}


async def _rows_of(service: Service, webhook_id: str) -> dict[str, int]:
    row = await service.sql_row(
        "SELECT (SELECT count(*) FROM deliveries WHERE webhook_id = :w) AS deliveries,"
        " (SELECT count(*) FROM attempts WHERE webhook_id = :w) AS attempts",
        w=webhook_id,
    )
    orphans = await service.orphan_attempts()
    return {"deliveries": row.deliveries, "attempts": row.attempts, "orphans": orphans}


async def _delivered_twice(
    service: Service, receiver: Receiver, path: str
) -> tuple[str, dict[str, str], dict[str, Any], dict[str, Any]]:
    """An account (id, auth headers) with webhooks on `path`/a and `path`/b, each delivered 2
    events."""
    account_id, auth = await service.create_account()
    first = await service.create_webhook(auth, url=receiver.url(f"{path}/a"))
    second = await service.create_webhook(auth, url=receiver.url(f"{path}/b"))
    for _ in range(2):
        await service.publish(account_id, "fabric.completed", PAYLOAD)
    for webhook in (first, second):
        await service.wait_delivery(auth, webhook["id"], status="delivered", count=2)
    return account_id, auth, first, second


async def test_deleting_a_webhook_deletes_its_deliveries_and_attempts_only(
    service: Service, receiver: Receiver
) -> None:
    _account_id, auth, first, second = await _delivered_twice(service, receiver, "/one")
    for webhook in (first, second):
        assert await _rows_of(service, webhook["id"]) == {
            "deliveries": 2,
            "attempts": 2,
            "orphans": 0,
        }
    response = await service.client.delete(f"/v1/webhooks/{first['id']}", headers=auth)
    assert response.status_code == 204, response.text
    assert await _rows_of(service, first["id"]) == {"deliveries": 0, "attempts": 0, "orphans": 0}
    assert await _rows_of(service, second["id"]) == {"deliveries": 2, "attempts": 2, "orphans": 0}


async def test_deleting_an_account_deletes_its_webhooks_attempts_only(
    service: Service, receiver: Receiver
) -> None:
    doomed, _auth, first, second = await _delivered_twice(service, receiver, "/doomed")
    _kept, _kept_auth, kept_first, _ = await _delivered_twice(service, receiver, "/kept")
    response = await service.client.delete(f"/v1/accounts/{doomed}", headers=service.admin())
    assert response.status_code == 204, response.text
    for webhook in (first, second):
        assert await _rows_of(service, webhook["id"]) == {
            "deliveries": 0,
            "attempts": 0,
            "orphans": 0,
        }
    assert await _rows_of(service, kept_first["id"]) == {
        "deliveries": 2,
        "attempts": 2,
        "orphans": 0,
    }
    events = await service.sql_row("SELECT count(*) FROM events WHERE account_id = :a", a=doomed)
    assert events[0] == 0


async def test_a_webhook_deleted_while_an_attempt_is_being_recorded_leaves_no_attempt(
    pg_service: Service, receiver: Receiver
) -> None:
    # PostgreSQL, two transactions at once (SQLite has one writer at a time). The result
    # writer holds the delivery locked until its commit; the delete must wait for it and then
    # delete the attempt it recorded.
    service = pg_service
    account_id, auth, first, _ = await _delivered_twice(service, receiver, "/race")
    [delivery, _] = await service.wait_delivery(auth, first["id"], status="delivered", count=2)
    await service.sql_row(
        "UPDATE deliveries SET status = 'pending', claim_token = 'held' WHERE id = :d RETURNING id",
        d=delivery["id"],
    )
    now = int(time.time() * 1000)
    attempt = attempt_row(delivery["id"], first["id"], first["url"], now=now, number=2)
    update = delivered_update(delivery["id"], "held", now=now, count=2)
    services = service.app.state.services
    recorded, release = asyncio.Event(), asyncio.Event()

    async def write_result() -> None:
        async with services.db.transaction() as conn:
            assert await dispatch_statements.record_results(conn, [attempt], [update])
            recorded.set()
            await release.wait()

    writer = asyncio.create_task(write_result())
    await asyncio.wait_for(recorded.wait(), 10)
    deleting = asyncio.create_task(services.delete_webhook(account_id, first["id"]))
    await asyncio.sleep(0.3)
    assert not deleting.done(), "the delete did not wait for the result being recorded"
    release.set()
    await asyncio.wait_for(asyncio.gather(writer, deleting), 10)
    assert await _rows_of(service, first["id"]) == {"deliveries": 0, "attempts": 0, "orphans": 0}
