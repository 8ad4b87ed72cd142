"""Request bodies of the management API (strict types, unknown fields rejected)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from promptha_webhooks.pacing import MAX_RATE_LIMIT
from promptha_webhooks.portal import (
    DEFAULT_PORTAL_TTL_S,
    MAX_PORTAL_TTL_S,
    MAX_PORTAL_URL_LENGTH,
    MIN_PORTAL_TTL_S,
    PortalOptions,
    PortalTheme,
)
from promptha_webhooks.services.validation import MAX_WEBHOOK_CONCURRENCY

# signature_headers.SignatureFormat and SignatureAlgorithm's values (tests/unit pins them equal).
FormatName = Literal["promptha", "standard"]
AlgorithmName = Literal["hmac-sha256", "ed25519"]
# delivery/brokers.DestinationKind's values (models.DestinationType)
DestinationName = Literal["http", "rabbitmq", "nats", "redis-stream"]
# pacing.Ordering's values
OrderingName = Literal["none", "fifo"]


# The webhook's delivery settings (delivery_settings.py checks them: services, one place).
HEADERS_DOC = (
    "Static headers sent on every attempt, e.g. an API gateway key (at most 20; not "
    "x-promptha-*, webhook-*, content-type, host, content-length nor hop-by-hop)"
)
RETRY_DOC = (
    "Delays in seconds before each retry: at most 9 (10 attempts), 3 days in all "
    "(null: the server's schedule 5 s, 30 s, 5 min, 30 min, 2 h)"
)
TYPE_DOC = (
    "Where deliveries go: http (POST to url), or a broker: rabbitmq, nats (JetStream), "
    "redis-stream (XADD), configured by `config`"
)
CONFIG_DOC = (
    "A broker webhook's connection settings (stored encrypted; shown with the URL's password "
    "as ****). rabbitmq: {url: amqp://user:pass@host:5672/vhost, exchange, routingKey}; "
    "nats: {url: nats://host:4222, subject, stream?}; redis-stream: {url: redis://host:6379/0, "
    "stream, maxLen?}"
)
TIMEOUT_DOC = "Per-attempt timeout in seconds, 1-30 (null: the server's, 30 s)"
PROXY_DOC = (
    "An HTTP CONNECT proxy every delivery goes through, http://[user:password@]host:port "
    "(stored encrypted; shown with its password masked; null: the server's proxy, if any)"
)


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CreateAccount(RequestModel):
    name: str = Field(min_length=1, max_length=200, examples=["Acme Inc"])


class CreateWebhook(RequestModel):
    type: DestinationName = Field(default="http", description=TYPE_DOC)
    url: str | None = Field(
        default=None,
        examples=["https://yourapp.com/webhooks/promptha"],
        description="Where an http webhook's deliveries are POSTed (no url for a broker)",
    )
    config: dict[str, Any] | None = Field(default=None, description=CONFIG_DOC)
    events: list[str] = Field(examples=[["fabric.completed", "fabric.failed", "credits.low"]])
    secret: str | None = Field(default=None, description="Generated (whsec_…) when omitted")
    filters: dict[str, Any] | None = Field(
        default=None,
        examples=[{"fabricId": ["product-description", "seo-optimizer"]}],
        description="Payload filters: {path: [values]} or {path: {$op: value}}, $and/$or/$not",
    )
    description: str = ""
    enabled: bool = True
    maxConcurrency: int | None = Field(
        default=None,
        ge=1,
        le=MAX_WEBHOOK_CONCURRENCY,
        description="Requests sent to the webhook at once (null: the server's default)",
    )
    rateLimit: int | None = Field(
        default=None,
        ge=1,
        le=MAX_RATE_LIMIT,
        description="Deliveries started per second, across every worker (null: no limit)",
    )
    ordering: OrderingName = Field(
        default="none",
        description="fifo: one delivery at a time, in publish order; none: no order",
    )
    signatureFormat: FormatName = Field(
        default="promptha",
        description="promptha (x-promptha-* headers) or standard (Standard Webhooks)",
    )
    signatureAlgorithm: AlgorithmName = Field(
        default="hmac-sha256",
        description="hmac-sha256, or ed25519 (standard only: the secret is a whsk_ key)",
    )
    headers: dict[str, str] | None = Field(default=None, description=HEADERS_DOC)
    retrySchedule: list[int | float] | None = Field(default=None, description=RETRY_DOC)
    timeoutSeconds: int | None = Field(default=None, description=TIMEOUT_DOC)
    proxyUrl: str | None = Field(default=None, description=PROXY_DOC)


class UpdateWebhook(RequestModel):
    type: DestinationName | None = Field(
        default=None,
        description="Switching to a broker needs `config`, switching to http needs `url`",
    )
    url: str | None = None
    config: dict[str, Any] | None = Field(
        default=None, description=CONFIG_DOC + "; replaces the whole config"
    )
    events: list[str] | None = None
    secret: str | None = Field(default=None, description="null generates a new secret")
    filters: dict[str, Any] | None = Field(default=None, description="null removes filters")
    description: str | None = None
    enabled: bool | None = None
    maxConcurrency: int | None = Field(
        default=None,
        ge=1,
        le=MAX_WEBHOOK_CONCURRENCY,
        description="null: back to the server's default",
    )
    rateLimit: int | None = Field(
        default=None, ge=1, le=MAX_RATE_LIMIT, description="null: no limit"
    )
    ordering: OrderingName | None = Field(default=None, description="none or fifo")
    signatureFormat: FormatName | None = Field(
        default=None,
        description="A secret that does not fit the new format must come in the same request",
    )
    signatureAlgorithm: AlgorithmName | None = Field(
        default=None, description="Left out: kept (hmac-sha256 for the promptha format)"
    )
    headers: dict[str, str] | None = Field(
        default=None, description=HEADERS_DOC + "; replaces the whole set ({} or null: none)"
    )
    retrySchedule: list[int | float] | None = Field(
        default=None, description=RETRY_DOC + "; null: back to the server's"
    )
    timeoutSeconds: int | None = Field(
        default=None, description=TIMEOUT_DOC + "; null: back to the server's"
    )
    proxyUrl: str | None = Field(
        default=None, description=PROXY_DOC + "; null: back to the server's proxy, if any"
    )


class RotateSecret(RequestModel):
    secret: str | None = Field(default=None, description="Generated (whsec_…) when omitted")
    gracePeriodSeconds: int | None = Field(
        default=None,
        description="How long the replaced secret keeps signing too: 0-604800 "
        "(default 86400 = 24 h; 0 switches at once)",
        examples=[86400],
    )


DELIVER_AT_DOC = (
    "Deliver at this time instead of now: RFC 3339 with an offset (2026-12-24T09:00:00Z), "
    "at most 30 days ahead; a time already past is delivered at once"
)


class PublishEvent(RequestModel):
    account: str | None = Field(
        default=None, description="Target account (admin key); defaults to the key's account"
    )
    event: str = Field(examples=["fabric.completed"])
    data: dict[str, Any] = Field(
        examples=[
            {
                "executionId": "exec_123",
                "fabricId": "product-description",
                "result": {"output": "…"},
                "usage": {"totalTokens": 246},
            }
        ]
    )
    deliverAt: str | None = Field(
        default=None, description=DELIVER_AT_DOC, examples=["2026-12-24T09:00:00Z"]
    )


class SendTestEvent(RequestModel):
    webhookId: str = Field(examples=["wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC"])
    event: str = Field(examples=["fabric.completed"])
    data: dict[str, Any] | None = Field(
        default=None, examples=[{"executionId": "test_123", "result": {"output": "Test result"}}]
    )


class TestFilter(RequestModel):
    events: list[str] | None = Field(
        default=None,
        examples=[["fabric.*"]],
        description="The webhook's event types or patterns (omitted: any type)",
    )
    filters: dict[str, Any] | None = Field(
        examples=[{"data.usage.totalTokens": {"$gt": 1000}}],
        description="The filter to try (null: none)",
    )
    event: str = Field(examples=["fabric.completed"])
    data: dict[str, Any] | None = Field(
        default=None,
        examples=[{"fabricId": "f", "usage": {"totalTokens": 2500}}],
        description="The payload (omitted: the event type's sample)",
    )


class BatchItem(RequestModel):
    event: str
    data: dict[str, Any]
    idempotencyKey: str | None = None
    deliverAt: str | None = Field(default=None, description=DELIVER_AT_DOC)


class PublishBatch(RequestModel):
    account: str | None = Field(
        default=None, description="Target account (admin key); defaults to the key's account"
    )
    events: list[BatchItem] = Field(
        description="1-1000 events, stored all or none; each event's body at most 256 KiB, "
        "the whole request at most 16 MiB"
    )


class RecoverWebhook(RequestModel):
    since: datetime = Field(
        strict=False,
        description="Re-queue deliveries created at or after this time (ISO 8601 or Unix s)",
        examples=["2026-11-20T00:00:00Z"],
    )
    until: datetime | None = Field(
        default=None, strict=False, description="…and before this time (default: now)"
    )
    dryRun: bool = Field(default=False, description="Only count the deliveries")


# The embeddable portal (portal.py); services/portal.py checks the URLs' schemes and the TTL.
class PortalThemeBody(RequestModel):
    primaryColor: str | None = Field(
        default=None, pattern=r"^#[0-9a-fA-F]{6}$", examples=["#4f46e5"], description="#rrggbb"
    )
    logoUrl: str | None = Field(
        default=None,
        max_length=MAX_PORTAL_URL_LENGTH,
        description="https URL of the logo shown in the portal's top bar",
    )
    darkMode: bool = False


class CreatePortalSession(RequestModel):
    ttlSeconds: int = Field(
        default=DEFAULT_PORTAL_TTL_S,
        ge=MIN_PORTAL_TTL_S,
        le=MAX_PORTAL_TTL_S,
        description="How long the session lasts once opened, in seconds (the link as long)",
    )
    readOnly: bool = Field(default=False, description="The portal can look but not change")
    returnUrl: str | None = Field(
        default=None,
        max_length=MAX_PORTAL_URL_LENGTH,
        description="https URL that Sign out leads to (in the top window)",
    )
    theme: PortalThemeBody | None = None

    def options(self) -> PortalOptions:
        theme = self.theme or PortalThemeBody()
        return PortalOptions(
            ttl_s=self.ttlSeconds,
            read_only=self.readOnly,
            return_url=self.returnUrl,
            theme=PortalTheme(
                primary_color=theme.primaryColor.lower() if theme.primaryColor else None,
                logo_url=theme.logoUrl,
                dark_mode=theme.darkMode,
            ),
        )


class ResendDeliveries(RequestModel):
    deliveryIds: list[str] | None = Field(
        default=None,
        max_length=1000,
        description="Re-queue these failed or skipped deliveries (at most 1,000)",
        examples=[["dlv_01JDQ3W6Z5K1V8R4T2N9M0B7XC"]],
    )
    status: Literal["failed"] | None = Field(
        default=None,
        description='Without deliveryIds: "failed" (required) re-queues the failed and skipped '
        "deliveries created in the time range",
    )
    since: datetime | None = Field(
        default=None, strict=False, description="Created at or after (ISO 8601 or Unix s)"
    )
    until: datetime | None = Field(default=None, strict=False, description="…and before")
    webhookId: str | None = Field(default=None, description="Only this webhook's deliveries")
    limit: int | None = Field(
        default=None, description="At most this many per call, 1-1000 (default 100)"
    )


class PutAlertContacts(RequestModel):
    account: str | None = Field(
        default=None, description="Target account (admin key); defaults to the key's account"
    )
    emails: list[str] = Field(
        description="At most 20 addresses; duplicates (case-insensitive) are dropped",
        examples=[["ops@acme.example", "oncall@acme.example"]],
    )
    webhookId: str | None = Field(
        default=None,
        description="One of the account's HTTP webhooks that receives every operational event "
        "about its other webhooks (null: none)",
        examples=["wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC"],
    )
