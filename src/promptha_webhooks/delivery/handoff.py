"""Hand-off: a publish gives its new deliveries straight to the dispatcher of its own process.

Without it a new delivery is stored due, and the dispatcher, woken, claims it with a statement
of its own: a second round trip and commit between publish and send, and CPU for each. With it
the publish stores each delivery the dispatcher has room for already claimed by that
dispatcher (its claim token and a lease, as a claim would have left it), and passes it over once
the publish has committed, so the attempt starts at once. Crash safety is the claim's: a
delivery handed over to a process that dies is due again when its lease runs out.

`serve` runs both the API and a dispatcher, so it hands off; `serve --no-dispatcher` does not
(its deliveries are stored due, and workers are woken by NOTIFY on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from promptha_webhooks.delivery.claim import ClaimedDelivery
from promptha_webhooks.store.deliveries import DeliveryRow
from promptha_webhooks.store.webhooks import HandOffEndpoint


class DeliveryHandOff(Protocol):
    """The worker's side (delivery.worker.Dispatcher)."""

    token: str

    def reserve(self, webhook_id: str, max_concurrency: int | None) -> bool: ...

    def lease_until(self, now: int) -> int: ...

    def release(self, webhook_ids: list[str]) -> None: ...

    def take(self, deliveries: list[ClaimedDelivery]) -> None: ...


def mark_handed(
    handoff: DeliveryHandOff, delivery_rows: list[DeliveryRow], caps: Mapping[str, int | None]
) -> list[DeliveryRow]:
    """Mark the due rows the dispatcher takes, not a paced webhook's (stored claimed by it,
    leased: replaced in `delivery_rows`) and return them; every one holds a reservation until
    `take` or `release`. `caps`: each webhook's concurrency cap (None or absent: the default)."""
    handed: list[DeliveryRow] = []
    for index, row in enumerate(delivery_rows):
        # A paced webhook's delivery waits for the paced claim (its order, its rate); a
        # scheduled one (deliverAt: due after its creation) for the claim at its time.
        if (
            row.next_attempt_at is not None
            and row.next_attempt_at <= row.created_at
            and row.pace_order is None
            and handoff.reserve(row.webhook_id, caps.get(row.webhook_id))
        ):
            row = row.claimed(handoff.token, handoff.lease_until(row.created_at))
            delivery_rows[index] = row
            handed.append(row)
    return handed


def unmark(handoff: DeliveryHandOff, handed: list[DeliveryRow]) -> None:
    """The statement did not store the rows as marked: give the reservations back."""
    if handed:
        handoff.release([row.webhook_id for row in handed])


def hand_over(
    handoff: DeliveryHandOff,
    handed: list[DeliveryRow],
    events: Mapping[str, tuple[bytes, str | None]],
    endpoints: Mapping[str, HandOffEndpoint],
    caps: Mapping[str, int | None],
) -> None:
    """Give the committed handed rows to the dispatcher. `events`: body and traceparent per
    event id; `endpoints`: url, secrets and delivery settings per webhook id, read by the
    statement or transaction that stored the rows (as current as a claim's). A row without its
    endpoint (not expected: the statement stores nothing if the webhooks changed) is left to
    its lease. `caps`: as for `mark_handed`."""
    if not handed:
        return
    missing = [row for row in handed if row.webhook_id not in endpoints]
    if missing:
        unmark(handoff, missing)
        handed = [row for row in handed if row.webhook_id in endpoints]
    handoff.take(
        [
            ClaimedDelivery(
                id=row.id,
                event_id=row.event_id,
                event_type=row.event_type,
                webhook_id=row.webhook_id,
                attempt_count=0,
                is_test=False,
                body=events[row.event_id][0],
                url=endpoints[row.webhook_id].url,
                signing=endpoints[row.webhook_id].signing,
                webhook_enabled=True,
                traceparent=events[row.event_id][1],
                max_concurrency=caps.get(row.webhook_id),
                settings=endpoints[row.webhook_id].settings,
            )
            for row in handed
        ]
    )


def wakes_claims(delivery_rows: list[DeliveryRow]) -> bool:
    """Whether stored rows need a claim: some are due and not handed over."""
    return any(row.next_attempt_at is not None and row.claim_token is None for row in delivery_rows)
