"""The claim stage: due deliveries → ClaimedDelivery (frozen for the type checker), taken under
a lease by one worker's token; the lease renewed while the worker holds them, and handed back
on shutdown. A delivery whose lease runs out is due again (crash safety)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from promptha_webhooks.clock import Clock, ms
from promptha_webhooks.models import Delivery
from promptha_webhooks.store import Database, Store, dispatch_statements
from promptha_webhooks.store.queries import ClaimedDelivery, PacedClaim
from promptha_webhooks.store.webhooks import Endpoint

__all__ = ["ClaimedDelivery", "Claims", "PacedRoom", "as_claimed"]


def as_claimed(
    delivery: Delivery, body: str, endpoint: Endpoint, traceparent: str | None
) -> ClaimedDelivery:
    """A delivery read from the log (resends, test events, listen answers) as the attempt
    stage takes it. `endpoint`: the webhook's url, secrets, whether it is enabled, its cap,
    its delivery settings."""
    return ClaimedDelivery(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event,
        webhook_id=delivery.webhook_id,
        attempt_count=delivery.attempt_count,
        is_test=delivery.is_test,
        body=body.encode(),
        url=endpoint.url,
        signing=endpoint.signing,
        webhook_enabled=endpoint.enabled,
        traceparent=traceparent,
        max_concurrency=endpoint.max_concurrency,
        settings=endpoint.settings,
    )


@dataclass(frozen=True, slots=True)
class PacedRoom:
    """What a worker can start at once per webhook: the default cap, the most any webhook
    gets, and the deliveries of each webhook it already holds unfinished."""

    default_cap: int
    max_cap: int
    busy: Mapping[str, int]


class Claims:
    """The claims of one worker (its `token`)."""

    def __init__(self, database: Database, token: str, lease_s: float, clock: Clock) -> None:
        self.db = database
        self.store = Store(database.backend, database.secrets)
        self.token = token
        self.lease_ms = ms(lease_s)
        self.clock = clock

    async def claim(self, limit: int, exclude_webhooks: Sequence[str]) -> list[ClaimedDelivery]:
        """Up to `limit` due deliveries, not of `exclude_webhooks` (at their concurrency cap),
        leased to this worker, with what attempting them needs: one statement."""
        now = ms(self.clock.now())
        return await dispatch_statements.claim_batch(
            self.db, now, now + self.lease_ms, self.token, limit, exclude_webhooks
        )

    async def claim_paced(
        self, limit: int, exclude_webhooks: Sequence[str], room: PacedRoom
    ) -> list[ClaimedDelivery]:
        """Up to `limit` due deliveries of paced webhooks (rate limit, FIFO), as their pacing
        and this worker's room for each webhook allow, leased to this worker: one transaction,
        which locks each webhook it claims for (store/queries.py: claim_paced)."""
        now = ms(self.clock.now())
        claim = PacedClaim(
            now,
            now + self.lease_ms,
            self.token,
            limit,
            default_cap=room.default_cap,
            max_cap=room.max_cap,
            busy=room.busy,
        )
        async with self.db.transaction() as conn:
            return await self.store.dispatch.claim_paced(conn, claim, exclude_webhooks)

    def lease_until(self, now: int) -> int:
        """The lease a delivery taken at `now` (ms) gets."""
        return now + self.lease_ms

    async def extend(self, held: Sequence[str]) -> int:
        """Push the lease of deliveries this worker still holds (waiting for a slot)."""
        async with self.db.transaction() as conn:
            return await self.store.dispatch.extend_leases(
                conn, held, self.token, ms(self.clock.now()) + self.lease_ms
            )

    async def release(self, held: Sequence[str]) -> int:
        """Make the held deliveries due now again (graceful shutdown)."""
        async with self.db.transaction() as conn:
            return await self.store.dispatch.release_claims(
                conn, held, self.token, ms(self.clock.now())
            )
