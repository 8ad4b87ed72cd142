"""Listen sessions: the local-development tunnel behind `promptha-webhooks listen`.

A session is a webhook of kind `listen` (url `listen://<device>`) that an account's events fan
out to like any other. Its deliveries are never due for the workers; instead the API process
holding the session's stream takes them, signs each attempt and streams it to the CLI, which
replays it to the developer's local URL and reports the local answer back. That answer is
recorded as an attempt in the delivery log, like any other.

One session holds a device's stream at a time. A second `listen` on the same device takes it
over (the webhook's `listen_session`); the first learns it at its next poll (`take` raises
SessionEnded), its stream says so and ends, and what it took but never reported waits for the
new session.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from promptha_webhooks import ids
from promptha_webhooks.catalog import EVENT_TYPES
from promptha_webhooks.clock import ms
from promptha_webhooks.delivery.attempt import (
    AttemptMode,
    Trigger,
    delivery_headers,
    outcome_of,
)
from promptha_webhooks.delivery.claim import as_claimed
from promptha_webhooks.delivery.transport import TransportResponse, receiver_text
from promptha_webhooks.errors import InvalidRequestError, NotFoundError, SecretUnavailableError
from promptha_webhooks.models import DeliveryDetail
from promptha_webhooks.services import Services
from promptha_webhooks.services.deliveries import LISTEN_URL_PREFIX
from promptha_webhooks.services.validation import secret_for_format, validate_events
from promptha_webhooks.signature_headers import SignatureFormat
from promptha_webhooks.store.webhooks import NewWebhook
from promptha_webhooks.webhook_secrets import SigningSecrets

MAX_DEVICE_LENGTH = 64
MAX_SESSION_LENGTH = 64
CLAIM_BATCH = 50
MAX_REPORTED_BODY_BYTES = 64 * 1024
SESSION_CLOSED_ERROR = "listen session closed before the local answer was reported"
CLOSED_REASON = "listen_closed"  # the webhook's disabledReason once its last session ended
# A listen session's attempt: the CLI sends it; no retries (resend from the log instead).
LISTEN_MODE = AttemptMode(Trigger.LISTEN, retries=False)


@dataclass(frozen=True, slots=True)
class ListenRequest:
    """What a session is opened with, checked before the stream opens: a bad parameter is a
    400, not a stream that breaks after its 200."""

    device: str
    events: list[str]
    # The session this caller held before it reconnected (taking the stream back from itself
    # replaces nobody).
    resume: str | None = None

    @classmethod
    def parse(
        cls, device: str, events: list[str] | None, resume: str | None = None
    ) -> ListenRequest:
        """`events` None or empty: every event type. Raises InvalidRequestError."""
        if resume is not None and len(resume) > MAX_SESSION_LENGTH:
            raise InvalidRequestError(
                f"resume must be at most {MAX_SESSION_LENGTH} characters", field="resume"
            )
        device = device.strip() or "default"
        if (
            len(device) > MAX_DEVICE_LENGTH
            or not device.replace("-", "").replace("_", "").isalnum()
        ):
            raise InvalidRequestError(
                "device must be 1-64 letters, digits, '-' or '_'", field="device"
            )
        names = validate_events(events) if events else [t.name for t in EVENT_TYPES]
        return cls(device, names, resume)


@dataclass(frozen=True, slots=True)
class ListenSession:
    account_id: str
    webhook_id: str
    device: str
    events: list[str]
    secret: str
    # Names the session (the CLI sends it back when it reconnects) and marks its claims.
    token: str
    # The live session this one took the stream from (None: none, or the caller's own).
    replaced: str | None


class EndReason(StrEnum):
    REPLACED = "replaced"  # another session on the same device took the stream over
    WEBHOOK_DELETED = "webhook_deleted"


END_MESSAGES = {
    EndReason.REPLACED: (
        "another `promptha-webhooks listen` on this account and device took the stream over"
    ),
    EndReason.WEBHOOK_DELETED: "the session's webhook was deleted",
}


class SessionEnded(Exception):
    """The stream can go on no longer (and reconnecting would not help)."""

    def __init__(self, reason: EndReason) -> None:
        super().__init__(END_MESSAGES[reason])
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StreamedDelivery:
    """One attempt as the CLI receives it: replay `body` with `headers` to the local URL."""

    delivery_id: str
    event_id: str
    event: str
    attempt: int
    headers: dict[str, str]
    body: str

    def as_json(self) -> dict[str, Any]:
        return {
            "deliveryId": self.delivery_id,
            "eventId": self.event_id,
            "event": self.event,
            "attempt": self.attempt,
            "headers": self.headers,
            "body": self.body,
        }


@dataclass(frozen=True, slots=True)
class LocalAnswer:
    """What the local endpoint answered (status None when it could not be reached)."""

    status: int | None
    headers: dict[str, str] | None
    body: str | None
    duration_ms: float
    error: str | None


class ListenService:
    def __init__(self, services: Services) -> None:
        self.services = services

    def _now(self) -> int:
        return ms(self.services.clock.now())

    async def open(self, account_id: str, request: ListenRequest) -> ListenSession:
        """Find or create the account's listen webhook for the device, enabled, with the
        request's events."""
        device, names, resume = request.device, request.events, request.resume
        url = f"{LISTEN_URL_PREFIX}{device}"
        store, now = self.services.store, self._now()
        token = f"listen-{secrets.token_hex(8)}"
        async with self.services.db.transaction() as conn:
            webhook_id = await store.listen.find_webhook(conn, account_id, url)
            if webhook_id is None:
                webhook_id = ids.new_id(ids.WEBHOOK, now_ms=now)
                new = NewWebhook(
                    id=webhook_id,
                    account_id=account_id,
                    url=url,
                    events=names,
                    filters=None,
                    secret=secret_for_format(SignatureFormat.PROMPTHA, None),
                    description=f"promptha-webhooks listen ({device})",
                    enabled=True,
                    kind="listen",
                )
                await store.webhooks.insert(conn, new, now)
            else:
                await store.webhooks.update(
                    conn,
                    account_id,
                    webhook_id,
                    {"events": names, "enabled": True, "disabled_reason": None},
                    now,
                )
            held = await store.listen.hold_stream(conn, webhook_id, token)
            webhook = await store.webhooks.get(conn, account_id, webhook_id)
        assert webhook is not None
        if webhook.secret is None:  # stored, but it does not decrypt (the log says why)
            raise SecretUnavailableError()
        return ListenSession(
            account_id,
            webhook_id,
            device,
            names,
            webhook.secret_value(),
            token,
            replaced=held if held is not None and held != resume else None,
        )

    async def take(self, session: ListenSession) -> list[StreamedDelivery]:
        """Claim the session's waiting deliveries and sign an attempt of each; SessionEnded
        when another session holds the stream now, or the webhook is gone."""
        store = self.services.store
        async with self.services.db.transaction() as conn:
            if await store.listen.stream_holder(conn, session.webhook_id) != session.token:
                webhook = await store.webhooks.get(conn, session.account_id, session.webhook_id)
                raise SessionEnded(
                    EndReason.WEBHOOK_DELETED if webhook is None else EndReason.REPLACED
                )
            claimed = await store.listen.claim(conn, session.webhook_id, session.token, CLAIM_BATCH)
        streamed = []
        for delivery in claimed:
            timestamp = int(self.services.clock.now())
            number = delivery.attempt_count + 1
            # Signed with the secret the session was opened with (the one the CLI printed).
            signed = dataclasses.replace(delivery, signing=SigningSecrets(session.secret))
            headers = delivery_headers(signed, number, timestamp)
            streamed.append(
                StreamedDelivery(
                    delivery.id,
                    delivery.event_id,
                    delivery.event_type,
                    number,
                    headers,
                    delivery.body.decode(),
                )
            )
        return streamed

    async def report(
        self,
        account_id: str,
        delivery_id: str,
        answer: LocalAnswer,
        request_headers: dict[str, str],
    ) -> DeliveryDetail:
        """Record the local endpoint's answer as an attempt; 2xx delivers, anything else fails
        (listen sessions do not retry: resend from the log instead)."""
        services = self.services
        async with services.db.transaction() as conn:
            found = await services.store.deliveries.get(conn, account_id, delivery_id)
            if found is None:
                raise NotFoundError(f"No delivery {delivery_id}")
            delivery, body, _traceparent = found
            target = await services.store.webhooks.endpoint(conn, delivery.webhook_id)
            if target is None or not target.url.startswith(LISTEN_URL_PREFIX):
                raise NotFoundError(f"No listen delivery {delivery_id}")
            if delivery.status != "pending":
                raise InvalidRequestError(
                    f"delivery {delivery_id} is {delivery.status}, not waiting for an answer"
                )
            claimed = as_claimed(delivery, body, target, None)
            outcome = outcome_of(
                claimed,
                LISTEN_MODE,
                request_headers,
                _response(answer, self._now()),
                services.context,
            )
            await services.recorder.write_in(conn, [outcome])
        return await services.get_delivery(account_id, delivery_id)

    async def close(self, session: ListenSession) -> None:
        """The stream ended. Still holding it: disable the listen webhook (no deliveries pile
        up for it) and fail what the CLI took but never answered. Replaced: leave the webhook
        to the new session, and hand it what this one took but never answered."""
        store, now = self.services.store, self._now()
        async with self.services.db.transaction() as conn:
            if await store.listen.close_stream(
                conn, session.webhook_id, session.token, CLOSED_REASON, now
            ):
                await store.listen.fail_claims(
                    conn, session.webhook_id, session.token, SESSION_CLOSED_ERROR, now
                )
            else:
                await store.listen.release_claims(conn, session.webhook_id, session.token, now)


def _response(answer: LocalAnswer, now: int) -> TransportResponse:
    """The local answer as the attempt stage classifies it, as the log can store it."""
    duration = max(0.0, answer.duration_ms)
    return TransportResponse(
        answer.status,
        {receiver_text(k): receiver_text(v) for k, v in answer.headers.items()}
        if answer.headers
        else None,
        receiver_text(answer.body[:MAX_REPORTED_BODY_BYTES]) if answer.body is not None else None,
        receiver_text(answer.error) if answer.error else None,
        None,
        (now - int(duration)) / 1000,
        duration,
    )
