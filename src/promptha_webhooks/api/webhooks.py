"""/v1/webhooks: an account's subscriptions, their secrets, test events and delivery logs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from promptha_webhooks.api.body import StrictJSONRoute
from promptha_webhooks.api.deps import AccountIdDep, ServicesDep
from promptha_webhooks.api.schemas import (
    CreateWebhook,
    RotateSecret,
    SendTestEvent,
    TestFilter,
    UpdateWebhook,
)
from promptha_webhooks.delivery_settings import DeliveryOptions
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.models import (
    Delivery,
    FilterTest,
    Page,
    SecretRotation,
    TestResult,
    Webhook,
    WebhookHeaders,
    WebhookPublicKey,
    WebhookSecret,
    WebhookWithSecret,
)
from promptha_webhooks.pacing import Ordering, Pacing
from promptha_webhooks.services.webhooks import FilterProbe, WebhookDefinition
from promptha_webhooks.signature_headers import SignatureAlgorithm, SignatureFormat
from promptha_webhooks.webhook_secrets import SigningScheme

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=StrictJSONRoute)

# Update fields whose service name differs from the API's.
_RENAMED = {
    "maxConcurrency": "max_concurrency",
    "rateLimit": "rate_limit",
    "signatureFormat": "signature_format",
    "signatureAlgorithm": "signature_algorithm",
    "retrySchedule": "retry_schedule",
    "timeoutSeconds": "timeout_seconds",
    "proxyUrl": "proxy_url",
}

Limit = Annotated[int | None, Query(ge=1, le=100, description="Page size (default 20)")]
Cursor = Annotated[str | None, Query(description="nextCursor of the previous page")]


@router.post("", status_code=201, response_model=WebhookWithSecret)
async def create_webhook(
    body: CreateWebhook, services: ServicesDep, account_id: AccountIdDep
) -> WebhookWithSecret:
    """Subscribe a URL to event types. The answer carries the signing secret (a whsk_ signing
    key for an ed25519 webhook: receivers verify with GET /v1/webhooks/{id}/public-key)."""
    definition = WebhookDefinition(
        type=body.type,
        url=body.url,
        config=body.config,
        events=body.events,
        filters=body.filters,
        description=body.description,
        secret=body.secret,
        enabled=body.enabled,
        max_concurrency=body.maxConcurrency,
        scheme=SigningScheme(
            SignatureFormat(body.signatureFormat), SignatureAlgorithm(body.signatureAlgorithm)
        ),
        pacing=Pacing(body.rateLimit, Ordering(body.ordering)),
        delivery=DeliveryOptions(
            body.headers, body.retrySchedule, body.timeoutSeconds, body.proxyUrl
        ),
    )
    return await services.create_webhook(account_id, definition)


@router.get("", response_model=Page[Webhook])
async def list_webhooks(
    services: ServicesDep, account_id: AccountIdDep, limit: Limit = None, cursor: Cursor = None
) -> Page[Webhook]:
    return await services.list_webhooks(account_id, limit, cursor)


@router.post("/test", response_model=TestResult)
async def send_test_event(
    body: SendTestEvent, services: ServicesDep, account_id: AccountIdDep
) -> TestResult:
    """Send a test event to one webhook now and report the attempt. Payload fields left out
    are filled from the event type's sample; the delivery carries `x-promptha-test: true`."""
    return await services.send_test(account_id, body.webhookId, body.event, body.data)


@router.post("/test-filter", response_model=FilterTest)
async def test_filter(
    body: TestFilter, services: ServicesDep, account_id: AccountIdDep
) -> FilterTest:
    """Would a webhook with these `events` (types or patterns) and `filters` receive this
    event? Checks the filter as creating the webhook would (against `events`, or the event's
    own type when they are omitted; a 400 names the field), then
    answers `matches` and, when it does not, the clause that failed. Stores nothing."""
    return services.test_filter(
        FilterProbe(events=body.events, filters=body.filters, event=body.event, data=body.data)
    )


@router.get("/{webhook_id}", response_model=Webhook)
async def get_webhook(webhook_id: str, services: ServicesDep, account_id: AccountIdDep) -> Webhook:
    """The webhook, its health counters and its 1 h / 24 h / 7 d delivery statistics."""
    return await services.stats.webhook_with_stats(account_id, webhook_id)


@router.patch("/{webhook_id}", response_model=Webhook)
async def update_webhook(
    webhook_id: str, body: UpdateWebhook, services: ServicesDep, account_id: AccountIdDep
) -> Webhook:
    """Change any field; `{"enabled": false}` disables. `{"secret": …}` (null: generated)
    switches the secret at once, with no grace period: POST …/rotate-secret is the safe way."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    for name in (
        "url",
        "events",
        "description",
        "enabled",
        "signatureFormat",
        "signatureAlgorithm",
    ):
        if name in changes and changes[name] is None:
            raise InvalidRequestError(f"{name} cannot be null", field=name)
    for api_name, name in _RENAMED.items():
        if api_name in changes:
            changes[name] = changes.pop(api_name)
    return await services.update_webhook(account_id, webhook_id, changes)


@router.delete("/{webhook_id}", status_code=204)
async def delete_webhook(
    webhook_id: str, services: ServicesDep, account_id: AccountIdDep
) -> Response:
    await services.delete_webhook(account_id, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/secret", response_model=WebhookSecret)
async def get_webhook_secret(
    webhook_id: str, services: ServicesDep, account_id: AccountIdDep
) -> WebhookSecret:
    """Reveal the signing secret."""
    return await services.get_webhook_secret(account_id, webhook_id)


@router.get("/{webhook_id}/headers", response_model=WebhookHeaders)
async def get_webhook_headers(
    webhook_id: str, services: ServicesDep, account_id: AccountIdDep
) -> WebhookHeaders:
    """Reveal the static headers' values (the webhook lists only their names)."""
    return await services.get_webhook_headers(account_id, webhook_id)


@router.post("/{webhook_id}/rotate-secret", response_model=SecretRotation)
async def rotate_webhook_secret(
    webhook_id: str, body: RotateSecret, services: ServicesDep, account_id: AccountIdDep
) -> SecretRotation:
    """Replace the signing secret (generated when omitted). The old one keeps signing
    deliveries too (`x-promptha-signature-previous`) for `gracePeriodSeconds` (default 24 h,
    at most 7 days, 0: stop at once), and a 401/403 meanwhile is retried: a receiver can
    switch to the new secret whenever it likes in that time and lose no event. `{}`: a
    generated secret and 24 h."""
    return await services.rotate_webhook_secret(
        account_id, webhook_id, secret=body.secret, grace_period_s=body.gracePeriodSeconds
    )


@router.post("/{webhook_id}/rotate-secret/complete", response_model=Webhook)
async def complete_secret_rotation(
    webhook_id: str, services: ServicesDep, account_id: AccountIdDep
) -> Webhook:
    """End the grace period now: the previous secret stops signing. Deliveries rejected with
    401/403 meanwhile are due at once and then follow the normal rules."""
    return await services.complete_secret_rotation(account_id, webhook_id)


@router.get("/{webhook_id}/public-key", response_model=WebhookPublicKey)
async def get_webhook_public_key(
    webhook_id: str, services: ServicesDep, account_id: AccountIdDep
) -> WebhookPublicKey:
    """The whpk_ public key(s) an ed25519 webhook's v1a signatures verify with (409 for an
    hmac-sha256 webhook: its secret is shared, GET …/secret)."""
    return await services.get_webhook_public_key(account_id, webhook_id)


@router.get("/{webhook_id}/deliveries", response_model=Page[Delivery])
async def list_deliveries(
    webhook_id: str,
    services: ServicesDep,
    account_id: AccountIdDep,
    status: Literal["pending", "delivered", "failed", "skipped", "cancelled"] | None = None,
    event: Annotated[str | None, Query(description="Only this event type")] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Page[Delivery]:
    """The webhook's deliveries, newest first."""
    return await services.list_deliveries(
        account_id, webhook_id, status=status, event_type=event, limit=limit, cursor=cursor
    )
