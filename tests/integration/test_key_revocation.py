"""A revoked API key stops working on every API process within 1 s (PostgreSQL).

Each API process caches the keys it has looked up (services/accounts.py, KEY_CACHE_TTL_S).
Revoking a key, or deleting its account, sends a NOTIFY in the same transaction; every process
LISTENs and drops the keys from its cache. Two independently created apps (each its own
connections, its own cache) on one database: revoke through one, the other refuses the key
within 1 s.
SQLite is one process: its revocations drop the key from its own cache (checked on both).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from promptha_webhooks.store.database import migrate

from support import ManualClock, Service, ServiceFactory

# The bound the issue states; polled, never slept through.
REVOCATION_BOUND_S = 1.0
POLL_INTERVAL_S = 0.02
RECONNECT_WAIT_S = 10.0  # the listener reconnects after 1 s (store/notify.py)
COMPLETED = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}


@pytest.fixture
async def two_processes(fresh_postgres_url: str) -> AsyncIterator[tuple[Service, Service]]:
    """Two API processes on one database. Their clocks stand still, so a cached key never
    expires by itself: only a revocation notice can drop it."""
    await migrate(fresh_postgres_url)
    factory = ServiceFactory(fresh_postgres_url)
    try:
        yield await factory(clock=ManualClock()), await factory(clock=ManualClock())
    finally:
        await factory.close()


async def accepted(service: Service, auth: dict[str, str]) -> bool:
    """Whether the key is accepted, on the route and on the publish fast path."""
    listed = await service.client.get("/v1/webhooks", headers=auth)
    published = await service.client.post(
        "/v1/events", json={"event": "fabric.completed", "data": COMPLETED}, headers=auth
    )
    assert listed.status_code in (200, 401) and published.status_code in (201, 401)
    return listed.status_code == 200 or published.status_code == 201


async def refused_within_bound(service: Service, auth: dict[str, str]) -> bool:
    deadline = time.monotonic() + REVOCATION_BOUND_S
    while time.monotonic() < deadline:
        if not await accepted(service, auth):
            return True
        await asyncio.sleep(POLL_INTERVAL_S)
    return not await accepted(service, auth)


async def new_key(service: Service, account_id: str) -> tuple[str, dict[str, str]]:
    minted = await service.client.post(f"/v1/accounts/{account_id}/keys", headers=service.admin())
    assert minted.status_code == 201, minted.text
    return minted.json()["id"], {"Authorization": f"Bearer {minted.json()['key']}"}


async def test_a_key_revoked_through_one_process_is_refused_by_the_other_within_1_s(
    two_processes: tuple[Service, Service],
) -> None:
    revoking, other = two_processes
    account_id, _auth = await revoking.create_account()
    key_id, auth = await new_key(revoking, account_id)
    _kept_id, kept = await new_key(revoking, account_id)
    for service in (revoking, other):  # both have looked the keys up: both cache them
        assert await accepted(service, auth) and await accepted(service, kept)
    revoked = await revoking.client.delete(
        f"/v1/accounts/{account_id}/keys/{key_id}", headers=revoking.admin()
    )
    assert revoked.status_code == 204
    assert not await accepted(revoking, auth)
    assert await refused_within_bound(other, auth)
    assert await accepted(other, kept)  # only the revoked key is dropped


async def test_deleting_an_account_stops_its_keys_on_the_other_process_within_1_s(
    two_processes: tuple[Service, Service],
) -> None:
    deleting, other = two_processes
    account_id, auth = await deleting.create_account("Leaving")
    _staying_id, staying = await deleting.create_account("Staying")
    for service in (deleting, other):
        assert await accepted(service, auth) and await accepted(service, staying)
    deleted = await deleting.client.delete(f"/v1/accounts/{account_id}", headers=deleting.admin())
    assert deleted.status_code == 204
    assert await refused_within_bound(other, auth)
    assert await accepted(other, staying)


async def test_a_revoked_key_is_refused_at_once_by_the_process_that_revoked_it(
    service: Service,
) -> None:
    account_id, _auth = await service.create_account()
    key_id, auth = await new_key(service, account_id)
    assert await accepted(service, auth)
    revoked = await service.client.delete(
        f"/v1/accounts/{account_id}/keys/{key_id}", headers=service.admin()
    )
    assert revoked.status_code == 204
    assert not await accepted(service, auth)


async def test_a_process_whose_listener_reconnects_forgets_every_cached_key(
    two_processes: tuple[Service, Service],
) -> None:
    """Notices sent while a process was not listening are lost: reconnecting drops the cache,
    so the fallback bound (KEY_CACHE_TTL_S) only covers the time the connection is down."""
    _revoking, other = two_processes
    _account_id, auth = await other.create_account()
    assert await accepted(other, auth)
    services = other.app.state.services
    key = auth["Authorization"].removeprefix("Bearer ")
    assert services.known_principal(key) is not None
    # End the listeners' connections from the server side, as a PostgreSQL restart would.
    async with services.db.transaction() as conn:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN %promptha_webhooks_keys%' AND pid <> pg_backend_pid()"
            )
        )
    deadline = time.monotonic() + RECONNECT_WAIT_S
    while services.known_principal(key) is not None and time.monotonic() < deadline:
        await asyncio.sleep(POLL_INTERVAL_S)
    assert services.known_principal(key) is None
