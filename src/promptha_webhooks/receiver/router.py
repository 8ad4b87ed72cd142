"""The router: verify a delivery, type its event, de-duplicate it, run its handler, answer.

``await hooks.handle(body, headers)`` returns a :class:`Response` following the guide's table:
200 processed (or duplicate, or no handler), 202 queued, 400 bad payload, 401 failed signature
check, 500 handler raised (the sender retries), 503 idempotency store or queue unavailable.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import secrets
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypeVar, cast, overload

from promptha_webhooks.catalog import (
    EVENT_NAMES,
    AskMessage,
    AskSessionCreated,
    AskSessionEnded,
    CreditsDepleted,
    CreditsLow,
    CreditsPurchased,
    EventPayload,
    FabricCompleted,
    FabricFailed,
    FabricStarted,
)
from promptha_webhooks.receiver.errors import (
    DuplicateHandlerError,
    EventInProgressError,
    InvalidPayloadError,
    ReceiverError,
    UnknownEventError,
)
from promptha_webhooks.receiver.events import (
    Delivery,
    Event,
    build_event,
    delivery_from_headers,
    parse_envelope,
)
from promptha_webhooks.receiver.idempotency import ClaimState, IdempotencyStore
from promptha_webhooks.receiver.queue import EventQueue, QueuedEvent
from promptha_webhooks.receiver.sync import LoopThread
from promptha_webhooks.receiver.verify import verify
from promptha_webhooks.signing import DEFAULT_TOLERANCE_S, VerificationError

__all__ = [
    "IN_PROGRESS_RETRY_AFTER_S",
    "Outcome",
    "Response",
    "Webhooks",
    "error_response",
]

logger = logging.getLogger("promptha_webhooks.receiver")

IN_PROGRESS_RETRY_AFTER_S = 5
"""``Retry-After`` (seconds) of the 503 answered while another request processes the event."""

R = TypeVar("R")
Handler = Callable[[Event[Any]], object]


class Outcome(StrEnum):
    """What happened to a delivery that was answered with a 2xx."""

    PROCESSED = "processed"
    """The handler ran and returned."""
    DUPLICATE = "duplicate"
    """The idempotency store says the event was handled already: the handler did not run."""
    IGNORED = "ignored"
    """No handler (and no default handler) for this event type."""
    QUEUED = "queued"
    """Stored in the queue; a worker runs the handler."""


@dataclass(frozen=True, slots=True)
class Response:
    """What to answer the sender: a status code, a small JSON body and headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})

    def json(self) -> Any:
        return json.loads(self.body)


def _json_response(status: int, document: dict[str, Any], **headers: str) -> Response:
    body = json.dumps(document, separators=(",", ":")).encode()
    return Response(status, body, {"content-type": "application/json", **headers})


def error_response(status: int, error_type: str, message: str, **headers: str) -> Response:
    return _json_response(status, {"error": {"type": error_type, "message": message}}, **headers)


def _is_async_callable(handler: object) -> bool:
    # Also callable objects whose __call__ is async.
    call = None if inspect.isroutine(handler) else type(handler).__call__
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(call)


class Webhooks:
    """Routes verified Promptha events to handlers.

    ``secret`` is the webhook's signing secret, or a list of them while rotating (any one
    verifies). ``tolerance`` bounds the timestamp's distance from now, in seconds.
    ``idempotency`` (an :class:`IdempotencyStore`) makes every event run its handler once;
    ``queue`` (an :class:`EventQueue`) switches to queue mode: answer 202, handle in a worker.
    """

    def __init__(
        self,
        secret: str | Sequence[str],
        *,
        tolerance: int = DEFAULT_TOLERANCE_S,
        idempotency: IdempotencyStore | None = None,
        queue: EventQueue | None = None,
    ) -> None:
        secrets_ = [secret] if isinstance(secret, str) else list(secret)
        if not secrets_ or not all(isinstance(s, str) and s for s in secrets_):
            raise ValueError("secret must be a non-empty string or a non-empty list of them")
        if tolerance < 0:
            raise ValueError(f"tolerance must not be negative, got {tolerance}")
        self._secrets = secrets_
        self.tolerance = tolerance
        self.idempotency = idempotency
        self.queue = queue
        self._handlers: dict[str, Handler] = {}
        self._default: Handler | None = None
        self._loop_thread: LoopThread | None = None
        self._loop_lock = threading.Lock()
        if queue is not None:
            queue.bind(self.process_queued)

    def __repr__(self) -> str:
        events = ", ".join(sorted(self._handlers))
        return f"Webhooks(secrets=<{len(self._secrets)} hidden>, handlers=[{events}])"

    # -- registration ------------------------------------------------------------------------

    @overload
    def on(
        self, event: Literal["fabric.started"]
    ) -> Callable[[Callable[[Event[FabricStarted]], R]], Callable[[Event[FabricStarted]], R]]: ...
    @overload
    def on(
        self, event: Literal["fabric.completed"]
    ) -> Callable[
        [Callable[[Event[FabricCompleted]], R]], Callable[[Event[FabricCompleted]], R]
    ]: ...
    @overload
    def on(
        self, event: Literal["fabric.failed"]
    ) -> Callable[[Callable[[Event[FabricFailed]], R]], Callable[[Event[FabricFailed]], R]]: ...
    @overload
    def on(
        self, event: Literal["ask.session.created"]
    ) -> Callable[
        [Callable[[Event[AskSessionCreated]], R]], Callable[[Event[AskSessionCreated]], R]
    ]: ...
    @overload
    def on(
        self, event: Literal["ask.message"]
    ) -> Callable[[Callable[[Event[AskMessage]], R]], Callable[[Event[AskMessage]], R]]: ...
    @overload
    def on(
        self, event: Literal["ask.session.ended"]
    ) -> Callable[
        [Callable[[Event[AskSessionEnded]], R]], Callable[[Event[AskSessionEnded]], R]
    ]: ...
    @overload
    def on(
        self, event: Literal["credits.low"]
    ) -> Callable[[Callable[[Event[CreditsLow]], R]], Callable[[Event[CreditsLow]], R]]: ...
    @overload
    def on(
        self, event: Literal["credits.depleted"]
    ) -> Callable[
        [Callable[[Event[CreditsDepleted]], R]], Callable[[Event[CreditsDepleted]], R]
    ]: ...
    @overload
    def on(
        self, event: Literal["credits.purchased"]
    ) -> Callable[
        [Callable[[Event[CreditsPurchased]], R]], Callable[[Event[CreditsPurchased]], R]
    ]: ...
    @overload
    def on(
        self, event: str
    ) -> Callable[[Callable[[Event[Any]], R]], Callable[[Event[Any]], R]]: ...

    def on(self, event: str) -> Callable[[Callable[[Event[Any]], R]], Callable[[Event[Any]], R]]:
        """Decorator: run the (sync or async) function for every ``event`` of this type.

        Raises UnknownEventError at once for a name the catalogue does not know, and
        DuplicateHandlerError if the event type has a handler already.
        """
        if event not in EVENT_NAMES:
            known = ", ".join(sorted(EVENT_NAMES))
            raise UnknownEventError(f"unknown event type {event!r}; known types: {known}")
        if event in self._handlers:
            raise DuplicateHandlerError(f"event type {event!r} already has a handler")

        def register(handler: Callable[[Event[Any]], R]) -> Callable[[Event[Any]], R]:
            if event in self._handlers:
                raise DuplicateHandlerError(f"event type {event!r} already has a handler")
            self._handlers[event] = handler
            return handler

        return register

    def default(
        self, handler: Callable[[Event[EventPayload]], R]
    ) -> Callable[[Event[EventPayload]], R]:
        """Decorator: run this function for event types without a handler, known or not."""
        if self._default is not None:
            raise DuplicateHandlerError("a default handler is registered already")
        self._default = handler
        return handler

    def handler_for(self, event: str) -> Handler | None:
        return self._handlers.get(event, self._default)

    # -- receiving ---------------------------------------------------------------------------

    async def handle(self, body: bytes | str, headers: Mapping[str, str]) -> Response:
        """Verify, parse and process one delivery; never raises, answers per the status table."""
        try:
            verify(body, headers, self._secrets, tolerance=self.tolerance)
        except VerificationError as exc:
            return error_response(401, "invalid_signature", str(exc))
        try:
            envelope = parse_envelope(body)
            event = build_event(envelope, delivery_from_headers(headers))
        except InvalidPayloadError as exc:
            return error_response(400, exc.error_type, exc.message)

        if self.handler_for(event.event) is None:
            logger.info("unhandled event %s %s", event.event, event.event_id)
            return self._ok(Outcome.IGNORED, event)
        try:
            if self.queue is not None:
                text = body if isinstance(body, str) else bytes(body).decode("utf-8")
                await self.queue.enqueue(_queued(text, event))
                return self._ok(Outcome.QUEUED, event, status=202)
            outcome = await self.process(event)
        except EventInProgressError as exc:
            return error_response(
                503, exc.error_type, exc.message, **{"retry-after": str(IN_PROGRESS_RETRY_AFTER_S)}
            )
        except ReceiverError as exc:
            logger.warning("cannot process %s %s: %s", event.event, event.event_id, exc)
            return error_response(exc.status_code, exc.error_type, exc.message)
        except Exception:
            trace_id = secrets.token_hex(8)
            logger.exception(
                "handler for %s %s failed (trace %s)", event.event, event.event_id, trace_id
            )
            return error_response(
                500, "handler_error", f"the event handler failed; trace id {trace_id}"
            )
        return self._ok(outcome, event)

    def _ok(self, outcome: Outcome, event: Event[Any], *, status: int = 200) -> Response:
        return _json_response(
            status, {"status": outcome.value, "event": event.event, "eventId": event.event_id}
        )

    async def process(self, event: Event[Any]) -> Outcome:
        """Run ``event``'s handler once per event id (when there is an idempotency store).

        Raises what the handler raised (after releasing the claim, so a retry runs it again),
        EventInProgressError while another processor holds the event, StoreUnavailableError.
        """
        handler = self.handler_for(event.event)
        if handler is None:
            return Outcome.IGNORED
        store = self.idempotency
        if store is None:
            await self._run(handler, event)
            return Outcome.PROCESSED
        claim = await store.claim(event.event_id)
        if claim.state is ClaimState.DONE:
            logger.info("duplicate event %s %s skipped", event.event, event.event_id)
            return Outcome.DUPLICATE
        if claim.state is ClaimState.IN_PROGRESS:
            raise EventInProgressError(
                f"event {event.event_id} is being processed by another request; retry shortly"
            )
        try:
            await self._run(handler, event)
        except BaseException:
            # Shielded: the release must happen even if this task is being cancelled.
            try:
                await asyncio.shield(store.release(claim))
            except ReceiverError as exc:
                logger.warning("could not release %s (it lapses by itself): %s", claim, exc)
            raise
        if not await store.complete(claim):
            logger.warning(
                "claim on %s lapsed while its handler ran; raise the claim TTL", event.event_id
            )
        return Outcome.PROCESSED

    async def process_queued(self, queued: QueuedEvent) -> None:
        """The worker's side of queue mode: type the queued event and process it.

        A body that no longer validates (handlers or catalogue changed since it was queued) is
        logged and dropped: retrying cannot fix it.
        """
        try:
            envelope = parse_envelope(queued.body)
            delivery = Delivery(queued.delivery_id, queued.attempt, queued.test)
            event = build_event(envelope, delivery)
        except InvalidPayloadError as exc:
            logger.error("dropping queued event %s: %s", queued.event_id, exc)
            return
        await self.process(event)

    async def _run(self, handler: Handler, event: Event[Any]) -> None:
        if _is_async_callable(handler):
            await cast(Awaitable[object], handler(event))
            return
        # Sync handlers may block (database calls, HTTP): keep them off the event loop.
        result = await asyncio.to_thread(handler, event)
        if inspect.isawaitable(result):
            await result

    # -- sync frameworks and lifecycle -------------------------------------------------------

    def handle_sync(self, body: bytes | str, headers: Mapping[str, str]) -> Response:
        """:meth:`handle` for sync frameworks (Flask, Django under WSGI), thread-safe.

        Every call runs on one event loop in a background thread owned by this router, so the
        idempotency store's and queue's connections stay on one loop. ``close()`` stops it.
        """
        with self._loop_lock:
            if self._loop_thread is None:
                self._loop_thread = LoopThread()
            loop_thread = self._loop_thread
        return loop_thread.run(self.handle(body, headers))

    async def aclose(self) -> None:
        """Close the idempotency store's and the queue's connections."""
        if self.idempotency is not None:
            await self.idempotency.aclose()
        if self.queue is not None:
            await self.queue.aclose()

    def close(self) -> None:
        """Close connections opened through :meth:`handle_sync` and stop its loop thread."""
        with self._loop_lock:
            loop_thread, self._loop_thread = self._loop_thread, None
        if loop_thread is not None:
            try:
                loop_thread.run(self.aclose())
            finally:
                loop_thread.stop()


def _queued(body: str, event: Event[Any]) -> QueuedEvent:
    return QueuedEvent(
        body=body,
        event=event.event,
        event_id=event.event_id,
        delivery_id=event.delivery.delivery_id,
        attempt=event.delivery.attempt,
        test=event.delivery.test,
    )
