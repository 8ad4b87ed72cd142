"""API nodes and workers in separate apps on one PostgreSQL database: a publish on one wakes
the other's dispatcher through LISTEN/NOTIFY, long before its next poll."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from promptha_webhooks.store.database import migrate

from support import Receiver, ServiceFactory


@pytest.fixture
async def pg_factory(fresh_postgres_url: str) -> AsyncIterator[ServiceFactory]:
    await migrate(fresh_postgres_url)
    factory = ServiceFactory(fresh_postgres_url)
    try:
        yield factory
    finally:
        await factory.close()


async def test_publish_on_api_node_wakes_separate_worker(
    pg_factory: ServiceFactory, receiver: Receiver
) -> None:
    api = await pg_factory(run_dispatcher=False)
    await pg_factory(run_dispatcher=True, poll_interval_s=30.0)  # the worker: polls rarely
    account_id, auth = await api.create_account()
    webhook = await api.create_webhook(auth, url=receiver.url("/wake"), events=["credits.low"])
    await asyncio.sleep(1.0)  # the worker is idle, its LISTEN connection established
    started = time.monotonic()
    await api.publish(account_id, "credits.low", {"remaining": 1, "threshold": 2, "userId": "u"})
    await receiver.wait_for(1, path="/wake", timeout=10)
    assert time.monotonic() - started < 5  # a poll would take 30 s
    await api.wait_delivery(auth, webhook["id"], status="delivered")


async def test_api_node_alone_does_not_send(pg_factory: ServiceFactory, receiver: Receiver) -> None:
    api = await pg_factory(run_dispatcher=False)
    account_id, auth = await api.create_account()
    webhook = await api.create_webhook(auth, url=receiver.url("/none"), events=["credits.low"])
    await api.publish(account_id, "credits.low", {"remaining": 1, "threshold": 2, "userId": "u"})
    [pending] = await api.wait_delivery(auth, webhook["id"], status="pending")
    assert pending["attemptCount"] == 0
    assert receiver.requests == []
    await pg_factory(run_dispatcher=True)  # a worker joins: the backlog drains
    await receiver.wait_for(1, path="/none")
