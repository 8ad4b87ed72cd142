"""Queries of deliveries (one per event and webhook) and the listing of their attempts."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks import canonical_json
from promptha_webhooks.models import Attempt, Delivery, EventDelivery, from_ms
from promptha_webhooks.pacing import PACE_ORDER_PER_MS
from promptha_webhooks.scheduling import CANCELLABLE, CANCELLED
from promptha_webhooks.store.tables import attempts, deliveries, events, webhooks


class DeliveryRow(NamedTuple):
    """A delivery to insert (its attempt count 0, updated when created). Immutable and
    tuple-like, as EventRow (store/events.py) says why; bind values only here
    (`delivery_binds`)."""

    id: str
    event_id: str
    webhook_id: str
    account_id: str
    event_type: str
    status: str
    # None: not due (attempted by the API call itself, or taken by a listen session)
    next_attempt_at: int | None
    claim_token: str | None
    is_test: bool
    created_at: int  # Unix ms
    # A paced webhook's delivery (pacing.py): its publish order; None for any other
    pace_order: int | None = None

    def claimed(self, token: str, lease_until: int) -> DeliveryRow:
        """The row stored as claimed by `token` until `lease_until` (handoff.py)."""
        return DeliveryRow(
            self.id,
            self.event_id,
            self.webhook_id,
            self.account_id,
            self.event_type,
            self.status,
            lease_until,
            token,
            self.is_test,
            self.created_at,
            self.pace_order,
        )


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    """Which of a webhook's deliveries a listing shows (None: any status, any event type)."""

    account_id: str
    webhook_id: str
    status: str | None = None
    event_type: str | None = None


@dataclass(frozen=True, slots=True)
class CancelTarget:
    """The deliveries a cancel asks for: an event's, or one delivery, of one account."""

    account_id: str
    event_id: str | None = None
    delivery_id: str | None = None


def cancellable(now: int) -> ColumnElement[bool]:
    """Pending and held by no worker at `now`: not claimed, or its lease has ended."""
    return and_(
        deliveries.c.status == CANCELLABLE,
        or_(deliveries.c.claim_token.is_(None), deliveries.c.next_attempt_at <= now),
    )


def delivery_binds(row: DeliveryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "webhook_id": row.webhook_id,
        "account_id": row.account_id,
        "event_type": row.event_type,
        "status": row.status,
        "attempt_count": 0,
        "next_attempt_at": row.next_attempt_at,
        "claim_token": row.claim_token,
        "is_test": row.is_test,
        "created_at": row.created_at,
        "updated_at": row.created_at,
        "pace_order": row.pace_order,
    }


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        event_id=row.event_id,
        webhook_id=row.webhook_id,
        event=row.event_type,
        status=row.status,
        attempt_count=row.attempt_count,
        next_attempt_at=from_ms(row.next_attempt_at) if row.status == "pending" else None,
        last_response_status=row.last_status_code,
        last_error=row.last_error,
        is_test=row.is_test,
        created_at=from_ms(row.created_at),
        updated_at=from_ms(row.updated_at),
    )


def _attempt(row: Row[Any], request_body: str) -> Attempt:
    return Attempt(
        id=row.id,
        number=row.number,
        trigger=row.trigger,
        outcome=row.outcome,
        url=row.url,
        request_headers=stored_headers(row.request_headers) or {},
        request_body=request_body,
        response_status=row.response_status,
        response_headers=stored_headers(row.response_headers),
        response_body=row.response_body,
        duration_ms=row.duration_ms,
        error=row.error,
        started_at=from_ms(row.started_at),
        finished_at=from_ms(row.finished_at),
    )


def stored_headers(text: str | None) -> dict[str, str] | None:
    """A stored header object as the answer's `{name: value}` strings, whatever wrote it."""
    if not text:
        return None
    headers = canonical_json.loads_stored(text)
    if not isinstance(headers, dict):
        return {"": str(headers)}
    return {
        name: value if isinstance(value, str) else str(value) for name, value in headers.items()
    }


class DeliveryQueries:
    async def insert(self, conn: AsyncConnection, rows: Sequence[DeliveryRow]) -> None:
        if rows:
            await conn.execute(insert(deliveries), [delivery_binds(row) for row in rows])

    async def get(
        self, conn: AsyncConnection, account_id: str, id: str
    ) -> tuple[Delivery, str, str | None] | None:
        """The delivery, its event's body and traceparent, or None if absent or another
        account's."""
        query = (
            select(deliveries, events.c.body, events.c.traceparent)
            .select_from(deliveries.join(events, events.c.id == deliveries.c.event_id))
            .where(deliveries.c.id == id, deliveries.c.account_id == account_id)
        )
        row = (await conn.execute(query)).first()
        return (_delivery(row), row.body, row.traceparent) if row else None

    async def attempts(
        self, conn: AsyncConnection, delivery_id: str, request_body: str
    ) -> builtins.list[Attempt]:
        query = (
            select(attempts)
            .where(attempts.c.delivery_id == delivery_id)
            # by time: a recovered delivery starts its attempt numbers again at 1
            .order_by(attempts.c.started_at, attempts.c.id)
        )
        return [_attempt(row, request_body) for row in await conn.execute(query)]

    async def list(
        self, conn: AsyncConnection, wanted: DeliveryFilter, limit: int, before: str | None
    ) -> builtins.list[Delivery]:
        """A page of a webhook's deliveries, newest first, those before `before` (an id)."""
        query = (
            select(deliveries)
            .where(
                deliveries.c.webhook_id == wanted.webhook_id,
                deliveries.c.account_id == wanted.account_id,
            )
            .order_by(deliveries.c.id.desc())
            .limit(limit)
        )
        if wanted.status:
            query = query.where(deliveries.c.status == wanted.status)
        if wanted.event_type:
            query = query.where(deliveries.c.event_type == wanted.event_type)
        if before:
            query = query.where(deliveries.c.id < before)
        return [_delivery(row) for row in await conn.execute(query)]

    async def of_event(
        self, conn: AsyncConnection, account_id: str, event_id: str, limit: int, before: str | None
    ) -> builtins.list[EventDelivery]:
        """A page of the event's deliveries (one per webhook), newest first, with each
        webhook's kind and URL."""
        query = (
            select(deliveries, webhooks.c.url, webhooks.c.destination_type)
            .select_from(deliveries.join(webhooks, webhooks.c.id == deliveries.c.webhook_id))
            .where(deliveries.c.event_id == event_id, deliveries.c.account_id == account_id)
            .order_by(deliveries.c.id.desc())
            .limit(limit)
        )
        if before:
            query = query.where(deliveries.c.id < before)
        return [
            EventDelivery(
                **_delivery(row).model_dump(by_alias=False, exclude={"object"}),
                webhook_type=row.destination_type,
                webhook_url=row.url if row.destination_type == "http" else None,
            )
            for row in await conn.execute(query)
        ]

    async def repace(self, conn: AsyncConnection, webhook_id: str, paced: bool) -> int:
        """A webhook's pacing was turned on or off (pacing.py): give its pending deliveries a
        pace order (their creation's, then id) or take it away, so the paced or the ordinary
        claim takes them from now on; how many changed. A listen session's (never due) are
        left alone."""
        pending = (
            deliveries.c.webhook_id == webhook_id,
            deliveries.c.status == "pending",
            deliveries.c.next_attempt_at.is_not(None),
        )
        statement = (
            update(deliveries)
            .where(*pending, deliveries.c.pace_order.is_(None))
            .values(pace_order=deliveries.c.created_at * PACE_ORDER_PER_MS)
            if paced
            else update(deliveries)
            .where(*pending, deliveries.c.pace_order.is_not(None))
            .values(pace_order=None)
        )
        return (await conn.execute(statement)).rowcount

    async def cancel(
        self, conn: AsyncConnection, target: CancelTarget, now: int
    ) -> builtins.list[str]:
        """End the target's cancellable deliveries (scheduling.py): pending and held by no
        worker (never claimed, released, or their lease ended); returns their ids. A claim
        and a cancel of one row exclude each other: the claim locks the rows it takes (FOR
        UPDATE SKIP LOCKED; SQLite has one writer), and a cancel waiting for that lock reads
        the claimed row again, now held under a lease, and leaves it."""
        where = [deliveries.c.account_id == target.account_id, cancellable(now)]
        if target.event_id is not None:
            where.append(deliveries.c.event_id == target.event_id)
        if target.delivery_id is not None:
            where.append(deliveries.c.id == target.delivery_id)
        statement = (
            update(deliveries)
            .where(*where)
            .values(status=CANCELLED, next_attempt_at=None, claim_token=None, updated_at=now)
            .returning(deliveries.c.id)
        )
        return [row.id for row in await conn.execute(statement)]

    async def count_pending(self, conn: AsyncConnection) -> int:
        query = select(func.count()).select_from(deliveries).where(deliveries.c.status == "pending")
        return int((await conn.execute(query)).scalar_one())
