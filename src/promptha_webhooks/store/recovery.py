"""Queries of recovery: re-queue a webhook's failed or skipped deliveries in a window, or an
account's chosen ones (bulk resend), and list (search) the account's events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.models import Event
from promptha_webhooks.store.events import event_from_row
from promptha_webhooks.store.tables import deliveries, events, webhooks

RECOVERABLE = ("failed", "skipped")
# Spelt with literals, as the condition of the partial index ix_deliveries_recoverable is: with
# bound parameters the planners (PostgreSQL's generic plans, SQLite's) could not use it.
RECOVERABLE_CONDITION = deliveries.c.status.in_([literal_column(f"'{s}'") for s in RECOVERABLE])


def _window(webhook_id: str, since: int, until: int | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        deliveries.c.webhook_id == webhook_id,
        RECOVERABLE_CONDITION,
        deliveries.c.created_at >= since,
        deliveries.c.is_test.is_(False),
    ]
    if until is not None:
        conditions.append(deliveries.c.created_at < until)
    return conditions


@dataclass(frozen=True, slots=True)
class EventSearch:
    """Which of an account's events a listing shows: created in [since, until) (None: no
    bound), of one id, of one type or of types under a prefix (`fabric.`), or only those an
    endpoint never received."""

    account_id: str
    since: int | None = None
    until: int | None = None
    event_id: str | None = None
    type_name: str | None = None
    type_prefix: str | None = None
    undelivered: bool = False


@dataclass(frozen=True, slots=True)
class FailedSelection:
    """An account's failed or skipped (non-test) deliveries of enabled webhooks, created in
    [since, until), of one webhook or all of them (bulk resend by time range)."""

    account_id: str
    since: int | None = None
    until: int | None = None
    webhook_id: str | None = None


@dataclass(frozen=True, slots=True)
class ResendCandidate:
    """A delivery named by a bulk resend, with what decides whether it can be re-queued."""

    id: str
    webhook_id: str
    status: str
    is_test: bool
    webhook_enabled: bool


def _requeued(now: int) -> dict[str, Any]:
    """What re-queuing writes: pending, due now, a fresh retry schedule (attempt numbers start
    again at 1; the log orders attempts by time)."""
    return {
        "status": "pending",
        "next_attempt_at": now,
        "claim_token": None,
        "attempt_count": 0,
        "updated_at": now,
    }


def _failed_conditions(selection: FailedSelection) -> list[ColumnElement[bool]]:
    enabled_webhooks = select(webhooks.c.id).where(
        webhooks.c.account_id == selection.account_id, webhooks.c.enabled.is_(True)
    )
    if selection.webhook_id is not None:
        enabled_webhooks = enabled_webhooks.where(webhooks.c.id == selection.webhook_id)
    conditions: list[ColumnElement[bool]] = [
        deliveries.c.webhook_id.in_(enabled_webhooks.scalar_subquery()),
        RECOVERABLE_CONDITION,
        deliveries.c.is_test.is_(False),
    ]
    if selection.since is not None:
        conditions.append(deliveries.c.created_at >= selection.since)
    if selection.until is not None:
        conditions.append(deliveries.c.created_at < selection.until)
    return conditions


class RecoveryQueries:
    async def count_recoverable(
        self, conn: AsyncConnection, webhook_id: str, since: int, until: int | None
    ) -> int:
        query = (
            select(func.count()).select_from(deliveries).where(*_window(webhook_id, since, until))
        )
        return int((await conn.execute(query)).scalar_one())

    async def requeue(
        self, conn: AsyncConnection, webhook_id: str, since: int, until: int | None, now: int
    ) -> int:
        """Make them pending and due now with a fresh retry schedule (attempt numbers start
        again at 1; the log orders attempts by time)."""
        result = await conn.execute(
            update(deliveries).where(*_window(webhook_id, since, until)).values(_requeued(now))
        )
        return result.rowcount

    async def resend_candidates(
        self, conn: AsyncConnection, account_id: str, ids: Sequence[str]
    ) -> dict[str, ResendCandidate]:
        """The account's deliveries among `ids` (another account's are absent, as unknown
        ones are), by id."""
        query = (
            select(
                deliveries.c.id,
                deliveries.c.webhook_id,
                deliveries.c.status,
                deliveries.c.is_test,
                webhooks.c.enabled,
            )
            .select_from(deliveries.join(webhooks, webhooks.c.id == deliveries.c.webhook_id))
            .where(deliveries.c.id.in_(list(ids)), deliveries.c.account_id == account_id)
        )
        return {
            row.id: ResendCandidate(row.id, row.webhook_id, row.status, row.is_test, row.enabled)
            for row in await conn.execute(query)
        }

    async def failed_page(
        self, conn: AsyncConnection, selection: FailedSelection, limit: int
    ) -> list[tuple[str, str]]:
        """Up to `limit` of the selected deliveries, oldest first: (id, webhook id)."""
        query = (
            select(deliveries.c.id, deliveries.c.webhook_id)
            .where(*_failed_conditions(selection))
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        return [(row.id, row.webhook_id) for row in await conn.execute(query)]

    async def count_failed(self, conn: AsyncConnection, selection: FailedSelection) -> int:
        query = select(func.count()).select_from(deliveries).where(*_failed_conditions(selection))
        return int((await conn.execute(query)).scalar_one())

    async def requeue_ids(self, conn: AsyncConnection, ids: Sequence[str], now: int) -> int:
        """Re-queue these deliveries, those still failed or skipped (the caller chose them in
        this transaction), as `requeue` does."""
        if not ids:
            return 0
        result = await conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(list(ids)), RECOVERABLE_CONDITION)
            .values(_requeued(now))
        )
        return result.rowcount

    async def list_events(
        self, conn: AsyncConnection, search: EventSearch, limit: int, before: str | None
    ) -> list[Event]:
        """The account's events the search selects, newest first, those before `before` (an
        id); `undelivered`: only those with a delivery that ended failed or skipped (an
        endpoint never got them)."""
        query = (
            select(events)
            .where(events.c.account_id == search.account_id)
            .order_by(events.c.id.desc())
            .limit(limit)
        )
        if search.since is not None:
            query = query.where(events.c.created_at >= search.since)
        if search.until is not None:
            query = query.where(events.c.created_at < search.until)
        if search.event_id is not None:
            query = query.where(events.c.id == search.event_id)
        if search.type_name is not None:
            query = query.where(events.c.type == search.type_name)
        if search.type_prefix is not None:
            query = query.where(events.c.type.startswith(search.type_prefix, autoescape=True))
        if search.undelivered:
            query = query.where(
                exists().where(deliveries.c.event_id == events.c.id, RECOVERABLE_CONDITION)
            )
        if before:
            query = query.where(events.c.id < before)
        return [event_from_row(row) for row in await conn.execute(query)]
