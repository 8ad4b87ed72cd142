"""Queries of webhooks: their definitions, the fan-out targets of an account's events, and
the endpoints (url and secret) deliveries are sent to."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import SecretStr
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.delivery_settings import DEFAULT_DELIVERY_SETTINGS, DeliverySettings
from promptha_webhooks.models import HEALTH_DISABLE_REASONS, Webhook, WebhookHealth, from_ms
from promptha_webhooks.pacing import Ordering, is_paced
from promptha_webhooks.proxy_url import ProxyUrl
from promptha_webhooks.routing import Route, route_of
from promptha_webhooks.signature_headers import SignatureFormat
from promptha_webhooks.store.tables import attempts, webhooks
from promptha_webhooks.store.webhook_secrets import SecretCodec
from promptha_webhooks.webhook_secrets import Signing, SigningSecrets


@dataclass(frozen=True, slots=True)
class FanoutTarget:
    """A webhook an account's events may go to, its route (event types and patterns, filter)
    compiled once per distinct definition (routing.route_of)."""

    id: str
    route: Route
    kind: str = "http"
    enabled: bool = True  # False: disabled by its health, deliveries are kept as skipped
    max_concurrency: int | None = None  # None: the worker's default
    # Rate limit or FIFO (pacing.py): its deliveries are stored with a pace order
    paced: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a webhook's deliveries go, what signs them, whether it is enabled, and its
    concurrency cap."""

    url: str
    signing: Signing  # UnreadableSecrets: they do not decrypt, nothing is sent
    enabled: bool
    max_concurrency: int | None = None  # None: the worker's default
    settings: DeliverySettings = DEFAULT_DELIVERY_SETTINGS  # headers, retries, timeout


@dataclass(frozen=True, slots=True)
class HandOffEndpoint:
    """What a handed-over delivery's attempt needs of its webhook (read with the publish)."""

    url: str
    signing: Signing
    settings: DeliverySettings = DEFAULT_DELIVERY_SETTINGS


@dataclass(frozen=True, slots=True)
class NewWebhook:
    """A webhook to insert."""

    id: str
    account_id: str
    url: str
    events: builtins.list[str]
    filters: dict[str, Any] | None
    secret: str
    description: str
    enabled: bool
    kind: str = "http"
    max_concurrency: int | None = None  # None: the worker's default
    signature_format: SignatureFormat = SignatureFormat.PROMPTHA
    rate_limit: int | None = None  # None: no limit
    ordering: Ordering = Ordering.NONE
    # Static headers (sealed on insert), retry delays (s) and timeout (s); None: defaults
    headers: Mapping[str, str] | None = None
    retry_schedule: Sequence[float] | None = None
    timeout_seconds: int | None = None
    proxy_url: ProxyUrl | None = None  # sealed on insert; None: the server's proxy, if any
    # A broker destination: its kind and config (a JSON object, sealed on insert); "http" and
    # None: POST to `url`
    destination_type: str = "http"
    destination_config: str | None = None


_SETTINGS = (
    webhooks.c.headers,
    webhooks.c.retry_schedule,
    webhooks.c.timeout_seconds,
    webhooks.c.proxy_url,
    webhooks.c.destination_type,
    webhooks.c.destination_config,
)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


_SIGNING = (
    webhooks.c.secret,
    webhooks.c.previous_secret,
    webhooks.c.previous_secret_expires_at,
    webhooks.c.signature_format,
    webhooks.c.secret_key_id,
)


def _webhook(row: Row[Any], signing: Signing, settings: DeliverySettings) -> Webhook:
    """The webhook of a row; without its secret when it does not decrypt (`signing` says why:
    revealing it answers 503, SecretUnavailableError). Its static headers by name only."""
    destination = settings.destination
    return Webhook(
        type=row.destination_type,
        config=destination.shown() if destination is not None else None,
        header_names=(
            None if settings.unreadable else sorted(name for name, _ in settings.headers)
        ),
        retry_schedule=settings.retry_delays_s,
        timeout_seconds=row.timeout_seconds,
        proxy_url=settings.proxy.masked if settings.proxy is not None else None,
        id=row.id,
        url=row.url if row.destination_type == "http" else None,
        events=orjson.loads(row.events),
        filters=orjson.loads(row.filters) if row.filters else None,
        description=row.description,
        enabled=row.enabled,
        max_concurrency=row.max_concurrency,
        rate_limit=row.rate_limit,
        ordering=Ordering(row.ordering),
        disabled_reason=row.disabled_reason,
        created_at=from_ms(row.created_at),
        updated_at=from_ms(row.updated_at),
        health=webhook_health(row),
        signature_format=signing.format,
        signature_algorithm=(signing.algorithm if isinstance(signing, SigningSecrets) else None),
        previous_secret_expires_at=from_ms(row.previous_secret_expires_at),
        secret=SecretStr(signing.current) if isinstance(signing, SigningSecrets) else None,
        signing=signing,
    )


def webhook_health(row: Row[Any]) -> WebhookHealth:
    return WebhookHealth(
        consecutive_failures=row.consecutive_failures,
        failed_deliveries=row.failed_deliveries,
        failing_since=from_ms(row.failing_since),
        last_success_at=from_ms(row.last_success_at),
        last_failure_at=from_ms(row.last_failure_at),
        last_failure_reason=row.last_failure_reason,
        disabled_at=from_ms(row.disabled_at),
    )


class WebhookQueries:
    def __init__(self, secrets: SecretCodec) -> None:
        self.secrets = secrets

    def _signing(self, row: Any) -> Signing:
        return self.secrets.signing_secrets(
            row.id,
            (
                row.secret,
                row.previous_secret,
                row.previous_secret_expires_at,
                row.signature_format,
                row.secret_key_id,
            ),
        )

    def _settings(self, row: Any) -> DeliverySettings:
        return self.secrets.delivery_settings(
            row.id,
            (
                row.headers,
                row.retry_schedule,
                row.timeout_seconds,
                row.proxy_url,
                row.destination_type,
                row.destination_config,
            ),
        )

    async def insert(self, conn: AsyncConnection, new: NewWebhook, now: int) -> None:
        await conn.execute(
            insert(webhooks).values(
                id=new.id,
                account_id=new.account_id,
                url=new.url,
                kind=new.kind,
                events=_json(new.events),
                filters=_json(new.filters) if new.filters is not None else None,
                **self.secrets.secret_columns(new.id, new.secret, None, None),
                description=new.description,
                enabled=new.enabled,
                max_concurrency=new.max_concurrency,
                rate_limit=new.rate_limit,
                ordering=new.ordering.value,
                signature_format=new.signature_format.value,
                headers=self.secrets.headers_column(new.id, new.headers or {}),
                retry_schedule=(
                    _json(list(new.retry_schedule)) if new.retry_schedule is not None else None
                ),
                timeout_seconds=new.timeout_seconds,
                proxy_url=self.secrets.proxy_url_column(new.id, new.proxy_url),
                destination_type=new.destination_type,
                destination_config=self.secrets.destination_column(new.id, new.destination_config),
                disabled_reason=None if new.enabled else "manual",
                created_at=now,
                updated_at=now,
            )
        )

    async def get(self, conn: AsyncConnection, account_id: str, id: str) -> Webhook | None:
        query = select(webhooks).where(webhooks.c.id == id, webhooks.c.account_id == account_id)
        row = (await conn.execute(query)).first()
        return _webhook(row, self._signing(row), self._settings(row)) if row else None

    async def list(
        self, conn: AsyncConnection, account_id: str, limit: int, before: str | None
    ) -> builtins.list[Webhook]:
        query = (
            select(webhooks)
            .where(webhooks.c.account_id == account_id)
            .order_by(webhooks.c.id.desc())
            .limit(limit)
        )
        if before:
            query = query.where(webhooks.c.id < before)
        return [
            _webhook(row, self._signing(row), self._settings(row))
            for row in await conn.execute(query)
        ]

    async def update(
        self, conn: AsyncConnection, account_id: str, id: str, values: dict[str, Any], now: int
    ) -> bool:
        columns: dict[str, Any] = {"updated_at": now}
        for key, value in values.items():
            if key == "events":
                columns["events"] = _json(value)
            elif key == "filters":
                columns["filters"] = _json(value) if value is not None else None
            elif key == "headers":
                columns["headers"] = self.secrets.headers_column(id, value)
            elif key == "proxy_url":
                columns["proxy_url"] = self.secrets.proxy_url_column(id, value)
            elif key == "destination_config":
                columns["destination_config"] = self.secrets.destination_column(id, value)
            elif key == "retry_schedule":
                columns["retry_schedule"] = _json(value) if value is not None else None
            elif key == "secret":
                # A new secret at once (PATCH): no grace period, any rotation ends.
                columns.update(self.secrets.secret_columns(id, value, None, None))
            else:
                columns[key] = value
        result = await conn.execute(
            update(webhooks)
            .where(webhooks.c.id == id, webhooks.c.account_id == account_id)
            .values(**columns)
        )
        return result.rowcount > 0

    async def locked_signing(
        self, conn: AsyncConnection, account_id: str, id: str
    ) -> Signing | None:
        """The webhook's secrets (UnreadableSecrets if they do not decrypt), its row locked
        until the commit (a rotation reads them, then writes them); None if the account has no
        such webhook. FOR NO KEY UPDATE on PostgreSQL (publishes' key-share locks do not wait
        for it); SQLite renders no lock clause: its write transactions hold the whole database
        (BEGIN IMMEDIATE)."""
        query = (
            select(webhooks.c.id, *_SIGNING)
            .where(webhooks.c.id == id, webhooks.c.account_id == account_id)
            .with_for_update(key_share=True)
        )
        row = (await conn.execute(query)).first()
        return self._signing(row) if row else None

    async def set_signing(
        self, conn: AsyncConnection, account_id: str, id: str, signing: SigningSecrets, now: int
    ) -> bool:
        """Store `signing`'s secrets (current, previous and its expiry) as the webhook's."""
        columns = self.secrets.secret_columns(
            id, signing.current, signing.previous, signing.previous_expires_at
        )
        result = await conn.execute(
            update(webhooks)
            .where(webhooks.c.id == id, webhooks.c.account_id == account_id)
            .values(**columns, updated_at=now)
        )
        return result.rowcount > 0

    async def delete(self, conn: AsyncConnection, account_id: str, id: str) -> bool:
        """The webhook, its deliveries (foreign key cascade), then their attempts: attempts
        have no foreign key (migration 0006). In this order an attempt being recorded cannot
        be left behind: its writer holds its delivery locked, so the cascade waits for that
        commit, and the attempts' delete, a later statement, sees the attempt."""
        result = await conn.execute(
            delete(webhooks).where(webhooks.c.id == id, webhooks.c.account_id == account_id)
        )
        if result.rowcount == 0:
            return False
        await conn.execute(delete(attempts).where(attempts.c.webhook_id == id))
        return True

    async def endpoint(self, conn: AsyncConnection, webhook_id: str) -> Endpoint | None:
        """url, secrets, enabled and concurrency cap of the webhook, or None if there is none."""
        query = select(
            webhooks.c.id,
            webhooks.c.url,
            *_SIGNING,
            webhooks.c.enabled,
            webhooks.c.max_concurrency,
            *_SETTINGS,
        ).where(webhooks.c.id == webhook_id)
        row = (await conn.execute(query)).first()
        if row is None:
            return None
        return Endpoint(
            row.url, self._signing(row), row.enabled, row.max_concurrency, self._settings(row)
        )

    async def endpoints(
        self, conn: AsyncConnection, webhook_ids: builtins.list[str]
    ) -> dict[str, HandOffEndpoint]:
        """url, secrets and delivery settings of each webhook, by id (the ones that exist)."""
        query = select(webhooks.c.id, webhooks.c.url, *_SIGNING, *_SETTINGS).where(
            webhooks.c.id.in_(webhook_ids)
        )
        return {
            row.id: HandOffEndpoint(row.url, self._signing(row), self._settings(row))
            for row in await conn.execute(query)
        }

    async def delivery_settings(
        self, conn: AsyncConnection, account_id: str, id: str
    ) -> DeliverySettings | None:
        """The webhook's delivery settings (its header values opened), or None if the
        account has no such webhook."""
        query = select(webhooks.c.id, *_SETTINGS).where(
            webhooks.c.id == id, webhooks.c.account_id == account_id
        )
        row = (await conn.execute(query)).first()
        return self._settings(row) if row else None

    async def fanout_targets(
        self, conn: AsyncConnection, account_id: str
    ) -> builtins.list[FanoutTarget]:
        """Every enabled webhook of the account, and those its health disabled (their
        deliveries are kept as skipped for recovery); a manual disable gets nothing.
        Matching an event is the caller's (target.route, or a routing.RouteTable of them)."""
        query = select(
            webhooks.c.id,
            webhooks.c.events,
            webhooks.c.filters,
            webhooks.c.kind,
            webhooks.c.enabled,
            webhooks.c.max_concurrency,
            webhooks.c.rate_limit,
            webhooks.c.ordering,
        ).where(
            webhooks.c.account_id == account_id,
            or_(
                webhooks.c.enabled.is_(True),
                webhooks.c.disabled_reason.in_(HEALTH_DISABLE_REASONS),
            ),
        )
        return [
            FanoutTarget(
                row.id,
                route_of(row.events, row.filters),
                row.kind,
                bool(row.enabled),
                row.max_concurrency,
                row.kind == "http" and is_paced(row.rate_limit, row.ordering),
            )
            for row in await conn.execute(query)
        ]
