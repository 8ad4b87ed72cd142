"""Use-cases of the management API, one transaction each: accounts and keys, webhooks,
publishing (event + its deliveries, atomically), test events, delivery logs and resends."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from promptha_webhooks import canonical_json, ids
from promptha_webhooks.catalog import (
    EVENT_TYPES,
    declared_fields,
    get_event_type,
    payload_fields,
    sample_payload,
)
from promptha_webhooks.clock import Clock, SystemClock, ms
from promptha_webhooks.config import Settings
from promptha_webhooks.delivery.attempt import (
    AttemptMode,
    DeliveryContext,
    Trigger,
    attempt,
    keep_schedule,
)
from promptha_webhooks.delivery.claim import as_claimed
from promptha_webhooks.delivery.handoff import DeliveryHandOff
from promptha_webhooks.delivery.observe import Observer
from promptha_webhooks.delivery.record import Recorder
from promptha_webhooks.delivery.transport import Transport
from promptha_webhooks.destinations import ResolveFunc, system_resolve, validate_webhook_url
from promptha_webhooks.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from promptha_webhooks.models import (
    Account,
    AccountCreated,
    ApiKey,
    Delivery,
    DeliveryDetail,
    Event,
    EventTypeInfo,
    Page,
    TestResult,
    Webhook,
    WebhookSecret,
    WebhookWithSecret,
)
from promptha_webhooks.publishing import Publisher, PublishRequest, delivery_row, encode_event
from promptha_webhooks.recovery import Recovery
from promptha_webhooks.stats import Stats
from promptha_webhooks.store import Database, Store, session_queries
from promptha_webhooks.store.notify import KEYS_CHANNEL, ChannelListener, notify_keys_revoked
from promptha_webhooks.tracing import Tracing

logger = logging.getLogger(__name__)

ACCOUNT_KEY_PREFIX = "pwk_"
ADMIN_KEY_PREFIX = "pwa_"
SECRET_PREFIX = "whsec_"
SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = 256
MAX_FILTER_KEYS = 20
MAX_FILTER_VALUES = 100
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_DESCRIPTION_LENGTH = 500
MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_BATCH_EVENTS = 1000
LISTEN_URL_PREFIX = "listen://"
# How long a key looked up once is trusted without the database. On PostgreSQL a revocation
# through any API process reaches every other one at once (NOTIFY, KEYS_CHANNEL); this bounds
# how long a revoked key still works on a process whose LISTEN connection is down.
KEY_CACHE_TTL_S = 5.0
KEY_CACHE_MAX_ENTRIES = 10_000


def hash_key(raw_key: str) -> str:
    # API keys are 256-bit random tokens, so a fast hash is enough (no password stretching).
    return hashlib.sha256(raw_key.encode()).hexdigest()


def generate_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a platform admin (account_id None) or one account."""

    key_id: str
    account_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.account_id is None

    def require_account(self) -> str:
        if self.account_id is None:
            raise PermissionDeniedError(
                "This call needs an account API key; admin keys manage accounts and publish"
            )
        return self.account_id

    def require_admin(self) -> None:
        if self.account_id is not None:
            raise PermissionDeniedError("This call needs the platform admin key")


def validate_filters(filters: Any, *, field: str = "filters") -> dict[str, list[Any]] | None:
    if filters is None:
        return None
    if not isinstance(filters, dict):
        raise InvalidRequestError("filters must be an object of {field: [values]}", field=field)
    if len(filters) > MAX_FILTER_KEYS:
        raise InvalidRequestError(f"at most {MAX_FILTER_KEYS} filter keys", field=field)
    cleaned: dict[str, list[Any]] = {}
    for key, values in filters.items():
        if not key or len(key) > 100:
            raise InvalidRequestError("filter keys must be 1-100 characters", field=field)
        if not isinstance(values, list) or not values:
            raise InvalidRequestError(
                f"filters.{key} must be a non-empty list of values", field=f"{field}.{key}"
            )
        if len(values) > MAX_FILTER_VALUES:
            raise InvalidRequestError(
                f"filters.{key} has more than {MAX_FILTER_VALUES} values", field=f"{field}.{key}"
            )
        for value in values:
            if value is None or not isinstance(value, str | int | float | bool):
                raise InvalidRequestError(
                    f"filters.{key} values must be strings, numbers or booleans",
                    field=f"{field}.{key}",
                )
        cleaned[key] = list(values)
    try:
        canonical_json.dumps(cleaned)
    except canonical_json.CanonicalJSONError as exc:
        raise InvalidRequestError(f"filters: {exc}", field=field) from None
    return cleaned


def check_filters_fit_events(
    filters: dict[str, list[Any]] | None, events: list[str], *, field: str | None = None
) -> None:
    """A 400 for a filter that would drop every event of a subscribed type.

    A filter key must be in the payload for the event to match (matching.filters_match), so a
    key the catalogue gives to some event types (`fabricId`: fabric.*) on a webhook that also
    subscribes to types without it (credits.*) silently drops all of those: the JSON Schemas
    of the event types (catalog.py) say which carry which fields. Keys no event type declares
    are fields the platform adds to its payloads (payloads keep extra fields), and pass.
    `events` are valid type names; `field`: where to point the error (default: the filter).
    """
    for key in filters or {}:
        if key == "eventId":
            raise InvalidRequestError(
                "filters.eventId: every event has its own eventId, assigned when it is "
                "published; a filter on it would never match",
                field=field or "filters.eventId",
            )
        if key not in declared_fields():
            continue
        lacking = [name for name in events if key not in payload_fields(name)]
        if not lacking:
            continue
        carriers = sorted(t.name for t in EVENT_TYPES if key in payload_fields(t.name))
        raise InvalidRequestError(
            f"filters.{key}: {_names(lacking)} {'has' if len(lacking) == 1 else 'have'} no "
            f"{key} (only {_names(carriers)} {'does' if len(carriers) == 1 else 'do'}), so "
            f"the filter would drop every one of them: subscribe to "
            f"{'it' if len(lacking) == 1 else 'them'} on another webhook, or remove the filter",
            field=field or f"filters.{key}",
        )


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def validate_events(events: Any, *, field: str = "events") -> list[str]:
    if not isinstance(events, list) or not events:
        raise InvalidRequestError("events must be a non-empty list of event types", field=field)
    for index, name in enumerate(events):
        get_event_type(name, field=f"{field}[{index}]")
    return list(dict.fromkeys(events))


def validate_secret(secret: Any, *, field: str = "secret") -> str:
    if not isinstance(secret, str) or not (SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH):
        raise InvalidRequestError(
            f"secret must be a string of {SECRET_MIN_LENGTH}-{SECRET_MAX_LENGTH} characters",
            field=field,
        )
    if not secret.isprintable():
        raise InvalidRequestError("secret must be printable text", field=field)
    return secret


def validate_description(description: Any, *, field: str = "description") -> str:
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidRequestError(
            f"description must be a string of at most {MAX_DESCRIPTION_LENGTH} characters",
            field=field,
        )
    return check_storable_text(description, field=field)


def check_storable_text(text: str, *, field: str) -> str:
    """Free text both backends store alike: no U+0000 (PostgreSQL text cannot hold it, so
    SQLite does not take it either)."""
    if "\x00" in text:
        raise InvalidRequestError(f"{field} must not contain the NUL character", field=field)
    return text


def page_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidRequestError(f"limit must be 1-{MAX_PAGE_SIZE}", field="limit")
    return limit


def check_cursor(cursor: str | None, prefix: str) -> str | None:
    if cursor is not None and not ids.has_prefix(cursor, prefix):
        raise InvalidRequestError("cursor is not a cursor this list returned", field="cursor")
    return cursor


class Services:
    """The use-cases, over one database. Built once by the app factory."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        transport: Transport,
        *,
        clock: Clock | None = None,
        resolve: ResolveFunc = system_resolve,
        on_publish: Callable[[], None] | None = None,
        observer: Observer | None = None,
        handoff: DeliveryHandOff | None = None,
    ) -> None:
        self.settings = settings
        self.db = database
        self.store = Store(database.backend)
        self.clock = clock or SystemClock()
        self.resolve = resolve
        self.tracing = Tracing(settings.tracing)
        self.context = DeliveryContext.build(settings, transport, self.clock, self.tracing)
        self.publisher = Publisher(
            settings,
            database,
            self.store,
            self.clock,
            on_publish,
            tracing=self.tracing,
            handoff=handoff,
        )
        self.observer = observer or Observer(settings, database.backend)
        self.recorder = Recorder(database, self.observer, self.clock)
        # Monitoring use-cases live in their own modules, reachable from here.
        self.stats = Stats(database, self.clock)
        self.recovery = Recovery(database, self.clock, on_requeue=on_publish)
        # Valid keys seen recently: saves a query per request. A revocation drops its keys here
        # and, on PostgreSQL, on every other API process (listen_for_revocations).
        self._key_cache: dict[str, tuple[Principal, float]] = {}
        self._revocations: ChannelListener | None = None
        self._revocations_seen = 0

    def _now(self) -> int:
        return ms(self.clock.now())

    # -- keys and accounts ---------------------------------------------------------------

    def listen_for_revocations(self) -> None:
        """PostgreSQL: LISTEN for keys revoked through any API process and drop them from this
        one's cache as the notice arrives (milliseconds after the revocation commits). While the
        LISTEN connection is down, KEY_CACHE_TTL_S bounds how long a revoked key still works;
        on reconnecting, the whole cache is dropped (notices may have been missed). SQLite is
        one process: its revocations drop the keys from its own cache."""
        if self.db.backend != "postgresql" or self._revocations is not None:
            return
        self._revocations = ChannelListener(
            self.db.url,
            KEYS_CHANNEL,
            self._forget_keys,
            f"API keys stay cached for up to {KEY_CACHE_TTL_S:g} s",
        )
        self._revocations.start()

    async def stop_listening(self) -> None:
        if self._revocations is not None:
            await self._revocations.stop()
            self._revocations = None

    def _forget_keys(self, revoked: str | None) -> None:
        """Drop the revoked keys from the cache: `key:<id>`, `account:<id>`, None (any)."""
        self._revocations_seen += 1
        kind, _, revoked_id = (revoked or "").partition(":")
        if kind == "key":
            stale = [h for h, (p, _) in self._key_cache.items() if p.key_id == revoked_id]
        elif kind == "account":
            stale = [h for h, (p, _) in self._key_cache.items() if p.account_id == revoked_id]
        else:
            self._key_cache.clear()
            return
        for key_hash in stale:
            del self._key_cache[key_hash]

    async def _revoked(self, conn: Any, revoked: str) -> None:
        """In the revoking transaction: every API process forgets the keys once it commits."""
        if self.db.backend == "postgresql":
            await notify_keys_revoked(conn, revoked)

    def known_principal(self, raw_key: str) -> Principal | None:
        """The caller of a key answered without the database: the configured admin key, or a
        key looked up within the last KEY_CACHE_TTL_S. None: `authenticate` must decide."""
        if self.settings.admin_key is not None and secrets.compare_digest(
            raw_key.encode(), self.settings.admin_key.encode()
        ):
            return Principal("key_env_admin", None)
        cached = self._key_cache.get(hash_key(raw_key))
        if cached is not None and cached[1] > self.clock.now():
            return cached[0]
        return None

    async def authenticate(self, raw_key: str | None) -> Principal:
        if not raw_key:
            raise AuthenticationError()
        known = self.known_principal(raw_key)
        if known is not None:
            return known
        key_hash = hash_key(raw_key)
        now = self.clock.now()
        revocations_seen = self._revocations_seen
        async with self.db.transaction() as conn:
            owner = await self.store.find_key_owner(conn, key_hash)
        if owner is None:
            raise AuthenticationError("Invalid API key")
        principal = Principal(owner.key_id, owner.account_id)
        if len(self._key_cache) >= KEY_CACHE_MAX_ENTRIES:
            self._key_cache.clear()
        # Not if a revocation was noticed meanwhile: the row read may predate it.
        if revocations_seen == self._revocations_seen:
            self._key_cache[key_hash] = (principal, now + KEY_CACHE_TTL_S)
        return principal

    async def ensure_admin_key(self) -> str | None:
        """Create the first admin key if none exists (and none is configured); return it."""
        if self.settings.admin_key is not None:
            return None
        async with self.db.transaction() as conn:
            if await self.store.count_admin_keys(conn):
                return None
            created = await self._insert_key(conn, None)
        return created.key

    async def _insert_key(self, conn: Any, account_id: str | None) -> ApiKey:
        prefix = ADMIN_KEY_PREFIX if account_id is None else ACCOUNT_KEY_PREFIX
        raw = prefix + secrets.token_urlsafe(32)
        key = await self.store.insert_api_key(
            conn, ids.new_id(ids.API_KEY), account_id, hash_key(raw), raw[:12], self._now()
        )
        return key.model_copy(update={"key": raw})

    async def create_account(self, name: str) -> AccountCreated:
        name = check_storable_text(name.strip(), field="name")
        if not name or len(name) > 200:
            raise InvalidRequestError("name must be 1-200 characters", field="name")
        async with self.db.transaction() as conn:
            account = await self.store.insert_account(
                conn, ids.new_id(ids.ACCOUNT), name, self._now()
            )
            key = await self._insert_key(conn, account.id)
        return AccountCreated(account=account, api_key=key)

    async def get_account(self, account_id: str) -> Account:
        async with self.db.transaction() as conn:
            account = await self.store.get_account(conn, account_id)
        if account is None:
            raise NotFoundError(f"No account {account_id}")
        return account

    async def list_accounts(self, limit: int | None, cursor: str | None) -> Page[Account]:
        size = page_limit(limit)
        async with self.db.transaction() as conn:
            rows = await self.store.list_accounts(conn, size + 1, check_cursor(cursor, ids.ACCOUNT))
        return _page(rows, size)

    async def delete_account(self, account_id: str) -> None:
        async with self.db.transaction() as conn:
            if not await self.store.delete_account(conn, account_id):
                raise NotFoundError(f"No account {account_id}")
            await self._revoked(conn, f"account:{account_id}")
        self._forget_keys(f"account:{account_id}")

    async def create_api_key(self, account_id: str) -> ApiKey:
        async with self.db.transaction() as conn:
            if await self.store.get_account(conn, account_id) is None:
                raise NotFoundError(f"No account {account_id}")
            return await self._insert_key(conn, account_id)

    async def create_admin_key(self) -> ApiKey:
        async with self.db.transaction() as conn:
            return await self._insert_key(conn, None)

    async def list_api_keys(self, account_id: str) -> list[ApiKey]:
        async with self.db.transaction() as conn:
            if await self.store.get_account(conn, account_id) is None:
                raise NotFoundError(f"No account {account_id}")
            return await self.store.list_api_keys(conn, account_id)

    async def delete_api_key(self, account_id: str, key_id: str) -> None:
        async with self.db.transaction() as conn:
            if not await self.store.delete_api_key(conn, account_id, key_id):
                raise NotFoundError(f"No API key {key_id} on account {account_id}")
            await self._revoked(conn, f"key:{key_id}")
        self._forget_keys(f"key:{key_id}")

    # -- dashboard sessions --------------------------------------------------------------

    async def revoke_dashboard_session(self, session_hash: str, expires_at_s: int) -> None:
        """Signed out: the session's cookie, and every copy of it, is refused from now on."""
        async with self.db.transaction() as conn:
            await session_queries.revoke_session(
                conn, self.db.backend, session_hash, expires_at_s * 1000, self._now()
            )

    async def dashboard_session_revoked(self, session_hash: str) -> bool:
        async with self.db.transaction() as conn:
            return await session_queries.session_revoked(conn, session_hash)

    # -- webhooks ------------------------------------------------------------------------

    async def create_webhook(
        self,
        account_id: str,
        *,
        url: str,
        events: list[str],
        secret: str | None,
        filters: dict[str, list[Any]] | None,
        description: str,
        enabled: bool = True,
    ) -> WebhookWithSecret:
        await validate_webhook_url(url, self.settings.mode, self.resolve)
        event_names = validate_events(events)
        clean_filters = validate_filters(filters)
        check_filters_fit_events(clean_filters, event_names)
        secret_value = validate_secret(secret) if secret is not None else generate_secret()
        description = validate_description(description)
        webhook_id = ids.new_id(ids.WEBHOOK)
        async with self.db.transaction() as conn:
            await self.store.insert_webhook(
                conn,
                id=webhook_id,
                account_id=account_id,
                url=url,
                events_=event_names,
                filters=clean_filters,
                secret=secret_value,
                description=description,
                enabled=enabled,
                now=self._now(),
            )
            webhook = await self.store.get_webhook(conn, account_id, webhook_id)
        assert webhook is not None
        return WebhookWithSecret.model_validate(
            webhook.model_dump(by_alias=False) | {"secret": webhook.secret}
        )

    async def get_webhook(self, account_id: str, webhook_id: str) -> Webhook:
        async with self.db.transaction() as conn:
            webhook = await self.store.get_webhook(conn, account_id, webhook_id)
        if webhook is None:
            raise NotFoundError(f"No webhook {webhook_id}")
        return webhook

    async def get_webhook_secret(self, account_id: str, webhook_id: str) -> WebhookSecret:
        webhook = await self.get_webhook(account_id, webhook_id)
        return WebhookSecret(webhook_id=webhook.id, secret=webhook.secret_value())

    async def list_webhooks(
        self, account_id: str, limit: int | None, cursor: str | None
    ) -> Page[Webhook]:
        size = page_limit(limit)
        async with self.db.transaction() as conn:
            rows = await self.store.list_webhooks(
                conn, account_id, size + 1, check_cursor(cursor, ids.WEBHOOK)
            )
        return _page(rows, size)

    async def update_webhook(
        self, account_id: str, webhook_id: str, changes: dict[str, Any]
    ) -> Webhook:
        values: dict[str, Any] = {}
        if "url" in changes:
            await validate_webhook_url(changes["url"], self.settings.mode, self.resolve)
            values["url"] = changes["url"]
        if "events" in changes:
            values["events"] = validate_events(changes["events"])
        if "filters" in changes:
            values["filters"] = validate_filters(changes["filters"])
        if "secret" in changes:
            secret = changes["secret"]
            values["secret"] = generate_secret() if secret is None else validate_secret(secret)
        if "description" in changes:
            values["description"] = validate_description(changes["description"])
        if "enabled" in changes:
            values["enabled"] = bool(changes["enabled"])
            values["disabled_reason"] = None if changes["enabled"] else "manual"
        async with self.db.transaction() as conn:
            if "events" in values or "filters" in values:
                # The two together must fit, whichever changes: new events can leave the
                # stored filters dropping every event of a type, as new filters can.
                current = await self.store.get_webhook(conn, account_id, webhook_id)
                if current is None:
                    raise NotFoundError(f"No webhook {webhook_id}")
                check_filters_fit_events(
                    values.get("filters", current.filters),
                    values.get("events", current.events),
                    field=None if "filters" in values else "events",
                )
            if not await self.store.update_webhook(
                conn, account_id, webhook_id, values, self._now()
            ):
                raise NotFoundError(f"No webhook {webhook_id}")
            if values.get("enabled"):
                # Enabled (again): a fresh failing streak, so it is not disabled at once.
                await self.observer.queries.reset_health(conn, webhook_id)
            webhook = await self.store.get_webhook(conn, account_id, webhook_id)
        assert webhook is not None
        return webhook

    async def delete_webhook(self, account_id: str, webhook_id: str) -> None:
        async with self.db.transaction() as conn:
            if not await self.store.delete_webhook(conn, account_id, webhook_id):
                raise NotFoundError(f"No webhook {webhook_id}")

    # -- events --------------------------------------------------------------------------

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

    async def _insert_test_event(
        self,
        conn: Any,
        account_id: str,
        event_id: str,
        event_name: str,
        body: bytes,
        webhook_id: str,
    ) -> str:
        """Store a test event with its one delivery; returns the delivery id."""
        now = self._now()
        await self.store.insert_events(
            conn,
            [
                {
                    "id": event_id,
                    "account_id": account_id,
                    "type": event_name,
                    "body": body.decode(),
                    "is_test": True,
                    "created_at": now,
                    # the caller's span (an instrumented API), parent of the attempt's span
                    "traceparent": self.tracing.current_traceparent(),
                }
            ],
        )
        row = delivery_row(
            event_id, webhook_id, account_id, event_name, now, is_test=True, due=False
        )
        await self.store.insert_deliveries(conn, [row])
        delivery_id: str = row["id"]
        return delivery_id

    async def publish(
        self,
        account_id: str,
        event_name: str,
        data: Any,
        *,
        idempotency_key: str | None = None,
    ) -> tuple[Event, bool]:
        """Store the event and one delivery per matching webhook, atomically.

        Returns (event, replayed): replayed is True when the idempotency key was seen within
        its window and the earlier event is returned instead of a new one.
        """
        request = PublishRequest(event_name, data, idempotency_key)
        [result] = await self.publisher.publish(account_id, [request], batch=False)
        return result

    async def publish_batch(
        self, account_id: str, requests: list[PublishRequest]
    ) -> list[tuple[Event, bool]]:
        """Publish up to MAX_BATCH_EVENTS events in one transaction: all are stored or none."""
        return await self.publisher.publish(account_id, requests, batch=True)

    async def get_event(self, account_id: str, event_id: str) -> Event:
        async with self.db.transaction() as conn:
            event = await self.store.get_event(conn, account_id, event_id)
        if event is None:
            raise NotFoundError(f"No event {event_id}")
        return event

    # -- test events and resends ---------------------------------------------------------

    async def send_test(
        self, account_id: str, webhook_id: str, event_name: str, data: Any
    ) -> TestResult:
        event_type = get_event_type(event_name)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise InvalidRequestError("data must be a JSON object", field="data")
        payload = sample_payload(event_type, {k: v for k, v in data.items() if k != "eventId"})
        now_s = self.clock.now()
        event_id = ids.new_id(ids.EVENT, now_ms=ms(now_s))
        body = encode_event(event_id, event_type.name, payload, int(now_s))
        async with self.db.transaction() as conn:
            if await self.store.get_webhook(conn, account_id, webhook_id) is None:
                raise NotFoundError(f"No webhook {webhook_id}", field="webhookId")
            delivery_id = await self._insert_test_event(
                conn, account_id, event_id, event_type.name, body, webhook_id
            )
            event = await self.store.get_event(conn, account_id, event_id)
        assert event is not None
        detail = await self._attempt_now(account_id, delivery_id, trigger=Trigger.TEST)
        return TestResult(success=detail.status == "delivered", event=event, delivery=detail)

    async def resend(self, account_id: str, delivery_id: str) -> DeliveryDetail:
        """Attempt the delivery again now, whatever its state; the answer shows the attempt."""
        return await self._attempt_now(account_id, delivery_id, trigger=Trigger.MANUAL)

    async def _attempt_now(
        self, account_id: str, delivery_id: str, *, trigger: Trigger
    ) -> DeliveryDetail:
        """One attempt of the delivery now, without retries, through the delivery path's
        attempt and record stages (a listen webhook's delivery is queued for its session)."""
        async with self.db.transaction() as conn:
            found = await self.store.get_delivery_row(conn, account_id, delivery_id)
            if found is None:
                raise NotFoundError(f"No delivery {delivery_id}")
            delivery, body, traceparent = found
            target = await self.store.get_webhook_secret_url(conn, delivery.webhook_id)
        assert target is not None
        if target[0].startswith(LISTEN_URL_PREFIX):
            # A listen session sends it: queue it for the session (or the next one).
            async with self.db.transaction() as conn:
                await self.store.requeue_for_listen(conn, delivery_id, self._now())
            return await self.get_delivery(account_id, delivery_id)
        claimed = as_claimed(delivery, body, target, traceparent)
        outcome = await attempt(self.context, claimed, AttemptMode(trigger, retries=False))
        if outcome.status == "failed" and delivery.status == "pending" and not delivery.is_test:
            # A failed manual attempt leaves a scheduled retry in place.
            due = delivery.next_attempt_at
            outcome = keep_schedule(outcome, ms(due.timestamp()) if due else self._now())
        await self.recorder.record([outcome])
        return await self.get_delivery(account_id, delivery_id)

    # -- delivery logs -------------------------------------------------------------------

    async def list_deliveries(
        self,
        account_id: str,
        webhook_id: str,
        *,
        status: str | None,
        event_type: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Delivery]:
        size = page_limit(limit)
        if event_type is not None:
            get_event_type(event_type, field="event")
        async with self.db.transaction() as conn:
            if await self.store.get_webhook(conn, account_id, webhook_id) is None:
                raise NotFoundError(f"No webhook {webhook_id}")
            rows = await self.store.list_deliveries(
                conn,
                account_id=account_id,
                webhook_id=webhook_id,
                status=status,
                event_type=event_type,
                limit=size + 1,
                before=check_cursor(cursor, ids.DELIVERY),
            )
        return _page(rows, size)

    async def get_delivery(self, account_id: str, delivery_id: str) -> DeliveryDetail:
        async with self.db.transaction() as conn:
            found = await self.store.get_delivery_row(conn, account_id, delivery_id)
            if found is None:
                raise NotFoundError(f"No delivery {delivery_id}")
            delivery, body, _traceparent = found
            attempts = await self.store.list_attempts(conn, delivery_id, body)
        return DeliveryDetail(
            **delivery.model_dump(by_alias=False, exclude={"object"}),
            payload=canonical_json.loads_stored(body),  # as any version stored it
            attempts=attempts,
        )


def _page(rows: list[Any], size: int) -> Page[Any]:
    has_more = len(rows) > size
    rows = rows[:size]
    return Page(data=rows, has_more=has_more, next_cursor=rows[-1].id if has_more else None)
