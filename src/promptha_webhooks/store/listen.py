"""Queries of `listen` sessions: which session holds a listen webhook's stream, and the
deliveries a session takes, hands back or fails."""

from __future__ import annotations

from sqlalchemy import literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.store.backends import Dialect
from promptha_webhooks.store.queries import ClaimedDelivery, DispatchQueries
from promptha_webhooks.store.tables import deliveries, webhooks


class ListenQueries:
    def __init__(self, dialect: Dialect, dispatch: DispatchQueries) -> None:
        self.dialect = dialect
        self.dispatch = dispatch

    async def find_webhook(self, conn: AsyncConnection, account_id: str, url: str) -> str | None:
        query = select(webhooks.c.id).where(
            webhooks.c.account_id == account_id,
            webhooks.c.kind == "listen",
            webhooks.c.url == url,
        )
        row = (await conn.execute(query)).first()
        return row.id if row else None

    async def hold_stream(self, conn: AsyncConnection, webhook_id: str, session: str) -> str | None:
        """Make `session` the holder of the listen webhook's stream; return the session that
        held it (None when none did)."""
        held = (
            await conn.execute(
                select(webhooks.c.listen_session)
                .where(webhooks.c.id == webhook_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        await conn.execute(
            update(webhooks).where(webhooks.c.id == webhook_id).values(listen_session=session)
        )
        return held

    async def stream_holder(self, conn: AsyncConnection, webhook_id: str) -> str | None:
        query = select(webhooks.c.listen_session).where(webhooks.c.id == webhook_id)
        held: str | None = (await conn.execute(query)).scalar_one_or_none()
        return held

    async def close_stream(
        self, conn: AsyncConnection, webhook_id: str, session: str, reason: str, now: int
    ) -> bool:
        """If `session` still holds the stream: disable the listen webhook with `reason`
        (nothing piles up for it) and let go. False when another session took it over."""
        result = await conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.listen_session == session)
            .values(enabled=False, disabled_reason=reason, listen_session=None, updated_at=now)
        )
        return result.rowcount > 0

    async def release_claims(
        self, conn: AsyncConnection, webhook_id: str, session: str, now: int
    ) -> int:
        """A replaced session: what it took but never reported waits for the next one."""
        result = await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.claim_token == session,
                deliveries.c.status == "pending",
            )
            .values(claim_token=None, updated_at=now)
        )
        return result.rowcount

    async def claim(
        self, conn: AsyncConnection, webhook_id: str, token: str, limit: int
    ) -> list[ClaimedDelivery]:
        """Take the listen webhook's unsent deliveries for a session (never due for workers:
        their next_attempt_at is NULL)."""
        waiting = (
            select(deliveries.c.id)
            .where(
                deliveries.c.webhook_id == webhook_id,
                # literal, as ix_deliveries_listen_waiting's condition (a parameter would
                # keep the planners from using it)
                deliveries.c.status == literal_column("'pending'"),
                deliveries.c.next_attempt_at.is_(None),
                deliveries.c.claim_token.is_(None),
            )
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        waiting = self.dialect.skip_locked(waiting)
        claimed = await conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(waiting.scalar_subquery()))
            .values(claim_token=token)
            .returning(deliveries.c.id)
        )
        ids = [row.id for row in claimed]
        if not ids:
            return []
        return await self.dispatch._claimed_details(conn, ids)

    async def requeue(self, conn: AsyncConnection, delivery_id: str, now: int) -> None:
        """Hand a delivery back to its listen webhook's next session (resends)."""
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(status="pending", next_attempt_at=None, claim_token=None, updated_at=now)
        )

    async def fail_claims(
        self, conn: AsyncConnection, webhook_id: str, token: str, error: str, now: int
    ) -> int:
        """A session closed: deliveries it took but never reported are failed."""
        result = await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.claim_token == token,
                deliveries.c.status == "pending",
            )
            .values(status="failed", claim_token=None, last_error=error, updated_at=now)
        )
        return result.rowcount
