"""The record stage: AttemptOutcomes → rows. The only writer of attempt results: the attempt
log's rows, the deliveries' next states and endpoint health, in one transaction per batch
(one autocommit statement for a PostgreSQL batch of nothing but successes). The worker's
batched writer, resends, test events and listen answers all write through `Recorder`.

A success on a webhook in a secret rotation's grace period is evidence its receiver holds the
new secret: the same transaction wakes the webhook's deliveries it rejected with 401/403
meanwhile (next attempt now; `wake_rejected`). Only batches that need the health recorder can
have such deliveries to wake: a 401/403 counts as a failure, and the one-statement path of
PostgreSQL's all-success batches runs only for webhooks with no failure counted.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.alerts import Notice
from promptha_webhooks.clock import Clock, ms
from promptha_webhooks.delivery.attempt import AttemptOutcome
from promptha_webhooks.delivery.health import AttemptResult
from promptha_webhooks.delivery.observe import Observer
from promptha_webhooks.store import Database, dispatch_statements
from promptha_webhooks.webhook_secrets import SigningSecrets, UnreadableSecrets


class Recorder:
    def __init__(self, database: Database, observer: Observer, clock: Clock) -> None:
        self.db = database
        self.observer = observer
        self.clock = clock
        self._successes_alone = dispatch_statements.traits(database.backend).successes_alone

    async def write(self, batch: Sequence[AttemptOutcome]) -> list[Notice]:
        """Write a batch: attempts, outcomes (fenced by their claim token, if any) and endpoint
        health; returns the alert notices stored with it. Raises what the database raised
        (nothing written): the worker retries the batch."""
        results = health_results(batch)
        if (
            self._successes_alone
            and all(
                item.status == "delivered" and item.control is None
                for item in batch
                if item.attempt is not None
            )
        ) and await dispatch_statements.record_successes(
            self.db,
            [item.attempt for item in batch if item.attempt is not None],
            [item.update for item in batch],
            latest_success(results),
            self._now(),
        ):
            return []
        async with self.db.transaction() as conn:
            return await self._write_in(conn, batch, results)

    async def write_in(
        self, conn: AsyncConnection, batch: Sequence[AttemptOutcome]
    ) -> list[Notice]:
        """`write` in the caller's transaction (which checked what it records)."""
        return await self._write_in(conn, batch, health_results(batch))

    async def record(self, batch: Sequence[AttemptOutcome]) -> None:
        """Write a batch, then its metrics, logs and alerts (one call: resends, test events)."""
        notices = await self.write(batch)
        self.observer.recorded(batch, notices)

    async def _write_in(
        self,
        conn: AsyncConnection,
        batch: Sequence[AttemptOutcome],
        results: Sequence[AttemptResult],
    ) -> list[Notice]:
        await dispatch_statements.record_in(
            conn,
            [item.attempt for item in batch if item.attempt is not None],
            [item.update for item in batch],
        )
        now = self._now()
        # Health next: it locks the batch's webhook rows (in id order) only for the end of the
        # transaction.
        notices = await self.observer.record(conn, results, now)
        switched = switched_receivers(batch, now)
        if switched and await dispatch_statements.wake_rejected(conn, switched, now):
            await self.db.dialect.notify_due(conn)
        return notices

    def _now(self) -> int:
        return ms(self.clock.now())


def health_results(batch: Sequence[AttemptOutcome]) -> list[AttemptResult]:
    """The attempts endpoint health counts: not those left unsent because the webhook's
    secrets do not decrypt (the server's key is at fault, not the endpoint: no failing streak,
    no alert, never disabled for it; the attempt log and the server's log say why)."""
    return [
        AttemptResult.from_outcome(item)
        for item in batch
        if item.attempt is not None and not isinstance(item.delivery.signing, UnreadableSecrets)
    ]


def latest_success(results: Sequence[AttemptResult]) -> dict[str, int]:
    """Each webhook's latest attempt time in a batch of successes (its last success)."""
    latest: dict[str, int] = {}
    for result in results:
        latest[result.webhook_id] = max(result.at, latest.get(result.webhook_id, 0))
    return latest


def switched_receivers(batch: Sequence[AttemptOutcome], now: int) -> set[str]:
    """The webhooks in a rotation's grace period that a batch delivered to: their receivers
    accept the new secret now."""
    return {
        item.delivery.webhook_id
        for item in batch
        if item.update.status == "delivered"
        and isinstance(item.delivery.signing, SigningSecrets)
        and item.delivery.signing.rotating(now)
    }
