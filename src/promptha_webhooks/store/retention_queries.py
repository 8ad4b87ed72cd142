"""Queries of retention: delete old events with their deliveries and attempts, one bounded
batch per transaction."""

from __future__ import annotations

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.store.database import Backend
from promptha_webhooks.store.tables import attempts, deliveries, events, idempotency_keys


class RetentionQueries:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

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
        if self.backend == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = [row.id for row in await conn.execute(query)]
        if not ids:
            return 0
        doomed = select(deliveries.c.id).where(deliveries.c.event_id.in_(ids))
        if self.backend == "postgresql":
            # Attempts have no foreign key (migration 0006): an attempt being recorded holds
            # its delivery locked, so lock the deliveries first and then find every attempt
            # committed before; a later one finds its delivery gone and is not recorded.
            locked = doomed.with_for_update().subquery()
            await conn.execute(select(func.count()).select_from(locked))
        await conn.execute(
            delete(attempts).where(attempts.c.delivery_id.in_(doomed.scalar_subquery()))
        )
        await conn.execute(delete(deliveries).where(deliveries.c.event_id.in_(ids)))
        await conn.execute(delete(idempotency_keys).where(idempotency_keys.c.event_id.in_(ids)))
        await conn.execute(delete(events).where(events.c.id.in_(ids)))
        return len(ids)
