"""Publishing: an event and one delivery per matching webhook, stored atomically.

Two ways to store, one result:
- PostgreSQL: one statement per publish (or per batch, or per group of publishes that waited
  for a statement together: group commit) on a pooled connection, no BEGIN/COMMIT round
  trips. The account's enabled webhooks are cached in-process with the account's
  `webhooks_version`, which a trigger bumps on every change that can alter fan-out; the
  statement stores nothing unless the version it reads is the one the cache was built from,
  so a webhook created or disabled on another API node is never missed (the cache reloads and
  the statement runs again). Idempotency keys are inserted in the same statement; any
  conflict (a replay, a race, an expired key) falls back to the transactional path.
- SQLite (and every fallback): one transaction that reads the account's `webhooks_version`
  (triggers bump it on SQLite too, migration 0015), takes the account's route table from the
  same cache while that version is current (else reads the webhooks and caches them again),
  checks idempotency keys and inserts with SQLAlchemy Core.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from promptha_webhooks import canonical_json, ids
from promptha_webhooks.catalog import EVENT_TYPES, get_event_type, validate_payload
from promptha_webhooks.clock import Clock, ms
from promptha_webhooks.config import Settings
from promptha_webhooks.delivery.handoff import (
    DeliveryHandOff,
    hand_over,
    mark_handed,
    unmark,
    wakes_claims,
)
from promptha_webhooks.errors import (
    ConflictError,
    ConstraintViolationError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PrompthaError,
)
from promptha_webhooks.models import Event, EventTypeInfo, from_ms
from promptha_webhooks.pacing import PaceOrder
from promptha_webhooks.routing import RouteTable
from promptha_webhooks.scheduling import deliver_at_ms, due_at_ms
from promptha_webhooks.services.base import UseCases
from promptha_webhooks.store import Database, Store
from promptha_webhooks.store.deliveries import DeliveryRow
from promptha_webhooks.store.errors import refuses_value
from promptha_webhooks.store.events import EventRow, IdempotencyKeyRow
from promptha_webhooks.store.publish_statement import (
    FanoutSnapshot,
    PublishRows,
    fanout_table,
    load_fanout,
    store_publish,
)
from promptha_webhooks.store.webhooks import FanoutTarget, HandOffEndpoint
from promptha_webhooks.tracing import Tracing

MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_BATCH_EVENTS = 1000
# Accounts whose fan-out is cached per process; beyond it the cache starts over (bounded).
FANOUT_CACHE_MAX_ACCOUNTS = 10_000
# How often the statement may find the cache stale in a row before the transactional path.
FANOUT_RELOADS = 3
# Publish statements (PostgreSQL) or transactions (SQLite, one writer) a process runs at once
# are the backend's (`Dialect.publish_statements`, store/backends/); more publishes wait and
# share the next one (group commit, see Publisher._in_group). While fewer than
# LARGE_GROUP_EVENTS events wait, fewer run (`Dialect.few_events_statements`).
LARGE_GROUP_EVENTS = 100
# An idempotency key is printable ASCII, as the IETF draft's sf-string: a header's other bytes
# are not text (they arrive as Latin-1 look-alikes), and the batch field follows the header.
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True, slots=True)
class PublishRequest:
    """One event to publish: its type, payload and optional idempotency key."""

    event: Any
    data: Any
    idempotency_key: str | None = None
    # RFC 3339 with an offset, at most 30 days ahead (scheduling.py); None: at once
    deliver_at: Any = None


# What storing one publish request gives: (event, replayed) per event, and how many
# deliveries are due.
Stored = tuple[list[tuple[Event, bool]], int]


@dataclass(frozen=True, slots=True)
class _Request:
    """One publish request's events, its time and its trace."""

    prepared: list[PreparedEvent]
    now_s: float
    trace: str | None


@dataclass(frozen=True, slots=True)
class _Waiting:
    """A publish waiting for a statement or transaction (group commit)."""

    request: _Request
    future: asyncio.Future[Stored | None]


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    name: str
    data: dict[str, Any]
    event_id: str
    body: bytes
    idempotency_key: str | None
    request_hash: str | None
    deliver_at: int | None = None  # Unix ms asked (scheduling.py); None: at once


def encode_event(event_id: str, event_name: str, data: dict[str, Any], timestamp: int) -> bytes:
    """The canonical JSON body every attempt of the event sends."""
    envelope = {"event": event_name, "data": {**data, "eventId": event_id}, "timestamp": timestamp}
    try:
        return canonical_json.dumps(envelope)
    except canonical_json.CanonicalJSONError as exc:
        field = exc.path if exc.path.startswith("data") else "data"
        raise InvalidRequestError(str(exc), field=field) from None


def delivery_row(
    event_id: str,
    webhook_id: str,
    account_id: str,
    event_name: str,
    now: int,
    *,
    is_test: bool,
    due: bool,
    status: str = "pending",
    pace_order: int | None = None,
    due_at: int | None = None,
) -> DeliveryRow:
    # Positional (the publish path: keywords cost a third more). Not due (NULL): attempted
    # by the API call itself (tests) or by a listen session. `due_at`: a scheduled
    # delivery's time (deliverAt, later than now); the claim leaves it until then.
    return DeliveryRow(
        ids.new_id(ids.DELIVERY, now_ms=now),
        event_id,
        webhook_id,
        account_id,
        event_name,
        status,
        (now if due_at is None else due_at) if due else None,  # next_attempt_at
        None,  # claim_token
        is_test,
        now,  # created_at
        pace_order,
    )


class Publisher:
    """`publish` and `publish_batch` of the service layer."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        store: Store,
        clock: Clock,
        on_publish: Callable[[], None] | None = None,
        tracing: Tracing | None = None,
        handoff: DeliveryHandOff | None = None,
    ) -> None:
        self.settings = settings
        self.db = database
        self.store = store
        self.clock = clock
        # Called once stored deliveries are due for a claim (wakes this process's dispatcher).
        self.on_publish = on_publish
        # This process's dispatcher, if it runs one: new deliveries go to it directly.
        self.handoff = handoff
        self.tracing = tracing or Tracing(settings.tracing)
        self._fanout: dict[str, FanoutSnapshot] = {}
        # Publish order of paced webhooks' deliveries, strictly increasing in this process.
        self.pace_order = PaceOrder()
        # Group commit (see _in_group).
        self._waiting: dict[str, deque[_Waiting]] = {}
        self._statements = 0
        self._max_statements = database.dialect.publish_statements
        self._few_events_statements = database.dialect.few_events_statements
        self._waiting_events = 0
        self._group_tasks: set[asyncio.Task[None]] = set()

    async def publish(
        self, account_id: str, requests: list[PublishRequest], *, batch: bool
    ) -> list[tuple[Event, bool]]:
        """Store the events and their deliveries: all or none. Returns (event, replayed) per
        request; replayed is True when an idempotency key was seen within its window and the
        earlier event is returned instead of a new one."""
        if batch:
            _check_batch(requests)
        now_s = self.clock.now()
        prepared: list[PreparedEvent] = []
        for index, request in enumerate(requests):
            if batch:
                self._check_event_size(index, request)
            try:
                prepared.append(self._prepare(request, now_s))
            except InvalidRequestError as exc:
                if not batch:
                    raise
                raise InvalidRequestError(
                    f"events[{index}]: {exc.message}", field=f"events[{index}].{exc.field}"
                ) from None
        if self.tracing.enabled:
            with self.tracing.publish(account_id, [p.name for p in prepared]) as span:
                results, due = await self._store(account_id, prepared, now_s, span.traceparent)
                span.stored(due)
        else:
            results, _due = await self._store(account_id, prepared, now_s, None)
        return results

    async def _store(
        self, account_id: str, prepared: list[PreparedEvent], now_s: float, trace: str | None
    ) -> Stored:
        request = _Request(prepared, now_s, trace)
        try:
            stored = await self._in_group(account_id, request)
        except ConstraintViolationError:
            stored = None  # (SQLite, alone in its group) decided below, as any fallback
        if stored is None:
            try:
                [stored] = await self._store_in_transaction(account_id, [request])
            except ConstraintViolationError:
                # Two constraints an insert can break: the foreign keys to the account (it does
                # not exist, or was deleted meanwhile), and an idempotency key another request
                # stored meanwhile. Which one is asked of the database, not guessed from the
                # request: a key sent to a missing account is a 404 like any other publish.
                if not await self._account_exists(account_id):
                    raise NotFoundError(f"No account {account_id}", field="account") from None
                if not any(p.idempotency_key for p in prepared):
                    raise
                # A concurrent request with the same key won the race: answer with its event.
                [stored] = await self._store_in_transaction(account_id, [request])
        return stored

    async def _account_exists(self, account_id: str) -> bool:
        async with self.db.transaction() as conn:
            return await self.store.accounts.get(conn, account_id) is not None

    def _check_event_size(self, index: int, request: PublishRequest) -> None:
        """A batch's events are held to the limit a single publish's body has: the whole batch
        may be larger (Settings.max_batch_body_bytes), each event may not. Measured as compact
        JSON with orjson before any other work on the event, so an oversize one costs little."""
        limit = self.settings.max_request_body_bytes
        try:
            size = len(orjson.dumps({"event": request.event, "data": request.data}))
        except (TypeError, orjson.JSONEncodeError):
            return  # not JSON at all: _prepare words the 400
        if size > limit:
            raise PayloadTooLargeError(
                f"events[{index}] is {size} bytes as JSON; each event of a batch may be at "
                f"most {limit} bytes",
                field=f"events[{index}]",
            )

    def _prepare(self, request: PublishRequest, now_s: float) -> PreparedEvent:
        event_type = get_event_type(request.event)
        data = request.data
        if not isinstance(data, dict):
            raise InvalidRequestError("data must be a JSON object", field="data")
        if "eventId" in data:
            raise InvalidRequestError(
                "data.eventId is assigned by the service", field="data.eventId"
            )
        validate_payload(event_type, data)
        requested = deliver_at_ms(request.deliver_at, now_s)
        key = request.idempotency_key
        if key is not None and (
            not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH or _NOT_PRINTABLE_ASCII.search(key)
        ):
            raise InvalidRequestError(
                f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII "
                "characters",
                field="Idempotency-Key",
            )
        event_id = ids.new_id(ids.EVENT, now_ms=ms(now_s))
        body = encode_event(event_id, event_type.name, data, int(now_s))
        request_hash = None
        if key is not None:
            # deliverAt is part of the request only when given: earlier keys' hashes hold
            hashed: dict[str, Any] = {"event": event_type.name, "data": data}
            if requested is not None:  # as asked: a replay of a past time is the same
                hashed["deliverAt"] = requested
            request_hash = hashlib.sha256(canonical_json.dumps(hashed)).hexdigest()
        due = due_at_ms(requested, now_s)
        return PreparedEvent(event_type.name, data, event_id, body, key, request_hash, due)

    # -- group commit ------------------------------------------------------------------------

    async def _in_group(self, account_id: str, request: _Request) -> Stored | None:
        """Store the request together with the others waiting: None when the transactional
        path must decide it alone (an idempotency conflict or replay in a shared statement,
        the fan-out changing under us again and again, the account gone).

        Group commit: while the dialect's publish_statements statements (PostgreSQL) or transactions
        (SQLite) are running, publishes wait, and the next one to start takes every waiting
        publish of one account (up to MAX_BATCH_EVENTS events, no idempotency key twice). A
        publish that arrives when one is free starts it at once, so a lone publish waits for
        nobody; under load one round trip and one commit (one WAL flush, one fsync) serve many
        requests. Each is still answered only once its rows are committed, and a group stores
        all of its publishes or none: when it cannot (an idempotency key seen before, a value
        refused), each of its publishes is decided alone on the transactional path.
        """
        waiting = _Waiting(request, asyncio.get_running_loop().create_future())
        self._waiting.setdefault(account_id, deque()).append(waiting)
        self._waiting_events += len(request.prepared)
        limit = (
            self._max_statements
            if self._waiting_events >= LARGE_GROUP_EVENTS
            else self._few_events_statements
        )
        if self._statements < limit:
            self._statements += 1
            task = asyncio.create_task(self._store_groups())
            self._group_tasks.add(task)
            task.add_done_callback(self._group_tasks.discard)
        return await waiting.future

    async def _store_groups(self) -> None:
        try:
            while self._waiting:
                account_id, group = self._take_group()
                requests = [waiting.request for waiting in group]
                try:
                    if self.db.dialect.publishes_in_one_statement:
                        stored = await self._store_in_one_statement(account_id, requests)
                    else:
                        stored = await self._store_group_in_transaction(account_id, requests)
                except BaseException as exc:
                    # A value the database refused (nothing was stored): each publish of a
                    # group is decided alone. Anything else (the connection lost, perhaps after
                    # the commit) is every member's answer, as it would be alone.
                    alone = refuses_value(exc) and len(group) > 1
                    for waiting in group:
                        if not waiting.future.done():
                            if alone:
                                waiting.future.set_result(None)
                            else:
                                waiting.future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for index, waiting in enumerate(group):
                    if not waiting.future.done():
                        waiting.future.set_result(None if stored is None else stored[index])
        finally:
            self._statements -= 1

    def _take_group(self) -> tuple[str, list[_Waiting]]:
        """The longest-waiting account's publishes, in order, up to MAX_BATCH_EVENTS events
        and with no idempotency key twice (the statement would store nothing)."""
        account_id = next(iter(self._waiting))
        queue = self._waiting.pop(account_id)
        group: list[_Waiting] = []
        events = 0
        keys: set[str] = set()
        while queue:
            prepared = queue[0].request.prepared
            own_keys = {p.idempotency_key for p in prepared if p.idempotency_key}
            if group and (events + len(prepared) > MAX_BATCH_EVENTS or own_keys & keys):
                break
            group.append(queue.popleft())
            events += len(prepared)
            keys |= own_keys
        self._waiting_events -= events
        if queue:
            self._waiting[account_id] = queue  # behind the other accounts now
        return account_id, group

    async def _store_group_in_transaction(
        self, account_id: str, requests: list[_Request]
    ) -> list[Stored] | None:
        """SQLite: the group in one transaction. A publish that fails it (an idempotency
        conflict, a constraint) rolls it back; then each is decided alone (None), unless it
        was alone, whose error is its answer."""
        try:
            return await self._store_in_transaction(account_id, requests)
        except PrompthaError:
            if len(requests) == 1:
                raise
            return None

    # -- PostgreSQL: one statement ----------------------------------------------------------

    async def _store_in_one_statement(
        self, account_id: str, requests: list[_Request]
    ) -> list[Stored] | None:
        async with self.db.driver_connection() as driver:
            snapshot = self._fanout.get(account_id)
            for _ in range(FANOUT_RELOADS):
                if snapshot is None:
                    snapshot = await load_fanout(driver, account_id)
                    if snapshot is None:
                        return None  # no such account: the transactional path says 404
                    self._remember(account_id, snapshot)
                rows = PublishRows()
                results: list[Stored] = []
                for request in requests:
                    own_rows, events, due = _fan_out(
                        account_id,
                        request.prepared,
                        snapshot.table,
                        request.now_s,
                        request.trace,
                        order=self.pace_order,
                    )
                    rows.extend(own_rows)
                    results.append(([(event, False) for event in events], due))
                handed = self._mark(rows)
                try:
                    outcome = await store_publish(
                        driver,
                        account_id,
                        snapshot.version,
                        rows,
                        list({row.webhook_id for row in handed}),
                        secrets=self.db.secrets,
                    )
                except BaseException:
                    self._unmark(handed)  # (stored after all? then its lease runs out)
                    raise
                if outcome.stored:
                    self._committed(requests, rows, handed, outcome.endpoints)
                    return results
                self._unmark(handed)
                if outcome.conflict or outcome.version is None:
                    return None
                snapshot = None  # webhooks changed since the cache was filled
        return None

    # -- after the commit: the dispatcher --------------------------------------------------

    def _mark(self, rows: PublishRows) -> list[DeliveryRow]:
        """Due delivery rows to store claimed by this process's dispatcher
        (delivery/handoff.py)."""
        if self.handoff is None:
            return []
        return mark_handed(self.handoff, rows.deliveries, rows.caps)

    def _unmark(self, handed: list[DeliveryRow]) -> None:
        if self.handoff is not None:
            unmark(self.handoff, handed)

    def _committed(
        self,
        requests: list[_Request],
        rows: PublishRows,
        handed: list[DeliveryRow],
        endpoints: dict[str, HandOffEndpoint],
    ) -> None:
        """The rows are committed: hand over what was marked, wake claims for the rest."""
        if self.handoff is not None and handed:
            events = {
                item.event_id: (item.body, request.trace)
                for request in requests
                for item in request.prepared
            }
            hand_over(self.handoff, handed, events, endpoints, rows.caps)
        if self.on_publish is not None and wakes_claims(rows.deliveries):
            self.on_publish()

    def _remember(self, account_id: str, snapshot: FanoutSnapshot) -> None:
        if len(self._fanout) >= FANOUT_CACHE_MAX_ACCOUNTS:
            self._fanout.clear()
        self._fanout[account_id] = snapshot

    # -- any backend: one transaction -------------------------------------------------------

    async def _store_in_transaction(
        self, account_id: str, requests: list[_Request]
    ) -> list[Stored]:
        """The requests' events in one transaction: replays of idempotency keys answered with
        the earlier event, the rest stored (the due deliveries the dispatcher has room for
        handed over to it once committed)."""
        stored: list[Stored] = []
        rows = PublishRows()
        handed: list[DeliveryRow] = []
        endpoints: dict[str, HandOffEndpoint] = {}
        try:
            async with self.db.transaction() as conn:
                stored = await self._store_requests(conn, account_id, requests, rows)
                if rows.events:
                    handed = self._mark(rows)
                    await self.store.events.insert(conn, rows.events)
                    await self.store.deliveries.insert(conn, rows.deliveries)
                    await self.store.idempotency.insert(conn, rows.keys)
                    if any(row.claim_token is None for row in rows.deliveries):
                        await self.db.dialect.notify_due(conn)
                    if handed:
                        endpoints = await self.store.webhooks.endpoints(
                            conn, list({row.webhook_id for row in handed})
                        )
        except BaseException:
            self._unmark(handed)
            raise
        self._committed(requests, rows, handed, endpoints)
        return stored

    async def _store_requests(
        self, conn: Any, account_id: str, requests: list[_Request], rows: PublishRows
    ) -> list[Stored]:
        """Each request's replays and fresh events; the rows of the fresh ones go to `rows`."""
        stored: list[Stored] = []
        targets: RouteTable[FanoutTarget] | None = None
        for request in requests:
            results: list[tuple[Event, bool] | None] = [None] * len(request.prepared)
            fresh: list[tuple[int, PreparedEvent]] = []
            for index, item in enumerate(request.prepared):
                if item.idempotency_key is not None and item.request_hash is not None:
                    replay = await self._idempotent_replay(
                        conn, account_id, item.idempotency_key, item.request_hash
                    )
                    if replay is not None:
                        results[index] = (replay, True)
                        continue
                fresh.append((index, item))
            due = 0
            if fresh:
                if targets is None:
                    targets = await self._fanout_in_transaction(conn, account_id)
                own_rows, events, due = _fan_out(
                    account_id,
                    [p for _, p in fresh],
                    targets,
                    request.now_s,
                    request.trace,
                    order=self.pace_order,
                )
                rows.extend(own_rows)
                for (index, _), event in zip(fresh, events, strict=True):
                    results[index] = (event, False)
            stored.append(([r for r in results if r is not None], due))
        return stored

    async def _fanout_in_transaction(self, conn: Any, account_id: str) -> RouteTable[FanoutTarget]:
        """The account's route table, from the cache while the account's `webhooks_version`
        (read here, in the publish transaction: one primary-key read) is the one it was built
        from; else its webhooks are read and compiled again, and cached.

        The version is read before the webhooks: a change committed between the two reads
        (PostgreSQL, READ COMMITTED) makes the table newer than its version, never older, and
        the next publish reads the bumped version and reloads. On SQLite the transaction holds
        the write lock from its BEGIN (IMMEDIATE): both reads and the inserts see one state."""
        version = await self.store.accounts.webhooks_version(conn, account_id)
        snapshot = self._fanout.get(account_id)
        if snapshot is not None and snapshot.version == version:
            return snapshot.table
        table = fanout_table(await self.store.webhooks.fanout_targets(conn, account_id))
        if version is not None:  # (no account: the insert's foreign key says so)
            self._remember(account_id, FanoutSnapshot(version, table))
        return table

    async def _idempotent_replay(
        self, conn: Any, account_id: str, key: str, request_hash: str
    ) -> Event | None:
        record = await self.store.idempotency.find(conn, account_id, key)
        if record is None:
            return None
        if record.created_at < ms(self.clock.now()) - ms(self.settings.idempotency_ttl_s):
            await self.store.idempotency.delete(conn, account_id, key)
            return None
        if record.request_hash != request_hash:
            raise ConflictError(
                "Idempotency-Key was already used with a different event or payload",
                field="Idempotency-Key",
            )
        return await self.store.events.get(conn, account_id, record.event_id)


def _check_batch(requests: list[PublishRequest]) -> None:
    if not 1 <= len(requests) <= MAX_BATCH_EVENTS:
        raise InvalidRequestError(f"events must hold 1-{MAX_BATCH_EVENTS} events", field="events")
    keys = [r.idempotency_key for r in requests if r.idempotency_key is not None]
    if len(keys) != len(set(keys)):
        raise InvalidRequestError(
            "idempotencyKey values must be unique within a batch", field="events"
        )


def _fan_out(
    account_id: str,
    prepared: list[PreparedEvent],
    targets: RouteTable[FanoutTarget],
    now_s: float,
    traceparent: str | None,
    *,
    order: PaceOrder,
) -> tuple[PublishRows, list[Event], int]:
    """The rows to insert for the events, the events as answered, and how many deliveries.
    `traceparent`: the publish span's, stored with every event (None: tracing off). `order`:
    the publish order given to a paced webhook's deliveries (pacing.py)."""
    now = ms(now_s)
    rows = PublishRows()
    answers: list[Event] = []
    due = 0
    for item in prepared:
        matching = targets.match(item.name, item.data)
        rows.events.append(
            EventRow(
                item.event_id,
                account_id,
                item.name,
                item.body.decode(),
                False,
                now,
                traceparent,
                item.deliver_at,
            )
        )
        # A deliverAt at or before now: due at once (scheduling.py)
        due_at = item.deliver_at if item.deliver_at is not None and item.deliver_at > now else None
        due += len(matching)
        rows.deliveries += [
            delivery_row(
                item.event_id,
                target.id,
                account_id,
                item.name,
                now,
                is_test=False,
                # listen sessions take their deliveries themselves, not the dispatcher
                due=target.kind == "http" and target.enabled,
                # kept for recovery while the webhook is disabled by its health
                status="pending" if target.enabled else "skipped",
                pace_order=order.next(now) if target.paced else None,
                due_at=due_at,
            )
            for target in matching
        ]
        for target in matching:
            rows.caps[target.id] = target.max_concurrency
        if item.idempotency_key is not None and item.request_hash is not None:
            rows.keys.append(
                IdempotencyKeyRow(
                    account_id=account_id,
                    key=item.idempotency_key,
                    event_id=item.event_id,
                    request_hash=item.request_hash,
                    created_at=now,
                )
            )
        answers.append(
            Event(
                id=item.event_id,
                account_id=account_id,
                event=item.name,
                data={**item.data, "eventId": item.event_id},
                timestamp=int(now_s),
                is_test=False,
                created_at=from_ms(now),
                delivery_count=len(matching),
                deliver_at=from_ms(item.deliver_at),
            )
        )
    return rows, answers, due


class PublishingUseCases(UseCases):
    publisher: Publisher

    def event_types(self) -> list[EventTypeInfo]:
        return [
            EventTypeInfo(
                name=t.name,
                group=t.group,
                description=t.description,
                schema=t.json_schema(),
                sample=t.sample,
            )
            for t in EVENT_TYPES
        ]

    async def publish(
        self,
        account_id: str,
        event_name: str,
        data: Any,
        *,
        idempotency_key: str | None = None,
        deliver_at: Any = None,
    ) -> tuple[Event, bool]:
        """Store the event and one delivery per matching webhook, atomically.

        Returns (event, replayed): replayed is True when the idempotency key was seen within
        its window and the earlier event is returned instead of a new one. `deliver_at`: an
        RFC 3339 time the deliveries wait for (scheduling.py).
        """
        request = PublishRequest(event_name, data, idempotency_key, deliver_at)
        [result] = await self.publisher.publish(account_id, [request], batch=False)
        return result

    async def publish_batch(
        self, account_id: str, requests: list[PublishRequest]
    ) -> list[tuple[Event, bool]]:
        """Publish up to MAX_BATCH_EVENTS events in one transaction: all are stored or none."""
        return await self.publisher.publish(account_id, requests, batch=True)

    async def get_event(self, account_id: str, event_id: str) -> Event:
        async with self.db.transaction() as conn:
            event = await self.store.events.get(conn, account_id, event_id)
        if event is None:
            raise NotFoundError(f"No event {event_id}")
        return event
