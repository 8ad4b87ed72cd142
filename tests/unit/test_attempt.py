"""The attempt stage at its seam: a fake Transport answers, the stage builds, signs and
classifies (delivery/attempt.py); the guard's refusal is the real AiohttpTransport's."""

from __future__ import annotations

import asyncio
import base64
import socket
import time

import orjson
import standardwebhooks

from promptha_webhooks import signing
from promptha_webhooks.config import Mode, Settings
from promptha_webhooks.delivery.attempt import (
    AttemptMode,
    DeliveryContext,
    Trigger,
    attempt,
    skipped,
)
from promptha_webhooks.delivery.claim import ClaimedDelivery
from promptha_webhooks.delivery.health import AttemptResult, HealthPolicy, advance
from promptha_webhooks.delivery.transport import (
    AiohttpTransport,
    OutboundRequest,
    TransportResponse,
)
from promptha_webhooks.retry import Outcome
from promptha_webhooks.signature_headers import SignatureFormat
from promptha_webhooks.tracing import Tracing
from promptha_webhooks.webhook_secrets import SigningSecrets

from support import healthy_row

SECRET = "whsec_attempt-stage-test-secret"
NOW = 1_700_000_000.0
SCHEDULE = (0.0, 10.0, 60.0)  # the delay before attempt 1, 2, 3
SCHEDULED = AttemptMode(Trigger.SCHEDULED, retries=True, token="worker-1")
MANUAL = AttemptMode(Trigger.MANUAL, retries=False)


class FixedClock:
    def now(self) -> float:
        return NOW


class FakeTransport:
    """Answers every request with `answer`, and keeps what it was asked to send."""

    def __init__(self, answer: TransportResponse) -> None:
        self.answer = answer
        self.sent: list[OutboundRequest] = []

    async def send(self, request: OutboundRequest) -> TransportResponse:
        self.sent.append(request)
        return self.answer

    async def close(self) -> None:
        return None


def answer(
    status: int | None, *, error: str | None = None, headers: dict[str, str] | None = None
) -> TransportResponse:
    return TransportResponse(status, headers, "ok", error, None, NOW - 0.01, 10.0)


def delivery(
    *,
    attempt_count: int = 0,
    url: str = "https://example.com/hook",
    secrets: SigningSecrets | None = None,
) -> ClaimedDelivery:
    return ClaimedDelivery(
        id="dlv_1",
        event_id="evt_1",
        event_type="fabric.completed",
        webhook_id="wh_1",
        attempt_count=attempt_count,
        is_test=False,
        body=b'{"type":"fabric.completed"}',
        url=url,
        signing=secrets or SigningSecrets(SECRET),
        webhook_enabled=True,
    )


def context(transport: FakeTransport | AiohttpTransport) -> DeliveryContext:
    return DeliveryContext(transport, FixedClock(), SCHEDULE, Tracing(Settings().tracing))


async def test_the_request_is_signed_and_carries_the_delivery_headers() -> None:
    transport = FakeTransport(answer(200))
    outcome = await attempt(context(transport), delivery(attempt_count=1), SCHEDULED)
    [sent] = transport.sent
    assert sent.url == "https://example.com/hook" and sent.body == delivery().body
    signing.verify(sent.body, sent.headers, SECRET, now=int(NOW))  # raises unless authentic
    assert sent.headers["x-promptha-attempt"] == "2"
    assert sent.headers["x-promptha-delivery-id"] == "dlv_1"
    assert sent.headers["x-promptha-event-id"] == "evt_1"
    assert sent.headers["x-promptha-timestamp"] == str(int(NOW))
    assert "x-promptha-test" not in sent.headers
    assert outcome.outcome is Outcome.DELIVERED and outcome.status == "delivered"
    assert outcome.attempt is not None
    assert orjson.loads(outcome.attempt.request_headers) == sent.headers
    assert outcome.update.token == "worker-1" and outcome.update.attempt_count == 2


PREVIOUS = "whsec_the-secret-a-rotation-replaced"
STANDARD_SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()
STANDARD_PREVIOUS = "whsec_" + base64.b64encode(b"p" * 24).decode()


async def test_during_a_rotation_each_secret_signs_in_its_own_header() -> None:
    until = int(NOW * 1000) + 60_000
    rotating = SigningSecrets(SECRET, PREVIOUS, until)
    transport = FakeTransport(answer(200))
    await attempt(context(transport), delivery(secrets=rotating), SCHEDULED)
    [sent] = transport.sent
    # x-promptha-signature stays one hex signature, by the current secret (the guide's form).
    assert len(sent.headers["x-promptha-signature"]) == 64
    signing.verify(sent.body, sent.headers, SECRET, now=int(NOW))
    previous_only = {k: v for k, v in sent.headers.items() if k != "x-promptha-signature"}
    previous_only["x-promptha-signature"] = sent.headers["x-promptha-signature-previous"]
    signing.verify(sent.body, previous_only, PREVIOUS, now=int(NOW))
    # Once the grace period is over, the previous secret signs nothing.
    expired = SigningSecrets(SECRET, PREVIOUS, int(NOW * 1000))
    transport = FakeTransport(answer(200))
    await attempt(context(transport), delivery(secrets=expired), SCHEDULED)
    assert "x-promptha-signature-previous" not in transport.sent[0].headers


async def test_standard_format_is_verified_by_the_standardwebhooks_library() -> None:
    now = time.time()  # the library checks the timestamp against its own clock

    class WallClock:
        def now(self) -> float:
            return now

    until = int(now * 1000) + 60_000
    secrets = SigningSecrets(
        STANDARD_SECRET, STANDARD_PREVIOUS, until, format=SignatureFormat.STANDARD
    )
    transport = FakeTransport(answer(200))
    wall = DeliveryContext(transport, WallClock(), SCHEDULE, Tracing(Settings().tracing))
    await attempt(wall, delivery(secrets=secrets), SCHEDULED)
    [sent] = transport.sent
    assert sent.headers["webhook-id"] == "evt_1"
    assert "x-promptha-signature" not in sent.headers
    assert len(sent.headers["webhook-signature"].split(" ")) == 2
    for secret in (STANDARD_SECRET, STANDARD_PREVIOUS):
        verifier = standardwebhooks.Webhook(secret)
        assert verifier.verify(sent.body, sent.headers) == orjson.loads(sent.body)


async def test_a_timeout_is_retried_on_schedule_or_final_without_retries() -> None:
    timeout = answer(None, error="timeout: no complete answer within 30 s")
    scheduled = await attempt(context(FakeTransport(timeout)), delivery(), SCHEDULED)
    assert scheduled.status == "pending" and scheduled.outcome is Outcome.RETRY
    assert scheduled.update.next_attempt_at == int((NOW + SCHEDULE[1]) * 1000)
    assert scheduled.update.last_error == "timeout: no complete answer within 30 s"
    assert scheduled.attempt is not None and scheduled.attempt.response_status is None
    manual = await attempt(context(FakeTransport(timeout)), delivery(), MANUAL)
    assert manual.status == "failed" and manual.update.next_attempt_at is None
    assert manual.update.token is None  # written unfenced


async def test_the_last_retry_spent_fails_the_delivery() -> None:
    outcome = await attempt(
        context(FakeTransport(answer(503))), delivery(attempt_count=len(SCHEDULE)), SCHEDULED
    )
    assert outcome.status == "failed" and outcome.update.last_error == "HTTP 503"


async def test_a_410_fails_at_once_and_disables_the_webhook() -> None:
    outcome = await attempt(context(FakeTransport(answer(410))), delivery(), SCHEDULED)
    assert outcome.outcome is Outcome.PERMANENT and outcome.status == "failed"
    result = AttemptResult.from_outcome(outcome)
    assert result.final_failure and result.status_code == 410
    state, notices = advance(
        healthy_row("wh_1"),
        [result],
        HealthPolicy(disable_after_ms=10**9, min_failed_deliveries=99),
    )
    assert not state.enabled and state.disabled_reason == "gone"
    assert "webhook.disabled" in [notice.event for notice in notices]


async def test_the_receivers_abort_answer_ends_the_retries() -> None:
    aborted = answer(503, headers={"x-promptha-delivery": "abort"})
    outcome = await attempt(context(FakeTransport(aborted)), delivery(), SCHEDULED)
    assert outcome.status == "failed" and outcome.control == "abort"
    assert outcome.update.next_attempt_at is None
    assert outcome.attempt is not None
    assert outcome.attempt.error == "receiver answered x-promptha-delivery: abort"


def test_a_disabled_webhooks_delivery_is_skipped_without_an_attempt() -> None:
    outcome = skipped(delivery(), SCHEDULED, 5)
    assert outcome.attempt is None and outcome.status == "skipped"
    assert outcome.update.last_error == "webhook disabled" and outcome.update.updated_at == 5


async def test_the_guard_refuses_a_private_address_and_nothing_is_sent() -> None:
    # A real listening socket on 127.0.0.1: a production-mode transport must not connect.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    port = server.getsockname()[1]
    transport = AiohttpTransport(Settings(mode=Mode.PRODUCTION))
    try:
        outcome = await attempt(
            context(transport), delivery(url=f"http://127.0.0.1:{port}/hook"), SCHEDULED
        )
        await asyncio.sleep(0)
        try:
            connection, _ = server.accept()
            connection.close()
            connected = True
        except BlockingIOError:
            connected = False
    finally:
        await transport.close()
        server.close()
    assert not connected
    assert outcome.attempt is not None and outcome.attempt.response_status is None
    assert outcome.update.last_error is not None
    assert outcome.update.last_error.startswith("blocked: ")
    assert outcome.status == "pending"  # a refusal is retried: the address may change


async def test_during_a_grace_period_a_401_or_403_is_retried_then_parked_until_it_ends() -> None:
    until = int(NOW * 1000) + 600_000
    rotating = SigningSecrets(SECRET, PREVIOUS, until)
    for status in (401, 403):
        retried = await attempt(
            context(FakeTransport(answer(status))), delivery(secrets=rotating), SCHEDULED
        )
        assert retried.outcome is Outcome.RETRY and retried.status == "pending"
        assert retried.update.next_attempt_at == int((NOW + SCHEDULE[1]) * 1000)
        assert retried.update.last_status_code == status
        assert retried.update.last_error is not None
        assert "secret rotation" in retried.update.last_error
        # The schedule spent: parked (still pending) until the grace period ends.
        parked = await attempt(
            context(FakeTransport(answer(status))),
            delivery(attempt_count=len(SCHEDULE), secrets=rotating),
            SCHEDULED,
        )
        assert parked.status == "pending" and parked.update.next_attempt_at == until
        # A resend's answer is final, grace period or not.
        manual = await attempt(
            context(FakeTransport(answer(status))), delivery(secrets=rotating), MANUAL
        )
        assert manual.status == "failed"


async def test_outside_a_grace_period_a_401_fails_at_once_and_other_codes_keep_their_rules() -> (
    None
):
    ended = SigningSecrets(SECRET, PREVIOUS, int(NOW * 1000) - 1000)  # before the request
    for secrets in (SigningSecrets(SECRET), ended):
        outcome = await attempt(
            context(FakeTransport(answer(401))), delivery(secrets=secrets), SCHEDULED
        )
        assert outcome.outcome is Outcome.PERMANENT and outcome.status == "failed"
        assert outcome.update.last_error == "HTTP 401"
    rotating = SigningSecrets(SECRET, PREVIOUS, int(NOW * 1000) + 600_000)
    for status, expected in ((404, "failed"), (410, "failed")):
        outcome = await attempt(
            context(FakeTransport(answer(status))), delivery(secrets=rotating), SCHEDULED
        )
        assert outcome.status == expected
    # A 503 with the schedule spent fails during a grace period too: only rejections park.
    spent = await attempt(
        context(FakeTransport(answer(503))),
        delivery(attempt_count=len(SCHEDULE), secrets=rotating),
        SCHEDULED,
    )
    assert spent.status == "failed"
