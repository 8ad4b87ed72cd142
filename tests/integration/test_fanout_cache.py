"""The fan-out cache: each process keeps an account's compiled route table while the account's
`webhooks_version` is unchanged (both backends; triggers bump it, migrations 0004 and 0015), and
a webhook created, updated, disabled or deleted on another node is seen by the next publish
(two services on one database, real receivers on 127.0.0.1)."""

from __future__ import annotations

import importlib
from typing import Any

import orjson
from sqlalchemy import event, text

from support import Receiver, Service, ServiceFactory

m0015 = importlib.import_module(
    "promptha_webhooks.store.migrations.versions.0015_sqlite_webhooks_version"
)


def completed(fabric: str) -> dict[str, Any]:
    return {"executionId": "e", "fabricId": fabric, "result": {}, "usage": {}}


async def version(service: Service, account_id: str) -> int:
    row = await service.sql_row(
        "SELECT webhooks_version FROM accounts WHERE id = :id", id=account_id
    )
    return int(row[0])


async def execute(service: Service, sql: str, **params: Any) -> None:
    async with service.app.state.services.db.transaction() as conn:
        await conn.execute(text(sql), params)


async def arrived(receiver: Receiver, path: str, event_id: str) -> None:
    """Wait until the event's delivery arrived on the path (one more request there)."""
    await receiver.wait_for(len(receiver.on(path)) + 1, path=path)
    assert event_id in event_ids(receiver, path)


def event_ids(receiver: Receiver, path: str) -> set[str]:
    return {orjson.loads(r.body)["data"]["eventId"] for r in receiver.on(path)}


async def test_changes_on_another_node_are_seen_by_the_next_publish(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    publisher = await make_service()
    editor = await make_service()  # another API node: its own cache, the same database
    account_id, auth = await editor.create_account()
    a = await editor.create_webhook(auth, url=receiver.url("/a"), filters={"fabricId": ["f1"]})

    first = await publisher.publish(account_id, "fabric.completed", completed("f1"))
    assert first["deliveryCount"] == 1
    await arrived(receiver, "/a", first["id"])
    again = await publisher.publish(account_id, "fabric.completed", completed("f1"))
    assert again["deliveryCount"] == 1  # (from the cache)

    # created
    b = await editor.create_webhook(auth, url=receiver.url("/b"), events=["fabric.*"])
    created = await publisher.publish(account_id, "fabric.completed", completed("f1"))
    assert created["deliveryCount"] == 2
    await arrived(receiver, "/a", created["id"])
    await arrived(receiver, "/b", created["id"])

    # updated: filters, then event types
    patched = await editor.client.patch(
        f"/v1/webhooks/{a['id']}", json={"filters": {"fabricId": ["f2"]}}, headers=auth
    )
    assert patched.status_code == 200, patched.text
    refiltered = await publisher.publish(account_id, "fabric.completed", completed("f1"))
    assert refiltered["deliveryCount"] == 1
    await arrived(receiver, "/b", refiltered["id"])
    patched = await editor.client.patch(
        f"/v1/webhooks/{b['id']}", json={"events": ["credits.low"]}, headers=auth
    )
    assert patched.status_code == 200, patched.text
    retyped = await publisher.publish(account_id, "fabric.completed", completed("f2"))
    assert retyped["deliveryCount"] == 1
    await arrived(receiver, "/a", retyped["id"])

    # disabled, then enabled again
    patched = await editor.client.patch(
        f"/v1/webhooks/{a['id']}", json={"enabled": False}, headers=auth
    )
    assert patched.status_code == 200, patched.text
    disabled = await publisher.publish(account_id, "fabric.completed", completed("f2"))
    assert disabled["deliveryCount"] == 0
    patched = await editor.client.patch(
        f"/v1/webhooks/{a['id']}", json={"enabled": True}, headers=auth
    )
    assert patched.status_code == 200, patched.text
    enabled = await publisher.publish(account_id, "fabric.completed", completed("f2"))
    assert enabled["deliveryCount"] == 1
    await arrived(receiver, "/a", enabled["id"])

    # paced from now on (the fan-out stores its deliveries with their publish order)
    patched = await editor.client.patch(
        f"/v1/webhooks/{a['id']}", json={"ordering": "fifo"}, headers=auth
    )
    assert patched.status_code == 200, patched.text
    fifo = await publisher.publish(account_id, "fabric.completed", completed("f2"))
    row = await publisher.sql_row(
        "SELECT pace_order FROM deliveries WHERE event_id = :id", id=fifo["id"]
    )
    assert row[0] is not None
    await arrived(receiver, "/a", fifo["id"])

    # deleted
    deleted = await editor.client.delete(f"/v1/webhooks/{a['id']}", headers=auth)
    assert deleted.status_code == 204, deleted.text
    gone = await publisher.publish(account_id, "fabric.completed", completed("f2"))
    assert gone["deliveryCount"] == 0

    # what arrived at each receiver is exactly what each publish's fan-out said
    assert event_ids(receiver, "/a") == {
        first["id"],
        again["id"],
        created["id"],
        retyped["id"],
        enabled["id"],
        fifo["id"],
    }
    assert event_ids(receiver, "/b") == {created["id"], refiltered["id"]}


async def test_the_version_is_bumped_by_fan_out_changes_only(service: Service) -> None:
    account_id, auth = await service.create_account()
    other_id, other_auth = await service.create_account("Other")
    start = await version(service, account_id)
    hook = await service.create_webhook(auth, url="https://example.com/h")
    assert await version(service, account_id) == start + 1
    other_start = await version(service, other_id)

    # not fan-out columns: url, description, health counters, the rate slot
    await execute(
        service,
        "UPDATE webhooks SET url = 'https://example.com/x', description = 'd', "
        "consecutive_failures = 3, last_failure_at = 1, rate_next_at = 5 WHERE id = :id",
        id=hook["id"],
    )
    assert await version(service, account_id) == start + 1
    # a fan-out column set to the value it has
    await execute(service, "UPDATE webhooks SET enabled = enabled WHERE id = :id", id=hook["id"])
    assert await version(service, account_id) == start + 1

    bumps = [
        "UPDATE webhooks SET enabled = NOT enabled WHERE id = :id",
        "UPDATE webhooks SET disabled_reason = 'failing' WHERE id = :id",
        "UPDATE webhooks SET events = '[\"credits.low\"]' WHERE id = :id",
        'UPDATE webhooks SET filters = \'{"fabricId": ["x"]}\' WHERE id = :id',
        "UPDATE webhooks SET filters = NULL WHERE id = :id",
        "UPDATE webhooks SET kind = 'listen' WHERE id = :id",
        "UPDATE webhooks SET max_concurrency = 2 WHERE id = :id",
        "UPDATE webhooks SET rate_limit = 5 WHERE id = :id",
        "UPDATE webhooks SET ordering = 'fifo' WHERE id = :id",
    ]
    for number, sql in enumerate(bumps, start=2):
        await execute(service, sql, id=hook["id"])
        assert await version(service, account_id) == start + number, sql
    assert await version(service, other_id) == other_start

    # moved to another account: both accounts' fan-out changed
    await execute(
        service, "UPDATE webhooks SET account_id = :to WHERE id = :id", to=other_id, id=hook["id"]
    )
    assert await version(service, account_id) == start + len(bumps) + 2
    assert await version(service, other_id) == other_start + 1
    deleted = await service.client.delete(f"/v1/webhooks/{hook['id']}", headers=other_auth)
    assert deleted.status_code == 204, deleted.text
    assert await version(service, other_id) == other_start + 2


async def test_sqlite_has_the_triggers_at_head(service: Service) -> None:
    if service.settings.database_url.startswith("postgresql"):
        return  # (PostgreSQL's: migrations 0004, 0013; the test above covers both)
    async with service.app.state.services.db.transaction() as conn:
        names = set(
            (
                await conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            ).scalars()
        )
    assert set(m0015.TRIGGERS) <= names


async def test_a_sqlite_publish_with_an_unchanged_version_reads_no_webhooks(
    service: Service, receiver: Receiver
) -> None:
    """SQLite's publish transaction reads the account's version and takes the route table from
    the cache: the webhooks are read again only after a change (on PostgreSQL the publish
    statement does the same, FanoutSnapshot)."""
    if service.settings.database_url.startswith("postgresql"):
        return
    account_id, auth = await service.create_account()
    await service.create_webhook(auth, url=receiver.url("/c"))
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    def fanout_reads() -> int:  # Store.fanout_targets's query (the dispatcher never reads filters)
        return sum("webhooks.filters" in s for s in statements)

    engine = service.app.state.services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await service.publish(account_id, "fabric.completed", completed("f"))  # fills the cache
        statements.clear()
        for _ in range(3):
            cached = await service.publish(account_id, "fabric.completed", completed("f"))
            assert cached["deliveryCount"] == 1
        assert sum("webhooks_version" in s for s in statements) >= 3
        assert fanout_reads() == 0, statements
        await service.create_webhook(auth, url=receiver.url("/d"))
        statements.clear()
        reloaded = await service.publish(account_id, "fabric.completed", completed("f"))
        assert reloaded["deliveryCount"] == 2
        assert fanout_reads() == 1
    finally:
        event.remove(engine, "before_cursor_execute", record)
    await arrived(receiver, "/d", reloaded["id"])
