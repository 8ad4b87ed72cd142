"""Value objects the services return and the API serialises (camelCase on the wire)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_serializer
from pydantic.alias_generators import to_camel
from pydantic.json_schema import WithJsonSchema

from promptha_webhooks.pacing import Ordering
from promptha_webhooks.signature_headers import SignatureAlgorithm, SignatureFormat
from promptha_webhooks.webhook_secrets import Signing

# delivery/brokers.DestinationKind's values (tests/unit pins them equal).
DestinationType = Literal["http", "rabbitmq", "nats", "redis-stream"]
DeliveryStatus = Literal["pending", "delivered", "failed", "skipped", "cancelled"]
AttemptTrigger = Literal["scheduled", "manual", "test", "listen"]
AttemptOutcome = Literal["delivered", "retry", "permanent"]
T = TypeVar("T")


def from_ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=UTC)


# Disable reasons set by endpoint health (health.py), as opposed to "manual": the webhook still
# gets its deliveries, stored as skipped, so they can be recovered.
HEALTH_DISABLE_REASONS = ("auto_disabled", "gone", "receiver_disabled")


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, serialize_by_alias=True
    )


class Account(ApiModel):
    object: Literal["account"] = "account"
    id: str
    name: str
    created_at: datetime


class ApiKey(ApiModel):
    """An API key; `key` holds the secret only in the response that created it."""

    object: Literal["api_key"] = "api_key"
    id: str
    account_id: str | None
    prefix: str
    created_at: datetime
    key: str | None = None


class AccountCreated(ApiModel):
    account: Account
    api_key: ApiKey


class Webhook(ApiModel):
    object: Literal["webhook"] = "webhook"
    id: str
    # Where deliveries go: "http" (POST to `url`) or a broker, "rabbitmq" | "nats" |
    # "redis-stream", whose `config` (its URL's password shown as ****) replaces the URL
    type: DestinationType = "http"
    url: str | None
    config: dict[str, Any] | None = None
    events: list[str]
    filters: dict[str, Any] | None
    description: str
    enabled: bool
    # Requests a worker sends the webhook at once; None: the server's default
    max_concurrency: int | None = None
    # Deliveries started per second, across every worker; None: no limit (pacing.py)
    rate_limit: int | None = None
    # "fifo": one delivery at a time, in publish order; "none" (the default): no order
    ordering: Ordering = Ordering.NONE
    # Names of the static headers sent on every attempt (values: GET /v1/webhooks/{id}/headers);
    # None only when their stored values do not decrypt with the server's keys
    header_names: list[str] | None = Field(default_factory=list)
    # Delays (s) before each retry; None: the server's schedule (the guide's table)
    retry_schedule: list[float] | None = None
    # Per-attempt timeout (s); None: the server's (30 s)
    timeout_seconds: int | None = None
    # The webhook's own HTTP CONNECT proxy, its password masked; None: the server's, if any
    proxy_url: str | None = None
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime
    health: WebhookHealth | None = None
    # 1 h / 24 h / 7 d success rate and latency: on GET /v1/webhooks/{id} only (not in lists)
    stats: list[WindowStats] | None = None
    # How deliveries are signed: "promptha" (the guide's headers) or "standard" (Standard
    # Webhooks); signature_headers.py
    signature_format: SignatureFormat = SignatureFormat.PROMPTHA
    # What signs: "hmac-sha256" (a shared secret) or "ed25519" (standard format only; the
    # secret is a whsk_ signing key, receivers verify with GET /v1/webhooks/{id}/public-key).
    # None only when the stored secret does not decrypt with the server's keys: the algorithm
    # is the key's, unknown until its key is restored
    signature_algorithm: SignatureAlgorithm | None = SignatureAlgorithm.HMAC_SHA256
    # During a secret rotation's grace period: when the previous secret stops signing; None
    # when no rotation runs
    previous_secret_expires_at: datetime | None = None
    # Held for the service (signing), never serialised except by WebhookWithSecret; absent when
    # a client parses an API answer.
    secret: SecretStr | None = Field(default=None, exclude=True)
    # Every secret that signs (the current one, and the previous one during a rotation), for
    # the service only: never serialised. UnreadableSecrets (and `secret` None) when the stored
    # secrets do not decrypt with the server's key ring.
    signing: Signing | None = Field(default=None, exclude=True, repr=False)

    def as_of(self, now_ms: int) -> Webhook:
        """The webhook as the API shows it at `now_ms`: `previous_secret_expires_at` only
        while the grace period runs (the column keeps a past time until the next rotation)."""
        ends = self.previous_secret_expires_at
        if ends is None or ends.timestamp() * 1000 > now_ms:
            return self
        return self.model_copy(update={"previous_secret_expires_at": None})

    @property
    def target(self) -> str:
        """Where deliveries go, in one line: the URL, or the broker kind and its config's URL
        (password masked) with what it publishes to."""
        if self.type == "http" or self.config is None:
            return self.url or f"{self.type} (its config does not decrypt)"
        where = " ".join(
            f"{name}={value}"
            for name, value in self.config.items()
            if name != "url" and value not in ("", None)
        )
        return f"{self.type} {self.config.get('url', '')} {where}".strip()

    def secret_value(self) -> str:
        if self.secret is None:
            raise ValueError(f"webhook {self.id} was loaded without its secret")
        return self.secret.get_secret_value()


class WebhookWithSecret(Webhook):
    """Returned once, by create: the only time the API shows the secret uninvited."""

    # Documented as the plain string it is sent as (SecretStr's own schema says write-only).
    secret: Annotated[
        SecretStr, WithJsonSchema({"type": "string", "description": "The signing secret"})
    ] = Field(exclude=False)

    @field_serializer("secret")
    def _reveal(self, secret: SecretStr | None) -> str | None:
        return secret.get_secret_value() if secret is not None else None


class WebhookSecret(ApiModel):
    object: Literal["webhook_secret"] = "webhook_secret"
    webhook_id: str
    secret: str


class WebhookHeaders(ApiModel):
    """A webhook's static custom headers with their values (GET /v1/webhooks/{id}/headers;
    the webhook itself lists only their names, as the secret has its own endpoint)."""

    object: Literal["webhook_headers"] = "webhook_headers"
    webhook_id: str
    headers: dict[str, str]


class SecretRotation(ApiModel):
    """A rotation's answer: the new secret (shown once, like create's) and when the secret it
    replaced stops signing (None: it stopped at once, a grace period of 0)."""

    object: Literal["secret_rotation"] = "secret_rotation"
    webhook_id: str
    secret: str
    previous_secret_expires_at: datetime | None


class WebhookPublicKey(ApiModel):
    """An ed25519 webhook's whpk_ public keys: receivers verify its v1a signatures with them
    (during a rotation with the previous one too, until `previous_expires_at`)."""

    object: Literal["webhook_public_key"] = "webhook_public_key"
    webhook_id: str
    public_key: str
    previous_public_key: str | None = None
    previous_expires_at: datetime | None = None


class Event(ApiModel):
    object: Literal["event"] = "event"
    id: str
    account_id: str
    event: str
    data: dict[str, Any]
    timestamp: int
    is_test: bool
    created_at: datetime
    delivery_count: int | None = None
    # The time its deliveries were scheduled for (deliverAt); None: sent at once
    deliver_at: datetime | None = None


class PublishedBatch(ApiModel):
    object: Literal["event_batch"] = "event_batch"
    data: list[Event]
    replayed: int


class Attempt(ApiModel):
    object: Literal["attempt"] = "attempt"
    id: str
    number: int
    trigger: AttemptTrigger
    outcome: AttemptOutcome
    url: str
    request_headers: dict[str, str]
    request_body: str
    response_status: int | None
    response_headers: dict[str, str] | None
    response_body: str | None
    duration_ms: float
    error: str | None
    started_at: datetime
    finished_at: datetime


class Delivery(ApiModel):
    object: Literal["delivery"] = "delivery"
    id: str
    event_id: str
    webhook_id: str
    event: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_response_status: int | None
    last_error: str | None
    is_test: bool
    created_at: datetime
    updated_at: datetime


class DeliveryDetail(Delivery):
    payload: dict[str, Any]
    attempts: list[Attempt]


class EventDelivery(Delivery):
    """A delivery of one event, with the kind and URL of the webhook it goes to (an event's
    deliveries, one per webhook: `GET /v1/events/{id}/deliveries`). `webhook_url` is None for
    a broker webhook, like the webhook's own `url`."""

    webhook_type: DestinationType = "http"
    webhook_url: str | None

    @property
    def webhook_label(self) -> str:
        """What a person reads for the webhook: its URL, or its kind and id (a broker's
        connection settings are sealed: GET /v1/webhooks/{id} shows them, masked)."""
        return self.webhook_url or f"{self.webhook_type} {self.webhook_id}"


class CancelledDeliveries(ApiModel):
    """What `DELETE /v1/events/{id}/deliveries` did: `cancelled` deliveries ended (those
    not sent yet and not in flight), and every delivery of the event as it is now."""

    object: Literal["cancelled_deliveries"] = "cancelled_deliveries"
    event_id: str
    cancelled: int
    deliveries: list[EventDelivery]


# Why a bulk resend left a delivery it was given alone (services/deliveries.py).
ResendSkipReason = Literal["not_found", "delivered", "pending", "test", "webhook_disabled"]


class SkippedDelivery(ApiModel):
    id: str
    reason: ResendSkipReason


class BulkResendResult(ApiModel):
    """What `POST /v1/deliveries/resend` did: `resent` deliveries re-queued; `skipped`, the
    named ones left alone and why; with a time range, `more` when matching deliveries remain
    (call again: those re-queued no longer match) and `remaining`, how many."""

    object: Literal["bulk_resend"] = "bulk_resend"
    resent: int
    skipped: list[SkippedDelivery]
    more: bool
    remaining: int


class TestResult(ApiModel):
    """What `POST /v1/webhooks/test` reports: the event, its delivery and the attempt made."""

    object: Literal["test_result"] = "test_result"
    success: bool
    event: Event
    delivery: DeliveryDetail


class FilterTest(ApiModel):
    """What `POST /v1/webhooks/test-filter` answers: would a webhook with these events and
    filters receive this event, and if not, which clause failed."""

    object: Literal["filter_test"] = "filter_test"
    matches: bool
    # "events" when the event's type is not among the events; else the failing filter clause,
    # as an error's field names it (filters.usage.totalTokens.$gt); None when it matches
    failed_clause: str | None = None
    message: str | None = None


class EventTypeInfo(ApiModel):
    object: Literal["event_type"] = "event_type"
    name: str
    group: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema")
    sample: dict[str, Any]


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first; pass `next_cursor` as `cursor` for the next page."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True
    )

    object: Literal["list"] = "list"
    data: list[T]
    has_more: bool
    next_cursor: str | None


# -- endpoint health and statistics (delivery/health.py, services/monitoring.py) ------------

StatsWindow = Literal["1h", "24h", "7d"]
STATS_WINDOWS_S: dict[str, int] = {"1h": 3600, "24h": 24 * 3600, "7d": 7 * 24 * 3600}


class WebhookHealth(ApiModel):
    """A webhook's failure streak, as the dispatcher records it (also on the webhook object)."""

    consecutive_failures: int
    failed_deliveries: int  # deliveries that failed for good in the current streak
    failing_since: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_failure_reason: str | None
    disabled_at: datetime | None


class LatencyPercentiles(ApiModel):
    """Attempt duration percentiles in milliseconds (None without attempts). Computed from a
    fixed histogram (28 buckets, 1 ms … 60 s) bounded by each bucket's observed min and max."""

    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class WindowStats(ApiModel):
    window: StatsWindow
    since: datetime
    attempts: int
    delivered: int  # successful attempts
    failed: int  # failed attempts
    success_rate: float | None  # delivered / attempts, None without attempts
    latency: LatencyPercentiles


class WebhookStats(ApiModel):
    object: Literal["webhook_stats"] = "webhook_stats"
    webhook_id: str
    enabled: bool
    disabled_reason: str | None
    health: WebhookHealth
    windows: list[WindowStats]  # 1h, 24h, 7d


class FailureReason(ApiModel):
    """timeout, connection_error, dns_error, tls_error, proxy_error, blocked, other, or
    http_<code>."""

    reason: str
    count: int


class AccountStats(ApiModel):
    object: Literal["account_stats"] = "account_stats"
    account_id: str
    window: StatsWindow
    since: datetime
    attempts: int
    delivered: int
    failed: int
    success_rate: float | None
    latency: LatencyPercentiles
    failures_by_reason: list[FailureReason]  # most frequent first
    webhooks_disabled: int


class HourlyBucket(ApiModel):
    hour: datetime  # start of the hour (UTC)
    delivered: int  # successful attempts
    failed: int  # failed attempts


class WebhookHourly(ApiModel):
    object: Literal["webhook_hourly_stats"] = "webhook_hourly_stats"
    webhook_id: str
    buckets: list[HourlyBucket]  # oldest first, one per hour, zero-filled


# The chart buckets of each window (seconds): 12 of 5 min, 24 of 1 h, 28 of 6 h.
SERIES_BUCKET_S: dict[str, int] = {"1h": 300, "24h": 3600, "7d": 6 * 3600}


class SeriesBucket(ApiModel):
    start: datetime  # UTC, aligned to the bucket size
    attempts: int
    delivered: int  # successful attempts
    failed: int  # failed attempts
    success_rate: float | None  # delivered / attempts, None without attempts
    latency: LatencyPercentiles


class WebhookSeries(ApiModel):
    """A webhook's attempts over a window, bucket by bucket (for a chart)."""

    object: Literal["webhook_stats_series"] = "webhook_stats_series"
    webhook_id: str
    window: StatsWindow
    bucket_seconds: int
    buckets: list[SeriesBucket]  # oldest first, zero-filled; the last one is still running


class RecoveryResult(ApiModel):
    object: Literal["recovery"] = "recovery"
    webhook_id: str
    since: datetime
    until: datetime | None
    dry_run: bool
    count: int  # deliveries re-queued (or that would be, on a dry run)


class PortalSessionCreated(ApiModel):
    """A portal session's one-time URL (open it once, before `expires_at`)."""

    object: Literal["portal_session"] = "portal_session"
    url: str
    expires_at: datetime
    read_only: bool


class AlertContacts(ApiModel):
    """Where the account's operational alerts go besides the operators' copy: e-mail
    addresses, and optionally one of its webhooks that receives every alert event."""

    object: Literal["alert_contacts"] = "alert_contacts"
    account_id: str
    emails: list[str]
    webhook_id: str | None
    updated_at: datetime | None


class EgressAddresses(ApiModel):
    """`GET /v1/ips`: the addresses and CIDRs deliveries come from, to allow-list. `version`
    changes exactly when `addresses` does; `updated_at` is when the list last changed."""

    version: str
    updated_at: datetime
    addresses: list[str]
