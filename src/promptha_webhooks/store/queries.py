"""The dispatcher's queries of claimed deliveries (details, leases, results, release) and
the `ClaimedDelivery` they carry. (The delivery package owns these; store.py composes them
into `Store.dispatch`.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.delivery_settings import DEFAULT_DELIVERY_SETTINGS, DeliverySettings
from promptha_webhooks.pacing import Ordering, take_slots
from promptha_webhooks.records import record
from promptha_webhooks.store.tables import deliveries, events, webhooks
from promptha_webhooks.store.webhook_secrets import SecretCodec
from promptha_webhooks.webhook_secrets import Signing


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
    # The webhook's secrets (two during a rotation) and format; UnreadableSecrets when they do
    # not decrypt (the attempt stage then sends nothing)
    signing: Signing
    webhook_enabled: bool
    traceparent: str | None = None  # the event's publish span (tracing on)
    # The webhook's cap on concurrent requests; None: the worker's default (worker.py)
    max_concurrency: int | None = None
    # A rate-limited webhook's delivery: its rate slot, the time (ms) the worker may start
    # sending it (claim_paced); None: at once
    not_before: int | None = None
    # The webhook's static headers, retry schedule and timeout (delivery_settings.py)
    settings: DeliverySettings = DEFAULT_DELIVERY_SETTINGS


@dataclass(frozen=True, slots=True)
class PacedClaim:
    """A paced claim by one worker (`token`): at `now` (ms), leased until `lease_until`, at
    most `limit` deliveries."""

    now: int
    lease_until: int
    token: str
    limit: int
    # A webhook's cap on requests at once when its maxConcurrency is NULL, and the most any
    # webhook gets (the worker's max_in_flight): a claim takes no more of a webhook's
    # deliveries than the worker can start at once, so each starts at its rate slot.
    default_cap: int = 10
    max_cap: int = 512
    # Deliveries of each webhook this worker holds unfinished (attempting or waiting).
    busy: Mapping[str, int] = field(default_factory=dict)


def _claimed(secrets: SecretCodec, r: Any, not_before: int | None = None) -> ClaimedDelivery:
    return ClaimedDelivery(
        id=r.id,
        event_id=r.event_id,
        event_type=r.event_type,
        webhook_id=r.webhook_id,
        attempt_count=r.attempt_count,
        is_test=r.is_test,
        body=r.body.encode(),
        url=r.url,
        signing=secrets.signing_secrets(
            r.webhook_id,
            (
                r.secret,
                r.previous_secret,
                r.previous_secret_expires_at,
                r.signature_format,
                r.secret_key_id,
            ),
        ),
        webhook_enabled=r.enabled,
        traceparent=r.traceparent,
        max_concurrency=r.max_concurrency,
        not_before=not_before,
        settings=secrets.delivery_settings(
            r.webhook_id,
            (
                r.headers,
                r.retry_schedule,
                r.timeout_seconds,
                r.proxy_url,
                r.destination_type,
                r.destination_config,
            ),
        ),
    )


class DispatchQueries:
    def __init__(self, secrets: SecretCodec) -> None:
        self.secrets = secrets

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
                webhooks.c.previous_secret,
                webhooks.c.previous_secret_expires_at,
                webhooks.c.signature_format,
                webhooks.c.secret_key_id,
                webhooks.c.enabled,
                webhooks.c.max_concurrency,
                webhooks.c.headers,
                webhooks.c.retry_schedule,
                webhooks.c.timeout_seconds,
                webhooks.c.proxy_url,
                webhooks.c.destination_type,
                webhooks.c.destination_config,
            )
            .select_from(
                deliveries.join(events, events.c.id == deliveries.c.event_id).join(
                    webhooks, webhooks.c.id == deliveries.c.webhook_id
                )
            )
            .where(deliveries.c.id.in_(ids))
            .order_by(deliveries.c.id)
        )
        return [_claimed(self.secrets, r) for r in details]

    async def claim_paced(
        self, conn: AsyncConnection, claim: PacedClaim, exclude_webhooks: Sequence[str]
    ) -> list[ClaimedDelivery]:
        """Take paced webhooks' due deliveries (rate limit, FIFO: pacing.py) under `claim`'s
        lease, in the caller's transaction, as their pacing allows: each webhook's row is
        locked for the claim (FOR NO KEY UPDATE SKIP LOCKED on PostgreSQL: a webhook another
        worker is claiming for is left to it; SQLite's write transaction holds the whole
        database), so its order and its rate slots (`rate_next_at`) hold across every worker.
        A FIFO webhook gives its oldest pending delivery only, and only when it is due: while
        it is in flight (claimed: due at its lease's end) or waiting for a retry, nothing
        comes after it. A rate-limited one gives the deliveries its slots within
        RATE_HORIZON_MS allow, each with its slot's start (`not_before`)."""
        paced_pending = and_(deliveries.c.status == "pending", deliveries.c.pace_order.is_not(None))
        waiting = (
            select(deliveries.c.webhook_id)
            .where(paced_pending, deliveries.c.next_attempt_at <= claim.now)
            .distinct()
        )
        if exclude_webhooks:
            waiting = waiting.where(deliveries.c.webhook_id.not_in(list(exclude_webhooks)))
        webhook_rows = (
            await conn.execute(
                select(
                    webhooks.c.id,
                    webhooks.c.rate_limit,
                    webhooks.c.ordering,
                    webhooks.c.rate_next_at,
                    webhooks.c.max_concurrency,
                )
                .where(webhooks.c.id.in_(waiting.scalar_subquery()))
                .order_by(webhooks.c.id)
                .with_for_update(key_share=True, skip_locked=True)
            )
        ).all()
        starts: dict[str, int | None] = {}
        for webhook in webhook_rows:
            room = claim.limit - len(starts)
            if room <= 0:
                break
            cap = min(webhook.max_concurrency or claim.default_cap, claim.max_cap)
            room = min(room, cap - claim.busy.get(webhook.id, 0))
            if room <= 0:
                continue  # at its cap in this worker: its slots are left for later
            slots = None
            if webhook.rate_limit is not None:
                slots = take_slots(webhook.rate_next_at, claim.now, webhook.rate_limit, room)
                room = len(slots.starts)
                if not room:
                    continue  # its next slot is beyond the horizon
            order = (
                select(deliveries.c.id, deliveries.c.next_attempt_at)
                .where(deliveries.c.webhook_id == webhook.id, paced_pending)
                .order_by(deliveries.c.pace_order, deliveries.c.id)
            )
            if webhook.ordering == Ordering.FIFO:
                head = (await conn.execute(order.limit(1))).first()
                due = head is not None and (head.next_attempt_at or 0) <= claim.now
                chosen = [head.id] if head is not None and due else []
            else:
                due_rows = await conn.execute(
                    order.where(deliveries.c.next_attempt_at <= claim.now).limit(room)
                )
                chosen = [row.id for row in due_rows]
            if not chosen:
                continue
            if slots is not None and webhook.rate_limit is not None:
                slots = take_slots(webhook.rate_next_at, claim.now, webhook.rate_limit, len(chosen))
                await conn.execute(
                    update(webhooks)
                    .where(webhooks.c.id == webhook.id)
                    .values(rate_next_at=slots.next_at)
                )
                starts.update(zip(chosen, slots.starts, strict=True))
            else:
                starts.update(dict.fromkeys(chosen))
        if not starts:
            return []
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(list(starts)))
            .values(next_attempt_at=claim.lease_until, claim_token=claim.token)
        )
        claimed = await self._claimed_details(conn, list(starts))
        return sorted(
            (replace(c, not_before=starts[c.id]) for c in claimed),
            key=lambda c: c.not_before or 0,
        )

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
