"""The dispatcher's queries of claimed deliveries (details, leases, results, release) and
the `ClaimedDelivery` they carry. (The delivery package owns these; store.py composes them
into `Store.dispatch`.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.records import record
from promptha_webhooks.store.tables import attempts, deliveries, events, webhooks


@record
class ClaimedDelivery:
    """A due delivery taken under lease, with everything needed to attempt it."""

    id: str
    event_id: str
    event_type: str
    webhook_id: str
    attempt_count: int
    is_test: bool
    body: bytes
    url: str
    secret: str
    webhook_enabled: bool
    traceparent: str | None = None  # the event's publish span (tracing on)


def _claimed(r: Any) -> ClaimedDelivery:
    return ClaimedDelivery(
        id=r.id,
        event_id=r.event_id,
        event_type=r.event_type,
        webhook_id=r.webhook_id,
        attempt_count=r.attempt_count,
        is_test=r.is_test,
        body=r.body.encode(),
        url=r.url,
        secret=r.secret,
        webhook_enabled=r.enabled,
        traceparent=r.traceparent,
    )


class DispatchQueries:
    async def _claimed_details(
        self, conn: AsyncConnection, ids: list[str]
    ) -> list[ClaimedDelivery]:
        """Bodies, URLs and secrets of claimed deliveries, in id order."""
        details = await conn.execute(
            select(
                deliveries.c.id,
                deliveries.c.event_id,
                deliveries.c.event_type,
                deliveries.c.webhook_id,
                deliveries.c.attempt_count,
                deliveries.c.is_test,
                events.c.body,
                events.c.traceparent,
                webhooks.c.url,
                webhooks.c.secret,
                webhooks.c.enabled,
            )
            .select_from(
                deliveries.join(events, events.c.id == deliveries.c.event_id).join(
                    webhooks, webhooks.c.id == deliveries.c.webhook_id
                )
            )
            .where(deliveries.c.id.in_(ids))
            .order_by(deliveries.c.id)
        )
        return [_claimed(r) for r in details]

    async def extend_leases(
        self, conn: AsyncConnection, ids: Sequence[str], token: str, lease_until: int
    ) -> int:
        """Push the lease of deliveries this worker still holds (waiting for a slot)."""
        if not ids:
            return 0
        result = await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id.in_(list(ids)),
                deliveries.c.claim_token == token,
                deliveries.c.status == "pending",
            )
            .values(next_attempt_at=lease_until)
        )
        return result.rowcount

    async def record_attempts(
        self,
        conn: AsyncConnection,
        attempt_rows: list[dict[str, Any]],
        delivery_updates: list[dict[str, Any]],
        *,
        fenced: bool,
    ) -> None:
        """Insert attempt rows and write delivery outcomes, each as one batched statement.

        delivery_updates: dicts with b_id, b_token, b_status, b_count, b_next, b_code, b_error,
        b_now. With `fenced`, an update applies only while the delivery still carries the
        claim token (a worker whose lease ran out must not overwrite a newer claimer).
        """
        if attempt_rows:
            # Attempts of deliveries deleted meanwhile (webhook deleted) are dropped. The rest
            # are key-share locked until the commit: attempts have no foreign key (migration
            # 0006), and a delete of their delivery, which deletes its attempts after it,
            # waits for them.
            wanted = list({row["delivery_id"] for row in attempt_rows})
            present = await conn.execute(
                select(deliveries.c.id)
                .where(deliveries.c.id.in_(wanted))
                .with_for_update(read=True, key_share=True)
            )
            existing = {row.id for row in present}
            attempt_rows = [row for row in attempt_rows if row["delivery_id"] in existing]
        if attempt_rows:
            await conn.execute(insert(attempts), attempt_rows)
        if not delivery_updates:
            return
        condition = deliveries.c.id == bindparam("b_id")
        if fenced:
            condition = and_(condition, deliveries.c.claim_token == bindparam("b_token"))
        await conn.execute(
            update(deliveries)
            .where(condition)
            .values(
                status=bindparam("b_status"),
                attempt_count=bindparam("b_count"),
                next_attempt_at=bindparam("b_next"),
                claim_token=None,
                last_status_code=bindparam("b_code"),
                last_error=bindparam("b_error"),
                updated_at=bindparam("b_now"),
            ),
            delivery_updates,
        )

    async def release_claims(
        self, conn: AsyncConnection, ids: Sequence[str], token: str, now: int
    ) -> int:
        """Make claimed deliveries due now again (graceful shutdown)."""
        if not ids:
            return 0
        result = await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id.in_(list(ids)),
                deliveries.c.claim_token == token,
                deliveries.c.status == "pending",
            )
            .values(next_attempt_at=now, claim_token=None)
        )
        return result.rowcount
