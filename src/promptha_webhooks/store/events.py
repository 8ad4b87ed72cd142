"""Queries of events and of the idempotency keys that name them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks import canonical_json
from promptha_webhooks.models import Event, from_ms
from promptha_webhooks.store.tables import deliveries, events, idempotency_keys


class EventRow(NamedTuple):
    """An event to insert. Immutable and tuple-like (a frozen dataclass costs 4x as much to
    build, and orjson writes slotted ones 5x slower: this is the publish path); turned into
    bind values only here (`event_binds`)."""

    id: str
    account_id: str
    type: str
    body: str  # the canonical JSON envelope
    is_test: bool
    created_at: int  # Unix ms
    traceparent: str | None = None  # the publish span (tracing on)
    deliver_at: int | None = None  # Unix ms asked by the publish (deliverAt); None: at once


class IdempotencyKeyRow(NamedTuple):
    """An idempotency key to insert, naming the event it stored."""

    account_id: str
    key: str
    event_id: str
    request_hash: str
    created_at: int  # Unix ms


def event_binds(row: EventRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "account_id": row.account_id,
        "type": row.type,
        "body": row.body,
        "is_test": row.is_test,
        "created_at": row.created_at,
        "traceparent": row.traceparent,
        "deliver_at": row.deliver_at,
    }


def key_binds(row: IdempotencyKeyRow) -> dict[str, Any]:
    return {
        "account_id": row.account_id,
        "key": row.key,
        "event_id": row.event_id,
        "request_hash": row.request_hash,
        "created_at": row.created_at,
    }


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    event_id: str
    request_hash: str
    created_at: int


def event_from_row(row: Row[Any]) -> Event:
    # As any version stored it: lone surrogates, deep nesting and big integers included.
    body = canonical_json.loads_stored(row.body)
    return Event(
        id=row.id,
        account_id=row.account_id,
        event=row.type,
        data=body["data"],
        timestamp=body["timestamp"],
        is_test=row.is_test,
        created_at=from_ms(row.created_at),
        deliver_at=from_ms(row.deliver_at),
    )


class EventQueries:
    async def insert(self, conn: AsyncConnection, rows: Sequence[EventRow]) -> None:
        if rows:
            await conn.execute(insert(events), [event_binds(row) for row in rows])

    async def get(self, conn: AsyncConnection, account_id: str, id: str) -> Event | None:
        query = select(events).where(events.c.id == id, events.c.account_id == account_id)
        row = (await conn.execute(query)).first()
        if row is None:
            return None
        count_query = select(func.count()).where(deliveries.c.event_id == id)
        count = int((await conn.execute(count_query)).scalar_one())
        return event_from_row(row).model_copy(update={"delivery_count": count})


class IdempotencyQueries:
    async def find(
        self, conn: AsyncConnection, account_id: str, key: str
    ) -> IdempotencyRecord | None:
        query = select(idempotency_keys).where(
            idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == key
        )
        row = (await conn.execute(query)).first()
        return IdempotencyRecord(row.event_id, row.request_hash, row.created_at) if row else None

    async def delete(self, conn: AsyncConnection, account_id: str, key: str) -> None:
        await conn.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == key
            )
        )

    async def insert(self, conn: AsyncConnection, rows: Sequence[IdempotencyKeyRow]) -> None:
        if rows:
            await conn.execute(insert(idempotency_keys), [key_binds(row) for row in rows])
