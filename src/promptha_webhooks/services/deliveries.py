"""Deliveries: test events and resends (one attempt now, through delivery/'s attempt and record
stages), the delivery log, an event's deliveries, and recovery: re-queue a webhook's failed or
skipped deliveries in a time window (with a dry run that only counts them), re-queue an
account's chosen failed deliveries (bulk resend: by id, or by time range a page at a time),
and search the account's events (reached as `services.recovery`)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from promptha_webhooks import canonical_json, ids
from promptha_webhooks.catalog import get_event_type, sample_payload
from promptha_webhooks.clock import Clock, ms
from promptha_webhooks.delivery.attempt import AttemptMode, Trigger, attempt, keep_schedule
from promptha_webhooks.delivery.claim import as_claimed
from promptha_webhooks.errors import ConflictError, InvalidRequestError, NotFoundError
from promptha_webhooks.models import (
    BulkResendResult,
    Delivery,
    DeliveryDetail,
    Event,
    EventDelivery,
    Page,
    RecoveryResult,
    ResendSkipReason,
    SkippedDelivery,
    TestResult,
)
from promptha_webhooks.pacing import is_paced
from promptha_webhooks.routing import WILDCARD, validate_event_pattern
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
from promptha_webhooks.store.recovery import EventSearch, FailedSelection, ResendCandidate

LISTEN_URL_PREFIX = "listen://"
DEFAULT_EVENTS_WINDOW_S = 24 * 3600
# A bulk resend: at most this many ids, and at most this many deliveries re-queued per call
# by time range (the answer says `more`: call again).
MAX_RESEND_IDS = 1000
MAX_RESEND_PAGE = 1000
DEFAULT_RESEND_PAGE = 100


@dataclass(frozen=True, slots=True)
class EventQuery:
    """A search of an account's events: one id, a type or a pattern (`fabric.*`), created in
    [since, until) (no id and no since: the 24 h before `until` or now), only those some
    endpoint never received; a page of `limit` after `cursor`."""

    event_id: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    undelivered: bool = False
    limit: int | None = None
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class ResendRequest:
    """A bulk resend: the deliveries named by `delivery_ids`, or else the account's failed (or
    skipped) ones created in [since, until), of one webhook or all of them, `limit` at most."""

    delivery_ids: Sequence[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    webhook_id: str | None = None
    limit: int | None = None


def check_time_range(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and until < since:
        raise InvalidRequestError("until must not be before since", field="until")


def _skip_reason(candidate: ResendCandidate | None) -> ResendSkipReason | None:
    """Why a named delivery is not re-queued, or None: it is."""
    if candidate is None:
        return "not_found"
    if candidate.is_test:
        return "test"
    if candidate.status == "delivered":
        return "delivered"
    if candidate.status == "pending":
        return "pending"
    if not candidate.webhook_enabled:
        return "webhook_disabled"
    return None


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
                    await self._requeued(conn, account_id, {webhook_id})
        if count and not dry_run and self.on_requeue is not None:
            self.on_requeue()
        return RecoveryResult(
            webhook_id=webhook_id, since=since, until=until, dry_run=dry_run, count=count
        )

    async def _requeued(self, conn: Any, account_id: str, webhook_ids: Collection[str]) -> None:
        """After re-queuing deliveries of these webhooks: each paced as its webhook is now
        (they were stored before its pacing may have changed), and the workers woken."""
        for webhook_id in sorted(webhook_ids):
            webhook = await self.store.webhooks.get(conn, account_id, webhook_id)
            if webhook is not None:
                paced = is_paced(webhook.rate_limit, webhook.ordering)
                await self.store.deliveries.repace(conn, webhook_id, paced)
        await self.db.dialect.notify_due(conn)

    async def resend_many(self, account_id: str, request: ResendRequest) -> BulkResendResult:
        """Re-queue failed or skipped deliveries as `recover` does, in one transaction: those
        named (each one not re-queued is reported with why; another account's is not found),
        or up to `limit` of those created in the time range (`more`: call again)."""
        now = ms(self.clock.now())
        if request.delivery_ids is not None:
            if request.since or request.until or request.webhook_id:
                raise InvalidRequestError(
                    "give deliveryIds, or a time range (since, until, webhookId), not both",
                    field="deliveryIds",
                )
            wanted = self._resend_ids(request.delivery_ids)
            async with self.db.transaction() as conn:
                found = await self.queries.resend_candidates(conn, account_id, wanted)
                skipped = [
                    SkippedDelivery(id=id, reason=reason)
                    for id in wanted
                    if (reason := _skip_reason(found.get(id))) is not None
                ]
                chosen = [id for id in wanted if _skip_reason(found.get(id)) is None]
                resent = await self.queries.requeue_ids(conn, chosen, now)
                if resent:
                    await self._requeued(conn, account_id, {found[id].webhook_id for id in chosen})
            self._wake(resent)
            return BulkResendResult(resent=resent, skipped=skipped, more=False, remaining=0)
        size = DEFAULT_RESEND_PAGE if request.limit is None else request.limit
        if not 1 <= size <= MAX_RESEND_PAGE:
            raise InvalidRequestError(f"limit must be 1-{MAX_RESEND_PAGE}", field="limit")
        check_time_range(request.since, request.until)
        selection = FailedSelection(
            account_id,
            since=ms(request.since.timestamp()) if request.since else None,
            until=ms(request.until.timestamp()) if request.until else None,
            webhook_id=request.webhook_id,
        )
        async with self.db.transaction() as conn:
            if request.webhook_id is not None:
                webhook = await self.store.webhooks.get(conn, account_id, request.webhook_id)
                if webhook is None:
                    raise NotFoundError(f"No webhook {request.webhook_id}", field="webhookId")
                if not webhook.enabled:
                    raise ConflictError(
                        f"webhook {request.webhook_id} is disabled ({webhook.disabled_reason}): "
                        'enable it first (PATCH {"enabled": true}), then resend'
                    )
            rows = await self.queries.failed_page(conn, selection, size)
            resent = await self.queries.requeue_ids(conn, [id for id, _ in rows], now)
            if resent:
                await self._requeued(conn, account_id, {webhook_id for _, webhook_id in rows})
            remaining = await self.queries.count_failed(conn, selection)
        self._wake(resent)
        return BulkResendResult(resent=resent, skipped=[], more=remaining > 0, remaining=remaining)

    @staticmethod
    def _resend_ids(delivery_ids: Sequence[str]) -> list[str]:
        if len(delivery_ids) > MAX_RESEND_IDS:
            raise InvalidRequestError(
                f"at most {MAX_RESEND_IDS} deliveryIds per call", field="deliveryIds"
            )
        if not delivery_ids:
            raise InvalidRequestError("deliveryIds must not be empty", field="deliveryIds")
        for index, id in enumerate(delivery_ids):
            if not isinstance(id, str) or not ids.has_prefix(id, ids.DELIVERY):
                raise InvalidRequestError(
                    "not a delivery id (dlv_…)", field=f"deliveryIds[{index}]"
                )
        return list(dict.fromkeys(delivery_ids))

    def _wake(self, resent: int) -> None:
        if resent and self.on_requeue is not None:
            self.on_requeue()

    async def list_events(self, account_id: str, query: EventQuery) -> Page[Event]:
        """The account's events the query selects, newest first."""
        size = DEFAULT_PAGE_SIZE if query.limit is None else query.limit
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidRequestError(f"limit must be 1-{MAX_PAGE_SIZE}", field="limit")
        if query.cursor is not None and not ids.has_prefix(query.cursor, ids.EVENT):
            raise InvalidRequestError("cursor is not a cursor this list returned", field="cursor")
        if query.event_id is not None and not ids.has_prefix(query.event_id, ids.EVENT):
            raise InvalidRequestError("not an event id (evt_…)", field="id")
        check_time_range(query.since, query.until)
        type_name = type_prefix = None
        if query.type is not None:
            pattern = validate_event_pattern(query.type, field="type")
            if pattern.endswith(".*"):
                type_prefix = pattern[:-1]
            elif pattern != WILDCARD:
                type_name = pattern
        start = ms(query.since.timestamp()) if query.since is not None else None
        end = ms(query.until.timestamp()) if query.until is not None else None
        if start is None and query.event_id is None:
            start = (end if end is not None else ms(self.clock.now())) - ms(DEFAULT_EVENTS_WINDOW_S)
        search = EventSearch(
            account_id,
            since=start,
            until=end,
            event_id=query.event_id,
            type_name=type_name,
            type_prefix=type_prefix,
            undelivered=query.undelivered,
        )
        async with self.db.transaction() as conn:
            rows = await self.queries.list_events(conn, search, size + 1, query.cursor)
        return page_of(rows, size)


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

    async def event_deliveries(
        self, account_id: str, event_id: str, *, limit: int | None, cursor: str | None
    ) -> Page[EventDelivery]:
        """The event's deliveries, one per webhook it went to, newest first."""
        size = page_limit(limit)
        before = check_cursor(cursor, ids.DELIVERY)
        async with self.db.transaction() as conn:
            if await self.store.events.get(conn, account_id, event_id) is None:
                raise NotFoundError(f"No event {event_id}")
            rows = await self.store.deliveries.of_event(
                conn, account_id, event_id, size + 1, before
            )
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
