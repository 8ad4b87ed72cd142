"""Cancelling deliveries not sent yet: every cancellable delivery of an event, or one delivery
(scheduling.py says which are cancellable). One transaction per call; a cancel sends nothing
and records no attempt, so a cancelled delivery is neither a success nor a failure in the
statistics nor in the endpoint's health."""

from __future__ import annotations

from promptha_webhooks.errors import ConflictError, NotFoundError
from promptha_webhooks.models import CancelledDeliveries, DeliveryDetail
from promptha_webhooks.services.deliveries import DeliveryUseCases
from promptha_webhooks.store.deliveries import CancelTarget

# The deliveries a cancel of an event lists (one per webhook the event went to).
MAX_LISTED_DELIVERIES = 1000


class CancelUseCases(DeliveryUseCases):
    """Cancels; answers with the delivery log's views (DeliveryUseCases)."""

    async def cancel_event_deliveries(self, account_id: str, event_id: str) -> CancelledDeliveries:
        """Cancel every cancellable delivery of the event; the answer lists all of the
        event's deliveries as they are after it (those delivered, failed or in flight keep
        their status). Another account's event is not found."""
        now = self._now()
        async with self.db.transaction() as conn:
            if await self.store.events.get(conn, account_id, event_id) is None:
                raise NotFoundError(f"No event {event_id}")
            cancelled = await self.store.deliveries.cancel(
                conn, CancelTarget(account_id, event_id=event_id), now
            )
            listed = await self.store.deliveries.of_event(
                conn, account_id, event_id, MAX_LISTED_DELIVERIES, None
            )
        return CancelledDeliveries(event_id=event_id, cancelled=len(cancelled), deliveries=listed)

    async def cancel_delivery(self, account_id: str, delivery_id: str) -> DeliveryDetail:
        """Cancel one delivery: 409 when it is final (delivered, failed, skipped, cancelled)
        or in flight (a worker holds it under its lease: it may be on the wire)."""
        now = self._now()
        async with self.db.transaction() as conn:
            found = await self.store.deliveries.get(conn, account_id, delivery_id)
            if found is None:
                raise NotFoundError(f"No delivery {delivery_id}")
            cancelled = await self.store.deliveries.cancel(
                conn, CancelTarget(account_id, delivery_id=delivery_id), now
            )
        if not cancelled:
            status = found[0].status
            if status == "pending":
                raise ConflictError(
                    f"delivery {delivery_id} is in flight (an attempt is under way); "
                    "it cannot be cancelled now"
                )
            raise ConflictError(f"delivery {delivery_id} is already {status}")
        return await self.get_delivery(account_id, delivery_id)
