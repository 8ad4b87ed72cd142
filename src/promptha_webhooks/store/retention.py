"""Queries of retention: delete old events with their deliveries and attempts, one bounded
batch per transaction."""

from __future__ import annotations

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.store.backends import Dialect
from promptha_webhooks.store.tables import attempts, deliveries, events, idempotency_keys


class RetentionQueries:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    async def purge_batch(self, conn: AsyncConnection, cutoff: int, limit: int) -> int:
        """Delete up to `limit` events created before `cutoff` (none with a pending delivery:
        a recovered delivery is kept until it is settled), their deliveries and attempts.
        Returns the number of events deleted. On PostgreSQL, rows another purger holds are
        skipped (SKIP LOCKED), so concurrent workers never wait for each other."""
        pending = exists().where(
            deliveries.c.event_id == events.c.id, deliveries.c.status == "pending"
        )
        query = (
            select(events.c.id)
            .where(events.c.created_at < cutoff, ~pending)
            .order_by(events.c.created_at)
            .limit(limit)
        )
        query = self.dialect.skip_locked(query)
        ids = [row.id for row in await conn.execute(query)]
        if not ids:
            return 0
        doomed = select(deliveries.c.id).where(deliveries.c.event_id.in_(ids))
        # Attempts have no foreign key (migration 0006): an attempt being recorded holds its
        # delivery locked, so lock the deliveries first (where the backend locks rows) and then
        # find every attempt committed before; a later one finds its delivery gone and is not
        # recorded.
        await self.dialect.lock_rows(conn, doomed)
        await conn.execute(
            delete(attempts).where(attempts.c.delivery_id.in_(doomed.scalar_subquery()))
        )
        await conn.execute(delete(deliveries).where(deliveries.c.event_id.in_(ids)))
        await conn.execute(delete(idempotency_keys).where(idempotency_keys.c.event_id.in_(ids)))
        await conn.execute(delete(events).where(events.c.id.in_(ids)))
        return len(ids)
