"""Queries of recovery: re-queue a webhook's failed or skipped deliveries in a window, and list
the events an account never received."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.models import Event
from promptha_webhooks.store.events import event_from_row
from promptha_webhooks.store.tables import deliveries, events

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
            update(deliveries)
            .where(*_window(webhook_id, since, until))
            .values(
                status="pending",
                next_attempt_at=now,
                claim_token=None,
                attempt_count=0,
                updated_at=now,
            )
        )
        return result.rowcount

    async def list_events(
        self,
        conn: AsyncConnection,
        account_id: str,
        *,
        since: int,
        undelivered: bool,
        limit: int,
        before: str | None,
    ) -> list[Event]:
        """The account's events since `since`, newest first; with `undelivered`, only those
        with a delivery that ended failed or skipped (an endpoint never got them)."""
        query = (
            select(events)
            .where(events.c.account_id == account_id, events.c.created_at >= since)
            .order_by(events.c.id.desc())
            .limit(limit)
        )
        if undelivered:
            query = query.where(
                exists().where(deliveries.c.event_id == events.c.id, RECOVERABLE_CONDITION)
            )
        if before:
            query = query.where(events.c.id < before)
        return [event_from_row(row) for row in await conn.execute(query)]
