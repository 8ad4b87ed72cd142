"""The attempt stage: build a delivery's request (headers, signature via signing.py), send it
through a Transport, and classify the answer into an AttemptOutcome: the attempt log's row and
the delivery's next state.

One path for every attempt: the worker's scheduled ones, resends, test events and listen
sessions (whose request the CLI replays and whose answer it reports: `outcome_of`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

import orjson

from promptha_webhooks import __version__, ids, retry, signing, signing_standard
from promptha_webhooks.clock import Clock, ms
from promptha_webhooks.config import Settings
from promptha_webhooks.delivery.broker_target import broker_target
from promptha_webhooks.delivery.transport import (
    OutboundRequest,
    Transport,
    TransportResponse,
)
from promptha_webhooks.errors import SecretUnavailableError
from promptha_webhooks.records import record
from promptha_webhooks.signature_headers import (
    ATTEMPT_HEADER,
    CONTROL_HEADER,
    DELIVERY_ID_HEADER,
    EVENT_HEADER,
    EVENT_ID_HEADER,
    PREVIOUS_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    STANDARD_ID_HEADER,
    STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER,
    TEST_HEADER,
    TIMESTAMP_HEADER,
    SignatureFormat,
)
from promptha_webhooks.store.dispatch_statements import AttemptRow, DeliveryUpdate
from promptha_webhooks.store.queries import ClaimedDelivery
from promptha_webhooks.tracing import Tracing
from promptha_webhooks.webhook_secrets import SigningSecrets, UnreadableSecrets

USER_AGENT = f"Promptha-Webhooks/{__version__}"
# Receiver delivery control: `abort` stops the retries of this delivery, `disable` also
# disables the webhook (health.py acts on it when the result is recorded).
CONTROL_ABORT = "abort"
CONTROL_DISABLE = "disable"
SKIPPED_ERROR = "webhook disabled"
# A delivery's last_error after a signature rejection it will retry (a rotation's grace period).
ROTATION_NOTE = "signature rejected during a secret rotation's grace period: retried"
# The webhook's stored secrets do not decrypt (a key missing from the ring): nothing is sent,
# never a request signed with garbage; retried on the schedule, as a failed send is.
NOT_SIGNED_ERROR = "not sent: the webhook's signing secret does not decrypt ({reason})"
# Likewise for the webhook's static custom headers (sealed like its secrets).
HEADERS_UNREADABLE_ERROR = (
    "not sent: the webhook's custom headers or proxy URL do not decrypt ({reason})"
)
# Likewise for a broker webhook's destination config (sealed like its secrets).
DESTINATION_UNREADABLE_ERROR = (
    "not sent: the webhook's destination config does not decrypt ({reason})"
)
# A stored broker config the broker package no longer accepts (after an upgrade, say).
DESTINATION_INVALID_ERROR = "not sent: the webhook's destination config is not valid ({reason})"


class Trigger(StrEnum):
    """Why an attempt was made (the attempt log's `trigger`)."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"
    TEST = "test"
    LISTEN = "listen"


@dataclass(frozen=True, slots=True)
class AttemptMode:
    """How attempts are made: `retries` False (resends, tests, listen) makes a failure final
    at once; `token` fences the outcome's write by the claim (None: unfenced)."""

    trigger: Trigger
    retries: bool = True
    token: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryContext:
    """What every attempt of a process needs, built once (from Settings)."""

    transport: Transport
    clock: Clock
    retry_schedule_s: tuple[float, ...]
    tracing: Tracing

    @classmethod
    def build(
        cls, settings: Settings, transport: Transport, clock: Clock, tracing: Tracing | None = None
    ) -> DeliveryContext:
        tracing = tracing or Tracing(settings.tracing)
        return cls(transport, clock, settings.retry_schedule_s, tracing)


@record
class AttemptOutcome:
    """An attempt made (or skipped): the row for the attempt log (None: skipped, no request),
    the delivery's next state, how the answer classified and the receiver's control answer."""

    delivery: ClaimedDelivery
    attempt: AttemptRow | None
    update: DeliveryUpdate
    outcome: retry.Outcome
    control: str | None = None  # the receiver's x-promptha-delivery answer (abort | disable)

    @property
    def status(self) -> str:
        return self.update.status


def delivery_headers(delivery: ClaimedDelivery, number: int, timestamp: int) -> dict[str, str]:
    """The request headers of attempt `number`, signed at `timestamp` (Unix seconds) in the
    webhook's format, with every secret that signs at that time (signature_headers.py).
    SecretUnavailableError when the webhook's secrets do not decrypt: nothing is signed."""
    secrets = delivery.signing
    if isinstance(secrets, UnreadableSecrets):
        raise SecretUnavailableError(secrets.reason)
    previous = secrets.previous_at(timestamp * 1000)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if secrets.format is SignatureFormat.STANDARD:
        live = (secrets.current,) if previous is None else (secrets.current, previous)
        headers[STANDARD_ID_HEADER] = delivery.event_id
        headers[STANDARD_TIMESTAMP_HEADER] = str(timestamp)
        headers[STANDARD_SIGNATURE_HEADER] = signing_standard.sign(
            live, delivery.event_id, timestamp, delivery.body
        )
    else:
        headers[TIMESTAMP_HEADER] = str(timestamp)
        headers[SIGNATURE_HEADER] = signing.sign(secrets.current, timestamp, delivery.body)
        if previous is not None:
            headers[PREVIOUS_SIGNATURE_HEADER] = signing.sign(previous, timestamp, delivery.body)
    headers[EVENT_HEADER] = delivery.event_type
    headers[EVENT_ID_HEADER] = delivery.event_id
    headers[DELIVERY_ID_HEADER] = delivery.id
    headers[ATTEMPT_HEADER] = str(number)
    if delivery.is_test:
        headers[TEST_HEADER] = "true"
    return headers


async def attempt(
    context: DeliveryContext, delivery: ClaimedDelivery, mode: AttemptMode
) -> AttemptOutcome:
    """Make the delivery's next attempt and work out its next state (in a span whose parent is
    the event's publish span, when tracing is on)."""
    if not context.tracing.enabled:
        return await _attempt(context, delivery, mode)
    tracing = context.tracing
    with tracing.attempt(
        delivery.traceparent,
        delivery_id=delivery.id,
        event_id=delivery.event_id,
        webhook_id=delivery.webhook_id,
        number=delivery.attempt_count + 1,
        trigger=mode.trigger.value,
    ) as span:
        outcome = await _attempt(context, delivery, mode)
        tracing.record_attempt(span, outcome)
    return outcome


async def _attempt(
    context: DeliveryContext, delivery: ClaimedDelivery, mode: AttemptMode
) -> AttemptOutcome:
    if isinstance(delivery.signing, UnreadableSecrets):
        return _not_sent(context, delivery, mode, NOT_SIGNED_ERROR, delivery.signing.reason)
    settings = delivery.settings
    if settings.unreadable is not None:
        return _not_sent(context, delivery, mode, HEADERS_UNREADABLE_ERROR, settings.unreadable)
    if settings.destination_unreadable is not None:
        reason = settings.destination_unreadable
        return _not_sent(context, delivery, mode, DESTINATION_UNREADABLE_ERROR, reason)
    broker = None
    if settings.destination is not None:
        target = broker_target(settings.destination)
        if isinstance(target, str):
            return _not_sent(context, delivery, mode, DESTINATION_INVALID_ERROR, target)
        broker, label = target
        # The attempt log names the broker destination (its password masked) as its URL.
        delivery = dataclasses.replace(delivery, url=label)
    headers = delivery_headers(delivery, delivery.attempt_count + 1, int(context.clock.now()))
    sent = headers
    if settings.headers:
        # The webhook's static headers go out; the attempt log keeps their names only (their
        # values are credentials). Their names never collide with ours (delivery_settings.py).
        sent = headers.copy()
        sent.update(settings.headers)
        headers.update(settings.masked_headers)
    request = OutboundRequest(
        delivery.url,
        delivery.body,
        sent,
        settings.timeout_s,
        settings.proxy,
        broker,
        message_id(delivery, mode),
    )
    response = await context.transport.send(request)
    return outcome_of(delivery, mode, headers, response, context)


def message_id(delivery: ClaimedDelivery, mode: AttemptMode) -> str:
    """A broker message's id, which brokers dedupe on (JetStream's Nats-Msg-Id): the event's
    id for scheduled attempts, so a retry after an unclear failure (a publish that arrived but
    whose ack was lost) is not stored twice; a manual resend is asked for on purpose, so it
    gets its own id (the event's, then `.resend-<attempt number>`)."""
    if mode.trigger is Trigger.MANUAL:
        return f"{delivery.event_id}.resend-{delivery.attempt_count + 1}"
    return delivery.event_id


def _not_sent(
    context: DeliveryContext,
    delivery: ClaimedDelivery,
    mode: AttemptMode,
    template: str,
    reason: str,
) -> AttemptOutcome:
    """No request: the secrets (or the custom headers) do not decrypt. Recorded as an attempt
    that got no answer, with the reason, so the delivery is retried on its schedule (the
    operator restores the key)."""
    error = template.format(reason=reason)
    response = TransportResponse(None, None, None, error, None, context.clock.now(), 0.0)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    return outcome_of(delivery, mode, headers, response, context)


def outcome_of(
    delivery: ClaimedDelivery,
    mode: AttemptMode,
    headers: dict[str, str],
    response: TransportResponse,
    context: DeliveryContext,
) -> AttemptOutcome:
    """Classify the answer to attempt `delivery.attempt_count + 1`, sent with `headers`."""
    number = delivery.attempt_count + 1
    outcome = (
        retry.classify_status(response.status)
        if response.status is not None
        else retry.Outcome.RETRY
    )
    # A 401/403 to a request signed during a rotation's grace period: the receiver may still
    # hold the previous secret (the guide's handler verifies only the primary signature, made
    # with the new one). Retried on the schedule, and kept ("parked") until the period ends
    # once the schedule is spent, so its owner's switch loses nothing.
    signing = delivery.signing  # never UnreadableSecrets here: those are not sent
    rejected_in_window = isinstance(signing, SigningSecrets) and signing.rejected_in_window(
        response.status, ms(response.started_at)
    )
    window_ends = signing.previous_expires_at if isinstance(signing, SigningSecrets) else None
    if rejected_in_window:
        outcome = retry.Outcome.RETRY
    now = context.clock.now()
    next_at: int | None = None
    if outcome is retry.Outcome.DELIVERED:
        status = "delivered"
    elif outcome is retry.Outcome.RETRY and mode.retries:
        schedule = delivery.settings.retry_schedule_s or context.retry_schedule_s
        delay = retry.next_delay(schedule, number, response.retry_after)
        if delay is not None:
            status = "pending"
            next_at = ms(now + delay)
        elif rejected_in_window:
            status = "pending"
            next_at = max(window_ends or 0, ms(now))
        else:
            status = "failed"
    else:
        status = "failed"
    error = response.error
    if error is None and outcome is not retry.Outcome.DELIVERED:
        error = f"HTTP {response.status}"
        if rejected_in_window and status == "pending":
            error += f"; {ROTATION_NOTE}"
    control = receiver_control(response.headers)
    attempt_error = response.error
    if control is not None:
        note = f"receiver answered {CONTROL_HEADER}: {control}"
        attempt_error = f"{attempt_error}; {note}" if attempt_error else note
        if status == "pending":
            status, next_at = "failed", None
            error = f"{error}; {note}" if error else note
    finished = ms(now)
    row = AttemptRow(
        ids.new_id(ids.ATTEMPT),
        delivery.id,
        number,
        mode.trigger.value,
        delivery.url,
        orjson.dumps(headers).decode(),
        response.status,
        orjson.dumps(response.headers).decode() if response.headers else None,
        response.body,
        round(response.duration_ms, 3),
        attempt_error,
        outcome.value,
        ms(response.started_at),
        finished,
        delivery.webhook_id,
    )
    update = DeliveryUpdate(
        delivery.id, mode.token, status, number, next_at, response.status, error, finished
    )
    return AttemptOutcome(delivery, row, update, outcome, control)


def skipped(delivery: ClaimedDelivery, mode: AttemptMode, now: int) -> AttemptOutcome:
    """No attempt: the webhook was disabled after the delivery was claimed."""
    update = DeliveryUpdate(
        delivery.id, mode.token, "skipped", delivery.attempt_count, None, None, SKIPPED_ERROR, now
    )
    return AttemptOutcome(delivery, None, update, retry.Outcome.PERMANENT)


def keep_schedule(outcome: AttemptOutcome, next_attempt_at: int) -> AttemptOutcome:
    """The outcome with the delivery left pending, due at `next_attempt_at` (a failed manual
    attempt leaves a scheduled retry in place)."""
    update = dataclasses.replace(outcome.update, status="pending", next_attempt_at=next_attempt_at)
    return dataclasses.replace(outcome, update=update)


def receiver_control(headers: dict[str, str] | None) -> str | None:
    """`abort` or `disable` when the receiver's answer asks for it, else None."""
    if not headers:
        return None
    value = headers.get(CONTROL_HEADER, "").strip().lower()
    return value if value in (CONTROL_ABORT, CONTROL_DISABLE) else None
