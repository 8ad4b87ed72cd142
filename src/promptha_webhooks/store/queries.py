"""The dispatcher's queries of claimed deliveries (details, leases, results, release) and
the `ClaimedDelivery` they carry. (The delivery package owns these; store.py composes them
into `Store.dispatch`.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.delivery_settings import DEFAULT_DELIVERY_SETTINGS, DeliverySettings
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
    # The webhook's static headers, retry schedule and timeout (delivery_settings.py)
    settings: DeliverySettings = DEFAULT_DELIVERY_SETTINGS


def _claimed(secrets: SecretCodec, r: Any) -> ClaimedDelivery:
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
        settings=secrets.delivery_settings(
            r.webhook_id, (r.headers, r.retry_schedule, r.timeout_seconds)
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
