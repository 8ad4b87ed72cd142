"""Every idempotency store, against the real SQLite, PostgreSQL and Redis: the claim protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from promptha_webhooks.receiver import (
    Claim,
    ClaimState,
    IdempotencyStore,
    StoreUnavailableError,
)
from promptha_webhooks.receiver.idempotency import quote_table_name
from promptha_webhooks.receiver.idempotency.postgres import PostgresIdempotencyStore
from promptha_webhooks.receiver.idempotency.redis import RedisIdempotencyStore
from promptha_webhooks.receiver.idempotency.sqlite import SQLiteIdempotencyStore

StoreFactory = Callable[..., IdempotencyStore]


async def test_first_claim_wins_then_done_is_remembered(store_factory: StoreFactory) -> None:
    store = store_factory()
    claim = await store.claim("evt_1")
    assert claim.state is ClaimState.CLAIMED and claim.token
    assert (await store.claim("evt_1")).state is ClaimState.IN_PROGRESS
    assert await store.complete(claim)
    assert (await store.claim("evt_1")).state is ClaimState.DONE
    assert (await store.claim("evt_2")).state is ClaimState.CLAIMED  # other events unaffected


async def test_release_lets_a_retry_claim_again(store_factory: StoreFactory) -> None:
    store = store_factory()
    claim = await store.claim("evt_1")
    assert await store.release(claim)
    again = await store.claim("evt_1")
    assert again.state is ClaimState.CLAIMED
    assert again.token != claim.token
    assert not await store.release(claim), "a released claim cannot be released twice"


async def test_a_lapsed_claim_is_taken_over_and_the_old_holder_cannot_finish(
    store_factory: StoreFactory,
) -> None:
    store = store_factory(claim_ttl_s=0.3)
    crashed = await store.claim("evt_1")
    await asyncio.sleep(0.45)
    taken = await store.claim("evt_1")
    assert taken.state is ClaimState.CLAIMED
    # The first processor wakes up late: it can neither complete nor release the new claim.
    assert not await store.complete(crashed)
    assert not await store.release(crashed)
    assert (await store.claim("evt_1")).state is ClaimState.IN_PROGRESS
    assert await store.complete(taken)
    assert (await store.claim("evt_1")).state is ClaimState.DONE


async def test_done_is_forgotten_after_its_ttl(store_factory: StoreFactory) -> None:
    store = store_factory(done_ttl_s=0.3)
    assert await store.complete(await store.claim("evt_1"))
    assert (await store.claim("evt_1")).state is ClaimState.DONE
    await asyncio.sleep(0.45)
    assert (await store.claim("evt_1")).state is ClaimState.CLAIMED


async def test_concurrent_claims_from_separate_connections_have_one_winner(
    store_factory: StoreFactory,
) -> None:
    stores = [store_factory() for _ in range(4)]
    for round_ in range(5):
        event_id = f"evt_race_{round_}"
        claims = await asyncio.gather(*(s.claim(event_id) for s in stores for _ in range(3)))
        states = [c.state for c in claims]
        assert states.count(ClaimState.CLAIMED) == 1, states
        assert set(states) == {ClaimState.CLAIMED, ClaimState.IN_PROGRESS}


async def test_a_store_reconnects_after_aclose(store_factory: StoreFactory) -> None:
    store = store_factory()
    claim = await store.claim("evt_1")
    await store.aclose()
    assert await store.complete(claim)
    assert (await store.claim("evt_1")).state is ClaimState.DONE


async def test_unreachable_stores_raise_store_unavailable(tmp_path: Path) -> None:
    stores: list[IdempotencyStore] = [
        SQLiteIdempotencyStore(tmp_path / "missing-dir" / "events.db"),
        PostgresIdempotencyStore(DEAD_POSTGRES_DSN),
        RedisIdempotencyStore(DEAD_REDIS_URL),
    ]
    for store in stores:
        with pytest.raises(StoreUnavailableError) as caught:
            await store.claim("evt_1")
        assert caught.value.status_code == 503
        with pytest.raises(StoreUnavailableError):
            await store.complete(Claim("evt_1", ClaimState.CLAIMED, "t"))
        await store.aclose()


DEAD_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:1/test"  # nothing listens on port 1
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


async def test_sqlite_stores_share_a_file(tmp_path: Path) -> None:
    a = SQLiteIdempotencyStore(tmp_path / "shared.db", table="hooks")
    b = SQLiteIdempotencyStore(tmp_path / "shared.db", table="hooks")
    try:
        claim = await a.claim("evt_1")
        assert (await b.claim("evt_1")).state is ClaimState.IN_PROGRESS
        assert await a.complete(claim)
        assert (await b.claim("evt_1")).state is ClaimState.DONE
    finally:
        await a.aclose()
        await b.aclose()


async def test_sql_stores_purge_expired_rows(tmp_path: Path, fresh_postgres_url: str) -> None:
    sqlite = SQLiteIdempotencyStore(tmp_path / "e.db", claim_ttl_s=0.2, done_ttl_s=0.2)
    postgres = PostgresIdempotencyStore(fresh_postgres_url, claim_ttl_s=0.2, done_ttl_s=0.2)
    try:
        for store in (sqlite, postgres):
            await store.complete(await store.claim("evt_done"))
            await store.claim("evt_stuck")
            await store.claim("evt_fresh")
        await asyncio.sleep(0.3)
        for store in (sqlite, postgres):
            await store.claim("evt_new")
            assert await store.purge_expired() == 3
            assert await store.purge_expired() == 0
    finally:
        await sqlite.aclose()
        await postgres.aclose()


async def test_postgres_store_on_a_pool_you_own(fresh_postgres_url: str) -> None:
    import asyncpg

    pool = await asyncpg.create_pool(fresh_postgres_url, min_size=1, max_size=2)
    try:
        store = PostgresIdempotencyStore(pool=pool, table="public.receiver_events")
        claim = await store.claim("evt_1")
        assert claim.state is ClaimState.CLAIMED
        await store.aclose()  # leaves your pool open
        assert await store.complete(claim)
        rows = await pool.fetch("SELECT event_id, state FROM public.receiver_events")
        assert [tuple(r) for r in rows] == [("evt_1", "done")]
    finally:
        await pool.close()


def test_store_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        PostgresIdempotencyStore()
    with pytest.raises(ValueError, match="exactly one"):
        RedisIdempotencyStore()
    with pytest.raises(ValueError, match="claim_ttl_s"):
        SQLiteIdempotencyStore("x.db", claim_ttl_s=0)
    with pytest.raises(ValueError, match="table name"):
        SQLiteIdempotencyStore("x.db", table='events"; DROP TABLE x; --')
    assert quote_table_name("app.events") == '"app"."events"'
    assert "secret" not in repr(PostgresIdempotencyStore("postgresql://u:secret@h/db"))
