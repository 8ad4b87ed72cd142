"""Webhooks: create, read, list, change (URL checked by the destination guard, events and
filters that fit each other, a secret that fits the signing scheme), rotate their secret with
a grace period, and delete.

Every change of a webhook's secret (rotate, complete, PATCH) also makes the deliveries its
receiver rejected with 401/403 during a grace period due now (docs/design.md, "Secret
rotation"): the secret they will be signed with changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks import ids, signing_standard
from promptha_webhooks.catalog import get_event_type, sample_payload, validate_payload
from promptha_webhooks.delivery.brokers import BrokerConfig, DestinationKind, check_broker
from promptha_webhooks.delivery_settings import (
    PASSWORD_MASK,
    DeliveryOptions,
    check_headers,
    check_proxy_url,
    check_retry_schedule,
    check_timeout,
)
from promptha_webhooks.destinations import Purpose, validate_webhook_url
from promptha_webhooks.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    SecretUnavailableError,
)
from promptha_webhooks.models import (
    FilterTest,
    Page,
    SecretRotation,
    Webhook,
    WebhookHeaders,
    WebhookPublicKey,
    WebhookSecret,
    WebhookWithSecret,
    from_ms,
)
from promptha_webhooks.pacing import NO_PACING, Pacing, is_paced
from promptha_webhooks.proxy_guard import validate_webhook_proxy
from promptha_webhooks.routing import EventSelector, compile_filter, parse_filter
from promptha_webhooks.services.base import UseCases
from promptha_webhooks.services.validation import (
    check_cursor,
    check_filters_fit_events,
    destination_kind,
    page_limit,
    page_of,
    secret_for_format,
    signing_scheme,
    stored_config,
    validate_description,
    validate_destination,
    validate_filters,
    validate_grace_period,
    validate_max_concurrency,
    validate_ordering,
    validate_pacing,
    validate_rate_limit,
    validate_subscriptions,
)
from promptha_webhooks.signature_headers import SignatureAlgorithm, SignatureFormat
from promptha_webhooks.store import dispatch_statements
from promptha_webhooks.store.webhooks import NewWebhook
from promptha_webhooks.webhook_secrets import SigningScheme, SigningSecrets, UnreadableSecrets

# No static headers, the server's retry schedule and timeout.
DEFAULT_DELIVERY_OPTIONS = DeliveryOptions()
# promptha format, HMAC-SHA256: what a webhook signs with unless told otherwise.
DEFAULT_SCHEME = SigningScheme()


# A scheme change keeps the current secret if it fits: unknowable when it does not decrypt.
SCHEME_UNREADABLE = (
    "The webhook's signing secret does not decrypt with this server's encryption keys, so it "
    "cannot be checked against a new signing scheme: send a new secret in the same request "
    '(`"secret": null` to generate one), or restore the key (the server\'s log names it)'
)
# A rotation keeps the current secret signing: impossible when it does not decrypt.
ROTATE_UNREADABLE = (
    "The webhook's signing secret does not decrypt with this server's encryption keys, so it "
    "cannot keep signing during a rotation: restore the key (the server's log names it), or "
    'replace the secret at once with PATCH {"secret": null}'
)
# A standard webhook's algorithm is told by its key: unknowable when it does not decrypt.
ALGORITHM_UNKNOWN = (
    "The webhook's signing secret does not decrypt with this server's encryption keys, so "
    "the algorithm it signs with is unknown: name signatureAlgorithm (hmac-sha256 or "
    "ed25519) along with the new secret"
)


# Settings whose change moves the webhook's pending deliveries between the claims.
_PACING_CHANGES = frozenset({"rate_limit", "ordering"})


@dataclass(frozen=True, slots=True)
class FilterProbe:
    """An event to try against a webhook's events and filters (POST /v1/webhooks/test-filter):
    `events` None: any type; `data` None: the event type's sample."""

    events: list[str] | None
    filters: dict[str, Any] | None
    event: str
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class WebhookDefinition:
    """A webhook to create, as asked for (create_webhook checks every field): where it goes,
    what it subscribes to, and how its deliveries are signed, paced and sent."""

    url: str | None
    events: list[str]
    filters: dict[str, Any] | None = None
    description: str = ""
    # Where deliveries go: "http" (to `url`) or a broker's kind, with its `config` (no url)
    type: str = "http"
    config: Mapping[str, object] | None = None
    secret: str | None = None  # None: generated for the scheme
    enabled: bool = True
    max_concurrency: int | None = None  # None: the server's default
    scheme: SigningScheme = DEFAULT_SCHEME
    pacing: Pacing = NO_PACING
    delivery: DeliveryOptions = DEFAULT_DELIVERY_OPTIONS


class WebhookUseCases(UseCases):
    # -- routing -------------------------------------------------------------------------

    def test_filter(self, probe: FilterProbe) -> FilterTest:
        """Whether the event would be delivered, and the clause that fails if not. The events
        and filters are checked as on create (a 400 names the field); so is the payload, as a
        publish checks it."""
        events = validate_subscriptions(probe.events) if probe.events is not None else None
        filters = validate_filters(probe.filters)
        if events is not None:
            check_filters_fit_events(filters, events)
        event_type = get_event_type(probe.event)
        if events is None:  # checked against the event's own type
            check_filters_fit_events(filters, [event_type.name])
        data = sample_payload(event_type) if probe.data is None else probe.data
        if not isinstance(data, dict):
            raise InvalidRequestError("data must be a JSON object", field="data")
        validate_payload(event_type, data)
        if events is not None and not EventSelector.of(events).covers(event_type.name):
            return FilterTest(
                matches=False,
                failed_clause="events",
                message=f"{event_type.name} is not among the events {', '.join(events)}",
            )
        if not filters:
            return FilterTest(matches=True)
        failure = compile_filter(parse_filter(filters)).explain(data)
        if failure is None:
            return FilterTest(matches=True)
        return FilterTest(matches=False, failed_clause=failure.clause, message=failure.message)

    # -- webhooks ------------------------------------------------------------------------

    async def create_webhook(
        self, account_id: str, definition: WebhookDefinition
    ) -> WebhookWithSecret:
        """Create the webhook `definition` describes, every field checked first (a 400 names
        the first bad one); the answer carries its signing secret."""
        d = definition
        kind = destination_kind(d.type)
        broker = validate_destination(kind, d.url, d.config)
        await self._check_destination(d.url, broker)
        event_names = validate_subscriptions(d.events)
        clean_filters = validate_filters(d.filters)
        check_filters_fit_events(clean_filters, event_names)
        scheme = signing_scheme(d.scheme.format, d.scheme.algorithm)
        secret_value = secret_for_format(scheme.format, d.secret, algorithm=scheme.algorithm)
        description = validate_description(d.description)
        cap = validate_max_concurrency(d.max_concurrency)
        pacing = validate_pacing(d.pacing.rate_limit, d.pacing.ordering)
        delivery = d.delivery.checked()
        proxy = check_proxy_url(delivery.proxy_url)
        await validate_webhook_proxy(proxy, self.settings.mode, self.resolve)
        webhook_id = ids.new_id(ids.WEBHOOK)
        async with self.db.transaction() as conn:
            new = NewWebhook(
                id=webhook_id,
                account_id=account_id,
                url=d.url or "",
                events=event_names,
                filters=clean_filters,
                secret=secret_value,
                description=description,
                enabled=d.enabled,
                max_concurrency=cap,
                signature_format=scheme.format,
                rate_limit=pacing.rate_limit,
                ordering=pacing.ordering,
                headers=delivery.headers,
                retry_schedule=delivery.retry_schedule,
                timeout_seconds=delivery.timeout_seconds,
                proxy_url=proxy,
                destination_type=kind.value,
                destination_config=None if broker is None else stored_config(broker),
            )
            await self.store.webhooks.insert(conn, new, self._now())
            webhook = await self.store.webhooks.get(conn, account_id, webhook_id)
        assert webhook is not None
        return WebhookWithSecret.model_validate(
            webhook.model_dump(by_alias=False)
            | {"secret": webhook.secret, "signing": webhook.signing}
        )

    async def check_destination(self, type_: object, url: object, config: object) -> None:
        """A destination as create checks it (the dashboard's form asks before saving)."""
        broker = validate_destination(destination_kind(type_), url, config)
        await self._check_destination(url, broker)

    async def _check_destination(self, url: object, broker: BrokerConfig | None) -> None:
        """The destination guard's check of an HTTP webhook's URL, or of a broker's host."""
        if broker is None:
            await validate_webhook_url(url, self.settings.mode, self.resolve)
            return
        # Judged as an https URL on the same host and port would be (no private address in
        # production); the publisher asks again before every connection.
        decision = await check_broker(broker, self.settings.mode, self.resolve, Purpose.SAVE)
        if not decision.allowed:
            raise InvalidRequestError(decision.reason, field="config.url")

    async def _destination_values(
        self, account_id: str, webhook_id: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """The column values a change of `type`, `url` or `config` writes, checked as on
        create: switching to a broker needs its config (and drops the URL), switching to http
        needs a URL (and drops the config); a broker's config is replaced whole."""
        current = await self.get_webhook(account_id, webhook_id)
        kind = destination_kind(changes.get("type", current.type))
        switching = kind.value != current.type
        if not switching and kind is not DestinationKind.HTTP:
            changes = await self._keep_password(account_id, webhook_id, current, changes)
        if kind is DestinationKind.HTTP:
            url = changes.get("url", None if switching else current.url)
            broker = validate_destination(kind, url, changes.get("config"))
            await self._check_destination(url, broker)
            values: dict[str, Any] = {"url": url}
            if switching:
                values |= {"destination_type": kind.value, "destination_config": None}
            return values
        if not switching and "config" not in changes:
            # Only `url` (or `type` unchanged) for a broker webhook: a URL is refused.
            if changes.get("url") is not None:
                validate_destination(kind, changes["url"], None)
            return {}
        broker = validate_destination(kind, changes.get("url"), changes.get("config"))
        assert broker is not None
        await self._check_destination(None, broker)
        return {
            "url": "",
            "destination_type": kind.value,
            "destination_config": stored_config(broker),
        }

    async def _keep_password(
        self, account_id: str, webhook_id: str, current: Webhook, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """A broker config given back with the URL as shown (its password as ****) keeps the
        stored password: the dashboard's edit form, or a client that read the webhook, never
        has it."""
        config = changes.get("config")
        shown = (current.config or {}).get("url")
        if not isinstance(config, Mapping) or config.get("url") != shown:
            return changes
        if not isinstance(shown, str) or PASSWORD_MASK not in shown:
            return changes
        async with self.db.transaction() as conn:
            settings = await self.store.webhooks.delivery_settings(conn, account_id, webhook_id)
        if settings is None or settings.destination is None:
            return changes
        stored = orjson.loads(settings.destination.config)
        return changes | {"config": {**config, "url": stored.get("url")}}

    async def get_webhook(self, account_id: str, webhook_id: str) -> Webhook:
        async with self.db.transaction() as conn:
            webhook = await self.store.webhooks.get(conn, account_id, webhook_id)
        if webhook is None:
            raise NotFoundError(f"No webhook {webhook_id}")
        return self._as_of_now(webhook)

    def _as_of_now(self, webhook: Webhook) -> Webhook:
        return webhook.as_of(self._now())

    async def get_webhook_secret(self, account_id: str, webhook_id: str) -> WebhookSecret:
        webhook = await self.get_webhook(account_id, webhook_id)
        if webhook.secret is None:  # stored, but it does not decrypt (the log says why)
            raise SecretUnavailableError()
        return WebhookSecret(webhook_id=webhook.id, secret=webhook.secret_value())

    async def get_webhook_headers(self, account_id: str, webhook_id: str) -> WebhookHeaders:
        """The webhook's static headers with their values (503 when they do not decrypt)."""
        async with self.db.transaction() as conn:
            settings = await self.store.webhooks.delivery_settings(conn, account_id, webhook_id)
        if settings is None:
            raise NotFoundError(f"No webhook {webhook_id}")
        if settings.unreadable is not None:  # the log names the missing key
            raise SecretUnavailableError(
                "The webhook's custom headers do not decrypt with this server's encryption "
                "keys: restore the key (the server's log names it), or replace them with "
                'PATCH {"headers": {…}}'
            )
        return WebhookHeaders(webhook_id=webhook_id, headers=dict(settings.headers))

    async def get_webhook_public_key(self, account_id: str, webhook_id: str) -> WebhookPublicKey:
        """The whpk_ public keys receivers verify an ed25519 webhook's v1a signatures with
        (the previous key's too while a rotation runs)."""
        webhook = await self.get_webhook(account_id, webhook_id)
        signing = webhook.signing
        assert signing is not None
        if isinstance(signing, UnreadableSecrets):  # the log says which key is missing
            raise SecretUnavailableError()
        if signing.algorithm is not SignatureAlgorithm.ED25519:
            raise ConflictError(
                f"webhook {webhook_id} signs with {signing.algorithm.value} (a shared secret: "
                f"GET /v1/webhooks/{webhook_id}/secret); only an ed25519 webhook has a public key"
            )
        now = self._now()
        previous = signing.previous_at(now)
        return WebhookPublicKey(
            webhook_id=webhook.id,
            public_key=signing_standard.public_key(signing.current),
            previous_public_key=None if previous is None else signing_standard.public_key(previous),
            previous_expires_at=None if previous is None else from_ms(signing.previous_expires_at),
        )

    async def list_webhooks(
        self, account_id: str, limit: int | None, cursor: str | None
    ) -> Page[Webhook]:
        size = page_limit(limit)
        async with self.db.transaction() as conn:
            rows = await self.store.webhooks.list(
                conn, account_id, size + 1, check_cursor(cursor, ids.WEBHOOK)
            )
        return page_of([self._as_of_now(row) for row in rows], size)

    async def update_webhook(
        self, account_id: str, webhook_id: str, changes: dict[str, Any]
    ) -> Webhook:
        values: dict[str, Any] = {}
        if _DESTINATION_CHANGES & changes.keys():
            values |= await self._destination_values(account_id, webhook_id, changes)
        if "events" in changes:
            values["events"] = validate_subscriptions(changes["events"])
        if "filters" in changes:
            values["filters"] = validate_filters(changes["filters"])
        if "description" in changes:
            values["description"] = validate_description(changes["description"])
        if "max_concurrency" in changes:
            values["max_concurrency"] = validate_max_concurrency(changes["max_concurrency"])
        if "rate_limit" in changes:
            values["rate_limit"] = validate_rate_limit(changes["rate_limit"])
        if "ordering" in changes:
            values["ordering"] = validate_ordering(changes["ordering"]).value
        if "headers" in changes:  # the whole set: {} or null removes them
            values["headers"] = check_headers(changes["headers"])
        if "retry_schedule" in changes:
            values["retry_schedule"] = check_retry_schedule(changes["retry_schedule"])
        if "timeout_seconds" in changes:
            values["timeout_seconds"] = check_timeout(changes["timeout_seconds"])
        if "proxy_url" in changes:  # null: back to the server's proxy, if any
            proxy = check_proxy_url(changes["proxy_url"])
            await validate_webhook_proxy(proxy, self.settings.mode, self.resolve)
            values["proxy_url"] = proxy
        if "enabled" in changes:
            values["enabled"] = bool(changes["enabled"])
            values["disabled_reason"] = None if changes["enabled"] else "manual"
        async with self.db.transaction() as conn:
            if _SIGNING_CHANGES & changes.keys():
                current = await self.store.webhooks.get(conn, account_id, webhook_id)
                if current is None:
                    raise NotFoundError(f"No webhook {webhook_id}")
                values.update(_signing_values(current, changes))
            if "events" in values or "filters" in values:
                # The two together must fit, whichever changes: new events can leave the
                # stored filters dropping every event of a type, as new filters can.
                current = await self.store.webhooks.get(conn, account_id, webhook_id)
                if current is None:
                    raise NotFoundError(f"No webhook {webhook_id}")
                check_filters_fit_events(
                    values.get("filters", current.filters),
                    values.get("events", current.events),
                    field=None if "filters" in values else "events",
                )
            if not await self.store.webhooks.update(
                conn, account_id, webhook_id, values, self._now()
            ):
                raise NotFoundError(f"No webhook {webhook_id}")
            if "secret" in values:
                await self._wake_rejected(conn, webhook_id)
            if values.get("enabled"):
                # Enabled (again): a fresh failing streak, so it is not disabled at once.
                await self.observer.queries.reset_health(conn, webhook_id)
            webhook = await self.store.webhooks.get(conn, account_id, webhook_id)
            assert webhook is not None
            if _PACING_CHANGES & values.keys():
                # Pending deliveries follow the new pacing (paced claim or ordinary claim).
                paced = is_paced(webhook.rate_limit, webhook.ordering)
                await self.store.deliveries.repace(conn, webhook_id, paced)
        return self._as_of_now(webhook)

    async def rotate_webhook_secret(
        self,
        account_id: str,
        webhook_id: str,
        *,
        secret: str | None = None,
        grace_period_s: int | None = None,
    ) -> SecretRotation:
        """Make `secret` (generated when None) the webhook's signing secret. The secret it
        replaces keeps signing beside it for `grace_period_s` (default 24 h, at most 7 days,
        0: not at all); a previous secret still in its grace period is dropped. During the
        grace period a 401/403 is retried, not final (webhook_secrets.py)."""
        grace_s = validate_grace_period(grace_period_s)
        now = self._now()
        async with self.db.transaction() as conn:
            current = await self._locked_secrets(conn, account_id, webhook_id)
            # The new secret is of the webhook's scheme (a whsk_ key for an ed25519 webhook).
            new_secret = secret_for_format(current.format, secret, algorithm=current.algorithm)
            if new_secret == current.current:
                raise InvalidRequestError(
                    "secret is the webhook's current secret: give a new one, or none to have "
                    "one generated",
                    field="secret",
                )
            rotated = current.rotated(new_secret, now, grace_s)
            await self.store.webhooks.set_signing(conn, account_id, webhook_id, rotated, now)
            await self._wake_rejected(conn, webhook_id)
        return SecretRotation(
            webhook_id=webhook_id,
            secret=new_secret,
            previous_secret_expires_at=from_ms(rotated.previous_expires_at),
        )

    async def complete_secret_rotation(self, account_id: str, webhook_id: str) -> Webhook:
        """End the webhook's grace period now: the previous secret stops signing, and the
        deliveries its receiver rejected meanwhile are due now (then they follow the normal
        rules: a 401/403 fails). Without a grace period running it changes nothing."""
        now = self._now()
        async with self.db.transaction() as conn:
            current = await self._locked_secrets(conn, account_id, webhook_id)
            if current.previous is not None:
                await self.store.webhooks.set_signing(
                    conn, account_id, webhook_id, current.completed(), now
                )
                await self._wake_rejected(conn, webhook_id)
            webhook = await self.store.webhooks.get(conn, account_id, webhook_id)
        assert webhook is not None
        return self._as_of_now(webhook)

    async def _locked_secrets(
        self, conn: AsyncConnection, account_id: str, webhook_id: str
    ) -> SigningSecrets:
        """The webhook's secrets, its row locked until the commit: 404 for no such webhook
        (or another account's), 503 when they do not decrypt (a rotation keeps the current
        secret signing, so it needs it)."""
        current = await self.store.webhooks.locked_signing(conn, account_id, webhook_id)
        if current is None:
            raise NotFoundError(f"No webhook {webhook_id}")
        if isinstance(current, UnreadableSecrets):
            raise SecretUnavailableError(ROTATE_UNREADABLE)
        return current

    async def _wake_rejected(self, conn: AsyncConnection, webhook_id: str) -> None:
        """The webhook's secret changed: what its receiver rejected with 401/403 during a
        grace period is due now (other processes' workers told on commit)."""
        if await dispatch_statements.wake_rejected(conn, [webhook_id], self._now()):
            await self.db.dialect.notify_due(conn)

    async def delete_webhook(self, account_id: str, webhook_id: str) -> None:
        async with self.db.transaction() as conn:
            if not await self.store.webhooks.delete(conn, account_id, webhook_id):
                raise NotFoundError(f"No webhook {webhook_id}")


# Changes that decide where the webhook's deliveries go.
_DESTINATION_CHANGES = frozenset({"type", "url", "config"})

# Changes that decide the webhook's signing: its scheme and its secret.
_SIGNING_CHANGES = frozenset({"secret", "signature_format", "signature_algorithm"})


def _signing_values(current: Webhook, changes: dict[str, Any]) -> dict[str, Any]:
    """The column values a change of secret, format or algorithm writes.

    Left out, the algorithm stays (hmac-sha256 when the format becomes promptha, the only one
    it has). A new scheme keeps the current secret when it fits the scheme (a generated
    whsec_ secret fits both formats), else it needs a new one in the same request (`secret`,
    or null to generate one): a 400 says so. A new secret or a new scheme ends any running
    rotation at once (the receiver has to be set up anew either way)."""
    signing = current.signing
    assert signing is not None
    if isinstance(signing, UnreadableSecrets):
        # The stored secret does not decrypt: only a new one can be checked against a scheme.
        if "secret" not in changes:
            raise SecretUnavailableError(SCHEME_UNREADABLE)
        stored = SigningScheme(signing.format)
        new_format = SignatureFormat(changes.get("signature_format") or stored.format)
        if new_format is SignatureFormat.STANDARD and not changes.get("signature_algorithm"):
            # Not hmac-sha256 by default: that would quietly turn an ed25519 webhook into an
            # HMAC one, whose receiver (holding the public key) then rejects every delivery.
            raise InvalidRequestError(ALGORITHM_UNKNOWN, field="signatureAlgorithm")
    else:
        stored = signing.scheme
    signature_format = changes.get("signature_format") or stored.format
    algorithm = changes.get("signature_algorithm") or (
        stored.algorithm
        if SignatureFormat(signature_format) is SignatureFormat.STANDARD
        else SignatureAlgorithm.HMAC_SHA256
    )
    scheme = signing_scheme(signature_format, algorithm)
    values: dict[str, Any] = {}
    if scheme != stored:
        values["signature_format"] = scheme.format.value
    if "secret" in changes:
        values["secret"] = secret_for_format(
            scheme.format, changes["secret"], algorithm=scheme.algorithm
        )
    elif values:
        assert isinstance(signing, SigningSecrets)
        try:
            values["secret"] = secret_for_format(
                scheme.format, signing.current, algorithm=scheme.algorithm
            )
        except InvalidRequestError as exc:
            raise InvalidRequestError(
                f"the webhook's current secret does not fit signatureFormat "
                f'"{scheme.format.value}" with signatureAlgorithm "{scheme.algorithm.value}" '
                f"({exc.message}): send the new secret in the same request (`secret`), or "
                '`"secret": null` to generate one',
                field="secret",
            ) from None
    return values
