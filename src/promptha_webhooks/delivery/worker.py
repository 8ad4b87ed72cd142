"""The worker's loop: claim (claim.py) due deliveries under a lease, attempt (attempt.py) each,
bounded in total and per webhook, and record (record.py) the outcomes in batches, one
transaction per batch.

Crash safety comes from the lease: a claimed delivery is due again when its lease runs out, so a
worker killed at any moment loses nothing (the receiver may see an in-flight attempt twice).
On stop, the worker stops claiming, lets in-flight attempts finish within the grace period,
then hands the rest back (due at once) before exiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections import defaultdict, deque

from promptha_webhooks.clock import Clock, SystemClock, ms
from promptha_webhooks.config import Settings
from promptha_webhooks.delivery.attempt import (
    AttemptMode,
    AttemptOutcome,
    DeliveryContext,
    Trigger,
    attempt,
    skipped,
)
from promptha_webhooks.delivery.claim import ClaimedDelivery, Claims, PacedRoom
from promptha_webhooks.delivery.observe import Observer
from promptha_webhooks.delivery.record import Recorder
from promptha_webhooks.delivery.transport import Transport
from promptha_webhooks.store import Database, dispatch_statements
from promptha_webhooks.store.errors import DRIVER_ERRORS
from promptha_webhooks.tracing import Tracing

logger = logging.getLogger(__name__)

# The database unreachable, busy or refusing: the loops log it and try again.
_DATABASE_ERRORS: tuple[type[Exception], ...] = (*DRIVER_ERRORS, OSError)
RESULT_BATCH_MAX = 2048  # results per write (a statement and its transaction)
# Claim again once a quarter of the sending slots are free (not one claim per freed slot).
CLAIM_LOW_WATER_DIVISOR = 4
RESULT_GATHER_S = 0.05
# Fewer results than this waiting after a write: a trickle, gathered for RESULT_GATHER_S before
# the next write. (Gathering only when none waited wrote 100 small batches a second at 1,000
# deliveries/s: those that ended during each write.)
RESULT_TRICKLE = 64
# On stop, how long to wait for publishes that reserved hand-offs to hand them over (their
# deliveries are then released with the other unsent ones; later ones wait for their lease).
HANDOFF_STOP_WAIT_S = 5.0
DB_RETRY_DELAY_S = 0.5
# The paced claim (rate limits, FIFO) runs at most this often, and this often while it finds
# deliveries to take (a rate-limited webhook's next slots come within RATE_HORIZON_MS).
PACED_TICK_S = 0.05
DB_RETRY_DELAY_MAX_S = 5.0


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        transport: Transport,
        *,
        clock: Clock | None = None,
        observer: Observer | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.settings = settings
        self.db = database
        self.transport = transport
        self.clock = clock or SystemClock()
        self.token = f"{os.getpid()}-{secrets.token_hex(6)}"
        self.claims = Claims(database, self.token, settings.lease_s, self.clock)
        self.traits = dispatch_statements.traits(database.backend)
        # Set by a publish in this process and after every written batch of results (slots
        # freed): either may make more deliveries claimable before the next poll.
        self._wake = asyncio.Event()
        # The same for the paced claim's loop (_paced_loop): publishes, written results.
        self._paced_wake = asyncio.Event()
        self._stopping = False
        self._results: asyncio.Queue[AttemptOutcome] = asyncio.Queue()
        self._claimed: dict[str, ClaimedDelivery] = {}  # held by this worker, not yet recorded
        # Claimed and not yet sent: attempting (at most max_in_flight), waiting for a sending
        # slot (at most one claim batch ahead, so a slow claim never leaves the slots idle) or
        # for a per-webhook slot. Slots free up as attempts end, not as results are written,
        # so the receivers keep getting requests while earlier results are being recorded.
        self._unsent = 0
        self._attempting = 0
        self._ready: deque[ClaimedDelivery] = deque()  # waiting for a sending slot
        self._claim_batch = settings.claim_batch_size or self.traits.claim_batch
        self._waiting_results_factor = self.traits.waiting_results_factor
        self._low_water = min(
            self._claim_batch, max(1, settings.max_in_flight // CLAIM_LOW_WATER_DIVISOR)
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._active_per_webhook: dict[str, int] = defaultdict(int)
        # A rate-limited webhook's last start in this worker, (its slot, when it started), ms:
        # a late start keeps the spacing of the slots (_wait_for_slot).
        self._paced_starts: dict[str, tuple[int, int]] = {}
        # Each webhook's concurrency cap, as its latest delivery here carried it (cap()).
        self._caps: dict[str, int] = {}
        self._waiting: dict[str, deque[ClaimedDelivery]] = defaultdict(deque)
        self._loop_tasks: list[asyncio.Task[None]] = []
        # Deliveries asked for by claims in flight, and whether the last claim came back full
        # (a backlog: on PostgreSQL a second claim loop then overlaps its round trip with the
        # first's, since under load a claim's answer waits behind a whole burst of attempts).
        self._claiming = 0
        self._backlog = False
        # Whether the claim loop waits for room (free slots, written results) rather than for
        # work, and the webhooks its last claim left out (at their concurrency cap): attempts
        # ending and results written wake it only then, so a trickle costs no empty claims.
        self._starved = False
        self._excluded: frozenset[str] = frozenset()
        # Hand-offs (see reserve): accepted between start and stop; sending slots promised to
        # publishes whose statements are running, in all and per webhook.
        self._running = False
        self._reserved = 0
        self._reserved_per_webhook: dict[str, int] = defaultdict(int)
        self._reservations_done = asyncio.Event()
        self._reservations_done.set()
        self._writer_task: asyncio.Task[None] | None = None
        self._lease_task: asyncio.Task[None] | None = None
        self._listener = dispatch_statements.due_listener(database, self.notify)
        self.last_loop_at = 0.0
        # Health, alerts, metrics and attempt logs around each recorded batch (observe.py).
        self.observer = observer or Observer(settings, database)
        # Off: one attribute check per attempt (tracing.py).
        self.tracing = tracing or Tracing(settings.tracing)
        self.context = DeliveryContext.build(settings, transport, self.clock, self.tracing)
        self.mode = AttemptMode(Trigger.SCHEDULED, retries=True, token=self.token)
        self.recorder = Recorder(database, self.observer, self.clock)
        self.last_loop_monotonic = time.monotonic()  # readiness: is the claim loop alive?

    # -- lifecycle -----------------------------------------------------------------------

    def notify(self) -> None:
        """Wake the claim loops (called after a publish in this process)."""
        self._wake.set()
        self._paced_wake.set()

    async def start(self) -> None:
        self._running = True
        self._writer_task = asyncio.create_task(self._write_loop(), name="dispatcher-writer")
        loops = self.traits.claim_loops
        self._loop_tasks = [
            asyncio.create_task(self._claim_loop(first=i == 0), name=f"dispatcher-claims-{i}")
            for i in range(loops)
        ]
        self._loop_tasks.append(asyncio.create_task(self._paced_loop(), name="dispatcher-paced"))
        self._lease_task = asyncio.create_task(self._lease_loop(), name="dispatcher-leases")
        if self._listener is not None:
            self._listener.start()

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop claiming, let in-flight attempts finish within the grace, release the rest."""
        grace = self.settings.shutdown_grace_s if grace_s is None else grace_s
        self._stopping = True
        self._running = False
        self._wake.set()
        self._paced_wake.set()
        # Publishes holding reservations end within a statement's time; what they hand over
        # after this is held unsent and released below with the rest.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._reservations_done.wait(), HANDOFF_STOP_WAIT_S)
        if self._listener is not None:
            await self._listener.stop()
        for loop_task in self._loop_tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task
        if self._lease_task is not None:
            self._lease_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lease_task
        # Deliveries still waiting for a slot were never attempted: hand back now.
        for waiting in self._waiting.values():
            self._unsent -= len(waiting)
        self._waiting.clear()
        self._unsent -= len(self._ready)
        self._ready.clear()
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await self._results.join()
        if self._writer_task is not None:
            self._writer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer_task
        await self._release_unfinished()

    async def _release_unfinished(self) -> None:
        if not self._claimed:
            return
        ids = list(self._claimed)
        try:
            released = await self.claims.release(ids)
            logger.info("released %d claimed deliveries on shutdown", released)
        except _DATABASE_ERRORS as exc:
            logger.warning(
                "could not release %d claims (%s); their lease will expire", len(ids), exc
            )
        self._claimed.clear()

    def _now(self) -> int:
        return ms(self.clock.now())

    @property
    def in_flight(self) -> int:
        """Attempts being made now (at most max_in_flight)."""
        return self._attempting

    # -- hand-off from publishes in this process ---------------------------------------------

    def cap(self, max_concurrency: int | None) -> int:
        """The effective cap of a webhook whose `maxConcurrency` is `max_concurrency` (None:
        `per_webhook_concurrency`), never above this worker's `max_in_flight`."""
        value = (
            self.settings.per_webhook_concurrency if max_concurrency is None else max_concurrency
        )
        return min(value, self.settings.max_in_flight)

    def _learn_cap(self, delivery: ClaimedDelivery) -> int:
        """The delivery's webhook's cap, remembered for the claim's exclusion list."""
        cap = self.cap(delivery.max_concurrency)
        self._caps[delivery.webhook_id] = cap
        return cap

    def reserve(self, webhook_id: str, max_concurrency: int | None = None) -> bool:
        """May a publish in this process hand a new due delivery of the webhook straight to this
        dispatcher? If so, the publish stores it already claimed by this worker (`token`,
        leased until `lease_until`) and passes it to `take` once committed, or gives the
        reservation back with `release`: no claim statement, no wake-up, no round trip.

        Only while a sending slot is free now and the webhook is below its concurrency cap
        (`max_concurrency`, the webhook's; None: the default, see `cap`), and
        not during a backlog (the last claim came back full), so a hand-off never jumps ahead of
        deliveries already waiting in the database. A delivery handed over is as safe as a
        claimed one: if this process dies, its lease runs out and any worker claims it."""
        if (
            not self._running
            or self._backlog
            # (not counting claims in flight: at a trickle they ask for a batch and get none;
            # when they do bring some, those wait for a slot, within the claim's read-ahead)
            or self._unsent + self._reserved >= self.settings.max_in_flight
            or self._active_per_webhook.get(webhook_id, 0)
            + self._reserved_per_webhook.get(webhook_id, 0)
            >= self.cap(max_concurrency)
        ):
            return False
        self._reserved += 1
        self._reserved_per_webhook[webhook_id] += 1
        self._reservations_done.clear()
        return True

    def lease_until(self, now: int) -> int:
        """The lease a delivery handed over at `now` (ms) is stored with."""
        return self.claims.lease_until(now)

    def release(self, webhook_ids: list[str]) -> None:
        """Reservations whose deliveries were not stored (or not as handed over)."""
        for webhook_id in webhook_ids:
            self._unreserve(webhook_id)

    def take(self, deliveries: list[ClaimedDelivery]) -> None:
        """Deliveries a publish stored claimed by this worker, now committed: attempt them as
        if claimed. After stop began they are only held, and released with the rest."""
        self.observer.handed_off(len(deliveries))
        for delivery in deliveries:
            self._unreserve(delivery.webhook_id)
            self._claimed[delivery.id] = delivery
            if not self._stopping:
                self._unsent += 1
                self._dispatch(delivery)

    def _unreserve(self, webhook_id: str) -> None:
        self._reserved -= 1
        left = self._reserved_per_webhook[webhook_id] - 1
        if left > 0:
            self._reserved_per_webhook[webhook_id] = left
        else:
            del self._reserved_per_webhook[webhook_id]
        if not self._reserved:
            self._reservations_done.set()

    def _capacity(self) -> int:
        """Deliveries this worker may claim now: free sending slots plus one claim batch of
        read-ahead, and at most WAITING_RESULTS_FACTOR × max_in_flight results waiting to be
        written (memory stays bounded whatever the backlog, and when the database is slow)."""
        limit = self.settings.max_in_flight
        unrecorded = len(self._claimed) - self._unsent
        return min(
            limit + self._claim_batch - self._unsent,
            self._waiting_results_factor * limit - unrecorded,
        )

    # -- claiming ------------------------------------------------------------------------

    async def _claim_loop(self, *, first: bool) -> None:
        """Claim while there is room. The first loop claims at any rate; the others join in
        only while claims come back full (a backlog), so a trickle costs one claim, not two."""
        delay = DB_RETRY_DELAY_S
        while not self._stopping:
            self.last_loop_at = self.clock.now()
            self.last_loop_monotonic = time.monotonic()
            capacity = self._capacity() - self._claiming - self._reserved
            self._wake.clear()  # before claiming: a publish during the claim is not lost
            coming = self._unsent + self._claiming + self._reserved
            if (
                (not first and not self._backlog)
                or capacity <= 0
                or (capacity < self._low_water and coming > 0)
            ):
                # Wait for free slots (attempts ending, results written) or the poll.
                if first:
                    self._starved = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval_s)
                continue
            if first:
                self._starved = False
            limit = min(capacity, self._claim_batch)
            self._claiming += limit
            try:
                claimed = await self._claim(limit)
                delay = DB_RETRY_DELAY_S
            except _DATABASE_ERRORS as exc:
                logger.warning("claim failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, DB_RETRY_DELAY_MAX_S)
                continue
            except Exception:
                # The loop must outlive any one failure, or this worker silently stops sending.
                logger.exception("unexpected error while claiming; retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, DB_RETRY_DELAY_MAX_S)
                continue
            finally:
                self._claiming -= limit
            self._backlog = len(claimed) == limit
            self._unsent += len(claimed)
            for delivery in claimed:
                self._claimed[delivery.id] = delivery
                self._dispatch(delivery)
            if not self._backlog:
                # Nothing more is due right now: wait for a publish, freed slots or the poll.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval_s)

    def _saturated(self) -> list[str]:
        """Webhooks at their concurrency cap here (left out of claims)."""
        default = self.cap(None)
        return [w for w, n in self._active_per_webhook.items() if n >= self._caps.get(w, default)]

    async def _claim(self, limit: int) -> list[ClaimedDelivery]:
        saturated = self._saturated()
        self._excluded = frozenset(saturated)
        started = time.perf_counter()
        claimed = await self.claims.claim(limit, saturated)
        self.observer.claimed(time.perf_counter() - started, len(claimed))
        return claimed

    def _paced_room(self) -> PacedRoom:
        """This worker's room per webhook: a rate-limited delivery is claimed only when it can
        take a sending slot at once, so it starts at its rate slot, never bunched up behind
        the webhook's cap."""
        busy = dict(self._active_per_webhook)
        for webhook_id, waiting in self._waiting.items():
            busy[webhook_id] = busy.get(webhook_id, 0) + len(waiting)
        return PacedRoom(self.cap(None), self.settings.max_in_flight, busy)

    async def _paced_loop(self) -> None:
        """Claim paced webhooks' deliveries (rate limit, FIFO: claim_paced): the ordinary
        claim never takes them. Woken by publishes and written results (a FIFO webhook's next
        delivery may start), at most every PACED_TICK_S; every PACED_TICK_S while it finds
        some (a rate limit's next slots), else at the poll interval."""
        delay = DB_RETRY_DELAY_S
        found = False
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._paced_wake.wait(),
                    PACED_TICK_S if found else self.settings.poll_interval_s,
                )
            if self._stopping:
                break
            self._paced_wake.clear()
            limit = min(self._capacity() - self._claiming - self._reserved, self._claim_batch)
            found = False
            if limit > 0:
                self._claiming += limit
                try:
                    claimed = await self.claims.claim_paced(
                        limit, self._saturated(), self._paced_room()
                    )
                    delay = DB_RETRY_DELAY_S
                except Exception as exc:  # the loop must outlive any one failure
                    logger.warning("paced claim failed (%s); retrying in %.1f s", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, DB_RETRY_DELAY_MAX_S)
                    continue
                finally:
                    self._claiming -= limit
                found = bool(claimed)
                self._unsent += len(claimed)
                for delivery in claimed:
                    self._claimed[delivery.id] = delivery
                    self._dispatch(delivery)
            await asyncio.sleep(PACED_TICK_S)

    def _dispatch(self, delivery: ClaimedDelivery) -> None:
        if self._active_per_webhook[delivery.webhook_id] >= self._learn_cap(delivery):
            self._waiting[delivery.webhook_id].append(delivery)
            return
        if self._attempting >= self.settings.max_in_flight:
            self._ready.append(delivery)
            return
        self._start(delivery)

    def _start(self, delivery: ClaimedDelivery) -> None:
        self._take_slot(delivery)
        task = asyncio.create_task(self._attempts(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _take_slot(self, delivery: ClaimedDelivery) -> None:
        self._attempting += 1
        self._active_per_webhook[delivery.webhook_id] += 1

    async def _lease_loop(self) -> None:
        """Renew the lease of every delivery this worker holds, a third of a lease apart, so a
        delivery waiting behind a slow webhook's concurrency cap is not claimed twice."""
        interval = self.settings.lease_s / 3
        while True:
            await asyncio.sleep(interval)
            held = list(self._claimed)
            if not held:
                continue
            try:
                await self.claims.extend(held)
            except _DATABASE_ERRORS as exc:
                logger.warning("lease renewal failed (%s); will retry", exc)

    # -- attempting ----------------------------------------------------------------------

    async def _attempts(self, delivery: ClaimedDelivery | None) -> None:
        """A sending slot's task: attempt the delivery, then go on with the next one the freed
        slot goes to, if any (a task per slot busy spell, not one per attempt)."""
        while delivery is not None:
            try:
                await self._attempt(delivery)
            finally:
                delivery = self._finish(delivery.webhook_id)

    async def _attempt(self, delivery: ClaimedDelivery) -> None:
        try:
            if delivery.not_before is not None:
                # A rate-limited webhook's delivery: not before its slot (claim_paced).
                await self._wait_for_slot(delivery.webhook_id, delivery.not_before)
            if delivery.webhook_enabled:
                outcome = await attempt(self.context, delivery, self.mode)
            else:
                outcome = skipped(delivery, self.mode, self._now())
            self._results.put_nowait(outcome)
        except Exception:
            # Stop renewing its lease: the delivery becomes due again when the lease lapses.
            logger.exception("attempt of %s failed unexpectedly", delivery.id)
            self._claimed.pop(delivery.id, None)

    async def _wait_for_slot(self, webhook_id: str, slot: int) -> None:
        """Wait for a rate-limited delivery's slot (ms). Late (the loop was busy past several
        slots), it still keeps the gap to the slot this worker last started for the webhook,
        so deliveries that fell behind go out spaced as their slots were, not together."""
        while True:
            start_at = slot
            previous = self._paced_starts.get(webhook_id)
            if previous is not None and slot > previous[0]:
                start_at = max(slot, previous[1] + (slot - previous[0]))
            wait_ms = start_at - self._now()
            if wait_ms <= 0:
                break
            await asyncio.sleep(wait_ms / 1000)
        self._paced_starts[webhook_id] = (slot, self._now())

    def _finish(self, webhook_id: str) -> ClaimedDelivery | None:
        """An attempt ended: its sending slot goes to the same webhook's next waiting delivery,
        else to the oldest one waiting for a slot whose webhook has room. Returns that delivery
        (its slot taken) for the ending attempt's task to go on with, or None."""
        self._unsent -= 1
        self._attempting -= 1
        self._active_per_webhook[webhook_id] -= 1
        waiting = self._waiting.get(webhook_id)
        following: ClaimedDelivery | None = None
        if not self._stopping:
            if waiting:
                following = waiting.popleft()
            else:
                while self._ready:
                    delivery = self._ready.popleft()
                    if self._active_per_webhook[delivery.webhook_id] >= self._learn_cap(delivery):
                        self._waiting[delivery.webhook_id].append(delivery)
                        continue
                    following = delivery
                    break
        if following is not None:
            self._take_slot(following)
        if not waiting:
            self._waiting.pop(webhook_id, None)
        if self._active_per_webhook[webhook_id] <= 0:
            del self._active_per_webhook[webhook_id]
            if webhook_id not in self._waiting:
                self._caps.pop(webhook_id, None)  # learned again from its next delivery
        if (self._starved and self._capacity() >= self._low_water) or (
            webhook_id in self._excluded
        ):
            # Room for the claim loop waiting for it, or the webhook the last claim left out
            # (its due deliveries are still in the database).
            self._wake.set()
        return following

    # -- recording -----------------------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._results.get()]
            if self._results.qsize() < RESULT_TRICKLE and not self._stopping:
                # A trickle of results: gather RESULT_GATHER_S' worth per statement. The
                # receivers already have them; only the log and the next state wait.
                await asyncio.sleep(RESULT_GATHER_S)
            while len(batch) < RESULT_BATCH_MAX and not self._results.empty():
                batch.append(self._results.get_nowait())
            await self._write(batch)
            for _ in batch:
                self._results.task_done()
            if self._starved:
                self._wake.set()  # written results make room for claims
            # A FIFO webhook's next delivery may start once its previous one is recorded.
            self._paced_wake.set()

    async def _write(self, batch: list[AttemptOutcome]) -> None:
        delay = DB_RETRY_DELAY_S
        while True:
            try:
                notices = await self.recorder.write(batch)
                break
            except Exception as exc:  # any failure: keep the results and retry the batch
                if self._stopping and delay >= DB_RETRY_DELAY_MAX_S:
                    logger.error("dropping %d results on shutdown: %s", len(batch), exc)
                    return
                logger.warning("recording results failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, DB_RETRY_DELAY_MAX_S)
        for outcome in batch:
            self._claimed.pop(outcome.update.delivery_id, None)
        if notices:
            self._wake.set()  # alert events may have deliveries due now
        self.observer.recorded(batch, notices)
