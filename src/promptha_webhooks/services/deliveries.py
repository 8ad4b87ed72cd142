"""Deliveries: test events and resends (one attempt now, through delivery/'s attempt and record
stages), the delivery log, and recovery: re-queue a webhook's failed or skipped deliveries in a
time window (with a dry run that only counts them), and list the events an account never
received (reached as `services.recovery`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from promptha_webhooks import canonical_json, ids
from promptha_webhooks.catalog import get_event_type, sample_payload
from promptha_webhooks.clock import Clock, ms
from promptha_webhooks.delivery.attempt import AttemptMode, Trigger, attempt, keep_schedule
from promptha_webhooks.delivery.claim import as_claimed
from promptha_webhooks.errors import ConflictError, InvalidRequestError, NotFoundError
from promptha_webhooks.models import (
    Delivery,
    DeliveryDetail,
    Event,
    Page,
    RecoveryResult,
    TestResult,
)
from promptha_webhooks.pacing import is_paced
from promptha_webhooks.services.base import UseCases
from promptha_webhooks.services.publishing import delivery_row, encode_event
from promptha_webhooks.services.validation import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    check_cursor,
    page_limit,
    page_of,
)
from promptha_webhooks.store import Database, Store
from promptha_webhooks.store.deliveries import DeliveryFilter
from promptha_webhooks.store.events import EventRow

LISTEN_URL_PREFIX = "listen://"
DEFAULT_EVENTS_WINDOW_S = 24 * 3600


class Recovery:
    def __init__(
        self, database: Database, clock: Clock, *, on_requeue: Callable[[], None] | None = None
    ) -> None:
        self.db = database
        self.clock = clock
        self.store = Store(database.backend, database.secrets)
        self.queries = self.store.recovery
        self.on_requeue = on_requeue

    async def recover(
        self,
        account_id: str,
        webhook_id: str,
        *,
        since: datetime,
        until: datetime | None = None,
        dry_run: bool = False,
    ) -> RecoveryResult:
        """Re-queue every failed or skipped (non-test) delivery of the webhook created in
        [since, until): due now, with a fresh retry schedule. A dry run only counts them."""
        start = ms(since.timestamp())
        end = ms(until.timestamp()) if until is not None else None
        if end is not None and end <= start:
            raise InvalidRequestError("until must be after since", field="until")
        now = ms(self.clock.now())
        if start > now:
            raise InvalidRequestError("since is in the future", field="since")
        async with self.db.transaction() as conn:
            webhook = await self.store.webhooks.get(conn, account_id, webhook_id)
            if webhook is None:
                raise NotFoundError(f"No webhook {webhook_id}")
            if dry_run:
                count = await self.queries.count_recoverable(conn, webhook_id, start, end)
            else:
                if not webhook.enabled:
                    raise ConflictError(
                        f"webhook {webhook_id} is disabled ({webhook.disabled_reason}): "
                        'enable it first (PATCH {"enabled": true}), then recover'
                    )
                count = await self.queries.requeue(conn, webhook_id, start, end, now)
                if count:
                    # Stored before the webhook's pacing changed: claimed as it is now.
                    paced = is_paced(webhook.rate_limit, webhook.ordering)
                    await self.store.deliveries.repace(conn, webhook_id, paced)
                    await self.db.dialect.notify_due(conn)
        if count and not dry_run and self.on_requeue is not None:
            self.on_requeue()
        return RecoveryResult(
            webhook_id=webhook_id, since=since, until=until, dry_run=dry_run, count=count
        )

    async def list_events(
        self,
        account_id: str,
        *,
        since: datetime | None,
        undelivered: bool,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Event]:
        """The account's events since `since` (default: the last 24 h), newest first; with
        `undelivered`, only those some endpoint never received (a delivery failed or
        skipped)."""
        size = DEFAULT_PAGE_SIZE if limit is None else limit
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidRequestError(f"limit must be 1-{MAX_PAGE_SIZE}", field="limit")
        if cursor is not None and not ids.has_prefix(cursor, ids.EVENT):
            raise InvalidRequestError("cursor is not a cursor this list returned", field="cursor")
        start = (
            ms(since.timestamp())
            if since is not None
            else ms(self.clock.now() - DEFAULT_EVENTS_WINDOW_S)
        )
        async with self.db.transaction() as conn:
            rows = await self.queries.list_events(
                conn,
                account_id,
                since=start,
                undelivered=undelivered,
                limit=size + 1,
                before=cursor,
            )
        has_more = len(rows) > size
        rows = rows[:size]
        return Page(data=rows, has_more=has_more, next_cursor=rows[-1].id if has_more else None)


class DeliveryUseCases(UseCases):
    async def _insert_test_event(
        self,
        conn: Any,
        account_id: str,
        event_id: str,
        event_name: str,
        body: bytes,
        webhook_id: str,
    ) -> str:
        """Store a test event with its one delivery; returns the delivery id."""
        now = self._now()
        event = EventRow(
            id=event_id,
            account_id=account_id,
            type=event_name,
            body=body.decode(),
            is_test=True,
            created_at=now,
            # the caller's span (an instrumented API), parent of the attempt's span
            traceparent=self.tracing.current_traceparent(),
        )
        await self.store.events.insert(conn, [event])
        row = delivery_row(
            event_id, webhook_id, account_id, event_name, now, is_test=True, due=False
        )
        await self.store.deliveries.insert(conn, [row])
        return row.id

    # -- test events and resends ---------------------------------------------------------

    async def send_test(
        self, account_id: str, webhook_id: str, event_name: str, data: Any
    ) -> TestResult:
        event_type = get_event_type(event_name)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise InvalidRequestError("data must be a JSON object", field="data")
        payload = sample_payload(event_type, {k: v for k, v in data.items() if k != "eventId"})
        now_s = self.clock.now()
        event_id = ids.new_id(ids.EVENT, now_ms=ms(now_s))
        body = encode_event(event_id, event_type.name, payload, int(now_s))
        async with self.db.transaction() as conn:
            if await self.store.webhooks.get(conn, account_id, webhook_id) is None:
                raise NotFoundError(f"No webhook {webhook_id}", field="webhookId")
            delivery_id = await self._insert_test_event(
                conn, account_id, event_id, event_type.name, body, webhook_id
            )
            event = await self.store.events.get(conn, account_id, event_id)
        assert event is not None
        detail = await self._send_once(account_id, delivery_id, trigger=Trigger.TEST)
        return TestResult(success=detail.status == "delivered", event=event, delivery=detail)

    async def resend(self, account_id: str, delivery_id: str) -> DeliveryDetail:
        """Attempt the delivery again now, whatever its state; the answer shows the attempt."""
        return await self._send_once(account_id, delivery_id, trigger=Trigger.MANUAL)

    async def _send_once(
        self, account_id: str, delivery_id: str, *, trigger: Trigger
    ) -> DeliveryDetail:
        """One attempt of the delivery now, without retries, through the delivery path's
        attempt and record stages (a listen webhook's delivery is queued for its session)."""
        async with self.db.transaction() as conn:
            found = await self.store.deliveries.get(conn, account_id, delivery_id)
            if found is None:
                raise NotFoundError(f"No delivery {delivery_id}")
            delivery, body, traceparent = found
            target = await self.store.webhooks.endpoint(conn, delivery.webhook_id)
        assert target is not None
        if target.url.startswith(LISTEN_URL_PREFIX):
            # A listen session sends it: queue it for the session (or the next one).
            async with self.db.transaction() as conn:
                await self.store.listen.requeue(conn, delivery_id, self._now())
            return await self.get_delivery(account_id, delivery_id)
        claimed = as_claimed(delivery, body, target, traceparent)
        outcome = await attempt(self.context, claimed, AttemptMode(trigger, retries=False))
        if outcome.status == "failed" and delivery.status == "pending" and not delivery.is_test:
            # A failed manual attempt leaves a scheduled retry in place.
            due = delivery.next_attempt_at
            outcome = keep_schedule(outcome, ms(due.timestamp()) if due else self._now())
        await self.recorder.record([outcome])
        return await self.get_delivery(account_id, delivery_id)

    # -- delivery logs -------------------------------------------------------------------

    async def list_deliveries(
        self,
        account_id: str,
        webhook_id: str,
        *,
        status: str | None,
        event_type: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Delivery]:
        size = page_limit(limit)
        if event_type is not None:
            get_event_type(event_type, field="event")
        async with self.db.transaction() as conn:
            if await self.store.webhooks.get(conn, account_id, webhook_id) is None:
                raise NotFoundError(f"No webhook {webhook_id}")
            wanted = DeliveryFilter(account_id, webhook_id, status, event_type)
            before = check_cursor(cursor, ids.DELIVERY)
            rows = await self.store.deliveries.list(conn, wanted, size + 1, before)
        return page_of(rows, size)

    async def get_delivery(self, account_id: str, delivery_id: str) -> DeliveryDetail:
        async with self.db.transaction() as conn:
            found = await self.store.deliveries.get(conn, account_id, delivery_id)
            if found is None:
                raise NotFoundError(f"No delivery {delivery_id}")
            delivery, body, _traceparent = found
            attempts = await self.store.deliveries.attempts(conn, delivery_id, body)
        return DeliveryDetail(
            **delivery.model_dump(by_alias=False, exclude={"object"}),
            payload=canonical_json.loads_stored(body),  # as any version stored it
            attempts=attempts,
        )
