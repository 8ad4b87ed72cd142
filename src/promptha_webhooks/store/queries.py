"""Every query the service runs. Functions take an open connection: the caller owns the
transaction (services open one per use-case; the dispatcher one per batch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import SecretStr
from sqlalchemy import (
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks import canonical_json
from promptha_webhooks.models import (
    HEALTH_DISABLE_REASONS,
    Account,
    ApiKey,
    Attempt,
    Delivery,
    Event,
    Webhook,
    WebhookHealth,
    from_ms,
)
from promptha_webhooks.records import record
from promptha_webhooks.store.database import Backend
from promptha_webhooks.store.tables import (
    accounts,
    api_keys,
    attempts,
    deliveries,
    events,
    idempotency_keys,
    webhooks,
)


@dataclass(frozen=True, slots=True)
class KeyOwner:
    key_id: str
    account_id: str | None  # None: a platform admin key


@dataclass(frozen=True, slots=True)
class FanoutTarget:
    id: str
    events: frozenset[str]
    filters: dict[str, list[Any]] | None
    kind: str = "http"
    enabled: bool = True  # False: disabled by its health, deliveries are kept as skipped


@record
class ClaimedDelivery:
    """A due delivery taken under lease, with everything needed to attempt it."""

    id: str
    event_id: str
    event_type: str
    webhook_id: str
    attempt_count: int
    is_test: bool
    body: bytes
    url: str
    secret: str
    webhook_enabled: bool
    traceparent: str | None = None  # the event's publish span (tracing on)


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    event_id: str
    request_hash: str
    created_at: int


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _account(row: Row[Any]) -> Account:
    return Account(id=row.id, name=row.name, created_at=from_ms(row.created_at))


def _webhook(row: Row[Any]) -> Webhook:
    return Webhook(
        id=row.id,
        url=row.url,
        events=orjson.loads(row.events),
        filters=orjson.loads(row.filters) if row.filters else None,
        description=row.description,
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        created_at=from_ms(row.created_at),
        updated_at=from_ms(row.updated_at),
        health=webhook_health(row),
        secret=SecretStr(row.secret),
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


def event_from_row(row: Row[Any]) -> Event:
    # As any version stored it: lone surrogates, deep nesting and big integers included.
    body = canonical_json.loads_stored(row.body)
    return Event(
        id=row.id,
        account_id=row.account_id,
        event=row.type,
        data=body["data"],
        timestamp=body["timestamp"],
        is_test=row.is_test,
        created_at=from_ms(row.created_at),
    )


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        event_id=row.event_id,
        webhook_id=row.webhook_id,
        event=row.event_type,
        status=row.status,
        attempt_count=row.attempt_count,
        next_attempt_at=from_ms(row.next_attempt_at) if row.status == "pending" else None,
        last_response_status=row.last_status_code,
        last_error=row.last_error,
        is_test=row.is_test,
        created_at=from_ms(row.created_at),
        updated_at=from_ms(row.updated_at),
    )


def _attempt(row: Row[Any], request_body: str) -> Attempt:
    return Attempt(
        id=row.id,
        number=row.number,
        trigger=row.trigger,
        outcome=row.outcome,
        url=row.url,
        request_headers=stored_headers(row.request_headers) or {},
        request_body=request_body,
        response_status=row.response_status,
        response_headers=stored_headers(row.response_headers),
        response_body=row.response_body,
        duration_ms=row.duration_ms,
        error=row.error,
        started_at=from_ms(row.started_at),
        finished_at=from_ms(row.finished_at),
    )


def stored_headers(text: str | None) -> dict[str, str] | None:
    """A stored header object as the answer's `{name: value}` strings, whatever wrote it."""
    if not text:
        return None
    headers = canonical_json.loads_stored(text)
    if not isinstance(headers, dict):
        return {"": str(headers)}
    return {
        name: value if isinstance(value, str) else str(value) for name, value in headers.items()
    }


def _claimed(r: Any) -> ClaimedDelivery:
    return ClaimedDelivery(
        id=r.id,
        event_id=r.event_id,
        event_type=r.event_type,
        webhook_id=r.webhook_id,
        attempt_count=r.attempt_count,
        is_test=r.is_test,
        body=r.body.encode(),
        url=r.url,
        secret=r.secret,
        webhook_enabled=r.enabled,
        traceparent=r.traceparent,
    )


class Store:
    """Queries for one backend (a few differ between SQLite and PostgreSQL)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    # -- accounts and keys ---------------------------------------------------------------

    async def insert_account(self, conn: AsyncConnection, id: str, name: str, now: int) -> Account:
        await conn.execute(insert(accounts).values(id=id, name=name, created_at=now))
        return Account(id=id, name=name, created_at=from_ms(now))

    async def get_account(self, conn: AsyncConnection, id: str) -> Account | None:
        row = (await conn.execute(select(accounts).where(accounts.c.id == id))).first()
        return _account(row) if row else None

    async def list_accounts(
        self, conn: AsyncConnection, limit: int, before: str | None
    ) -> list[Account]:
        query = select(accounts).order_by(accounts.c.id.desc()).limit(limit)
        if before:
            query = query.where(accounts.c.id < before)
        return [_account(row) for row in await conn.execute(query)]

    async def delete_account(self, conn: AsyncConnection, id: str) -> bool:
        """The account and everything of it; its webhooks' attempts explicitly (no foreign
        key leads to them), after the cascade, as delete_webhook does."""
        webhook_ids = list(
            (
                await conn.execute(
                    delete(webhooks).where(webhooks.c.account_id == id).returning(webhooks.c.id)
                )
            ).scalars()
        )
        result = await conn.execute(delete(accounts).where(accounts.c.id == id))
        if webhook_ids:
            await conn.execute(delete(attempts).where(attempts.c.webhook_id.in_(webhook_ids)))
        return result.rowcount > 0

    async def insert_api_key(
        self,
        conn: AsyncConnection,
        id: str,
        account_id: str | None,
        key_hash: str,
        prefix: str,
        now: int,
    ) -> ApiKey:
        await conn.execute(
            insert(api_keys).values(
                id=id, account_id=account_id, key_hash=key_hash, prefix=prefix, created_at=now
            )
        )
        return ApiKey(id=id, account_id=account_id, prefix=prefix, created_at=from_ms(now))

    async def find_key_owner(self, conn: AsyncConnection, key_hash: str) -> KeyOwner | None:
        query = select(api_keys.c.id, api_keys.c.account_id).where(api_keys.c.key_hash == key_hash)
        row = (await conn.execute(query)).first()
        return KeyOwner(row.id, row.account_id) if row else None

    async def count_admin_keys(self, conn: AsyncConnection) -> int:
        query = select(func.count()).select_from(api_keys).where(api_keys.c.account_id.is_(None))
        return int((await conn.execute(query)).scalar_one())

    async def list_api_keys(self, conn: AsyncConnection, account_id: str) -> list[ApiKey]:
        query = (
            select(api_keys)
            .where(api_keys.c.account_id == account_id)
            .order_by(api_keys.c.id.desc())
        )
        return [
            ApiKey(
                id=r.id, account_id=r.account_id, prefix=r.prefix, created_at=from_ms(r.created_at)
            )
            for r in await conn.execute(query)
        ]

    async def delete_api_key(self, conn: AsyncConnection, account_id: str, key_id: str) -> bool:
        result = await conn.execute(
            delete(api_keys).where(api_keys.c.id == key_id, api_keys.c.account_id == account_id)
        )
        return result.rowcount > 0

    # -- webhooks ------------------------------------------------------------------------

    async def insert_webhook(
        self,
        conn: AsyncConnection,
        *,
        id: str,
        account_id: str,
        url: str,
        events_: list[str],
        filters: dict[str, list[Any]] | None,
        secret: str,
        description: str,
        enabled: bool,
        now: int,
        kind: str = "http",
    ) -> None:
        await conn.execute(
            insert(webhooks).values(
                id=id,
                account_id=account_id,
                url=url,
                kind=kind,
                events=_json(events_),
                filters=_json(filters) if filters is not None else None,
                secret=secret,
                description=description,
                enabled=enabled,
                disabled_reason=None if enabled else "manual",
                created_at=now,
                updated_at=now,
            )
        )

    async def get_webhook(self, conn: AsyncConnection, account_id: str, id: str) -> Webhook | None:
        query = select(webhooks).where(webhooks.c.id == id, webhooks.c.account_id == account_id)
        row = (await conn.execute(query)).first()
        return _webhook(row) if row else None

    async def list_webhooks(
        self, conn: AsyncConnection, account_id: str, limit: int, before: str | None
    ) -> list[Webhook]:
        query = (
            select(webhooks)
            .where(webhooks.c.account_id == account_id)
            .order_by(webhooks.c.id.desc())
            .limit(limit)
        )
        if before:
            query = query.where(webhooks.c.id < before)
        return [_webhook(row) for row in await conn.execute(query)]

    async def update_webhook(
        self, conn: AsyncConnection, account_id: str, id: str, values: dict[str, Any], now: int
    ) -> bool:
        columns: dict[str, Any] = {"updated_at": now}
        for key, value in values.items():
            if key == "events":
                columns["events"] = _json(value)
            elif key == "filters":
                columns["filters"] = _json(value) if value is not None else None
            else:
                columns[key] = value
        result = await conn.execute(
            update(webhooks)
            .where(webhooks.c.id == id, webhooks.c.account_id == account_id)
            .values(**columns)
        )
        return result.rowcount > 0

    async def delete_webhook(self, conn: AsyncConnection, account_id: str, id: str) -> bool:
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

    async def webhook_endpoints(
        self, conn: AsyncConnection, webhook_ids: list[str]
    ) -> dict[str, tuple[str, str]]:
        """url and secret of each webhook, by id (the ones that exist)."""
        query = select(webhooks.c.id, webhooks.c.url, webhooks.c.secret).where(
            webhooks.c.id.in_(webhook_ids)
        )
        return {row.id: (row.url, row.secret) for row in await conn.execute(query)}

    async def fanout_targets(self, conn: AsyncConnection, account_id: str) -> list[FanoutTarget]:
        """Every enabled webhook of the account, and those its health disabled (their
        deliveries are kept as skipped for recovery); a manual disable gets nothing.
        Event and filter matching is the caller's."""
        query = select(
            webhooks.c.id,
            webhooks.c.events,
            webhooks.c.filters,
            webhooks.c.kind,
            webhooks.c.enabled,
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
                frozenset(orjson.loads(row.events)),
                orjson.loads(row.filters) if row.filters else None,
                row.kind,
                bool(row.enabled),
            )
            for row in await conn.execute(query)
        ]

    # -- listen sessions -----------------------------------------------------------------

    async def find_listen_webhook(
        self, conn: AsyncConnection, account_id: str, url: str
    ) -> str | None:
        query = select(webhooks.c.id).where(
            webhooks.c.account_id == account_id,
            webhooks.c.kind == "listen",
            webhooks.c.url == url,
        )
        row = (await conn.execute(query)).first()
        return row.id if row else None

    async def hold_listen_stream(
        self, conn: AsyncConnection, webhook_id: str, session: str
    ) -> str | None:
        """Make `session` the holder of the listen webhook's stream; return the session that
        held it (None when none did)."""
        held = (
            await conn.execute(
                select(webhooks.c.listen_session)
                .where(webhooks.c.id == webhook_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        await conn.execute(
            update(webhooks).where(webhooks.c.id == webhook_id).values(listen_session=session)
        )
        return held

    async def listen_stream_holder(self, conn: AsyncConnection, webhook_id: str) -> str | None:
        query = select(webhooks.c.listen_session).where(webhooks.c.id == webhook_id)
        held: str | None = (await conn.execute(query)).scalar_one_or_none()
        return held

    async def close_listen_stream(
        self, conn: AsyncConnection, webhook_id: str, session: str, reason: str, now: int
    ) -> bool:
        """If `session` still holds the stream: disable the listen webhook with `reason`
        (nothing piles up for it) and let go. False when another session took it over."""
        result = await conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.listen_session == session)
            .values(enabled=False, disabled_reason=reason, listen_session=None, updated_at=now)
        )
        return result.rowcount > 0

    async def release_listen_claims(
        self, conn: AsyncConnection, webhook_id: str, session: str, now: int
    ) -> int:
        """A replaced session: what it took but never reported waits for the next one."""
        result = await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.claim_token == session,
                deliveries.c.status == "pending",
            )
            .values(claim_token=None, updated_at=now)
        )
        return result.rowcount

    async def claim_listen_deliveries(
        self, conn: AsyncConnection, webhook_id: str, token: str, limit: int
    ) -> list[ClaimedDelivery]:
        """Take the listen webhook's unsent deliveries for a session (never due for workers:
        their next_attempt_at is NULL)."""
        waiting = (
            select(deliveries.c.id)
            .where(
                deliveries.c.webhook_id == webhook_id,
                # literal, as ix_deliveries_listen_waiting's condition (a parameter would
                # keep the planners from using it)
                deliveries.c.status == literal_column("'pending'"),
                deliveries.c.next_attempt_at.is_(None),
                deliveries.c.claim_token.is_(None),
            )
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        if self.backend == "postgresql":
            waiting = waiting.with_for_update(skip_locked=True)
        claimed = await conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(waiting.scalar_subquery()))
            .values(claim_token=token)
            .returning(deliveries.c.id)
        )
        ids = [row.id for row in claimed]
        if not ids:
            return []
        return await self._claimed_details(conn, ids)

    async def requeue_for_listen(self, conn: AsyncConnection, delivery_id: str, now: int) -> None:
        """Hand a delivery back to its listen webhook's next session (resends)."""
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(status="pending", next_attempt_at=None, claim_token=None, updated_at=now)
        )

    async def fail_listen_claims(
        self, conn: AsyncConnection, webhook_id: str, token: str, error: str, now: int
    ) -> int:
        """A session closed: deliveries it took but never reported are failed."""
        result = await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.claim_token == token,
                deliveries.c.status == "pending",
            )
            .values(status="failed", claim_token=None, last_error=error, updated_at=now)
        )
        return result.rowcount

    # -- events --------------------------------------------------------------------------

    async def insert_events(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        if rows:
            await conn.execute(insert(events), rows)

    async def get_event(self, conn: AsyncConnection, account_id: str, id: str) -> Event | None:
        query = select(events).where(events.c.id == id, events.c.account_id == account_id)
        row = (await conn.execute(query)).first()
        if row is None:
            return None
        count_query = select(func.count()).where(deliveries.c.event_id == id)
        count = int((await conn.execute(count_query)).scalar_one())
        return event_from_row(row).model_copy(update={"delivery_count": count})

    async def find_idempotency_key(
        self, conn: AsyncConnection, account_id: str, key: str
    ) -> IdempotencyRecord | None:
        query = select(idempotency_keys).where(
            idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == key
        )
        row = (await conn.execute(query)).first()
        return IdempotencyRecord(row.event_id, row.request_hash, row.created_at) if row else None

    async def delete_idempotency_key(
        self, conn: AsyncConnection, account_id: str, key: str
    ) -> None:
        await conn.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == key
            )
        )

    async def insert_idempotency_keys(
        self, conn: AsyncConnection, rows: list[dict[str, Any]]
    ) -> None:
        if rows:
            await conn.execute(insert(idempotency_keys), rows)

    # -- deliveries ----------------------------------------------------------------------

    async def insert_deliveries(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        if rows:
            await conn.execute(insert(deliveries), rows)

    async def _claimed_details(
        self, conn: AsyncConnection, ids: list[str]
    ) -> list[ClaimedDelivery]:
        """Bodies, URLs and secrets of claimed deliveries, in id order."""
        details = await conn.execute(
            select(
                deliveries.c.id,
                deliveries.c.event_id,
                deliveries.c.event_type,
                deliveries.c.webhook_id,
                deliveries.c.attempt_count,
                deliveries.c.is_test,
                events.c.body,
                events.c.traceparent,
                webhooks.c.url,
                webhooks.c.secret,
                webhooks.c.enabled,
            )
            .select_from(
                deliveries.join(events, events.c.id == deliveries.c.event_id).join(
                    webhooks, webhooks.c.id == deliveries.c.webhook_id
                )
            )
            .where(deliveries.c.id.in_(ids))
            .order_by(deliveries.c.id)
        )
        return [_claimed(r) for r in details]

    async def extend_leases(
        self, conn: AsyncConnection, ids: Sequence[str], token: str, lease_until: int
    ) -> int:
        """Push the lease of deliveries this worker still holds (waiting for a slot)."""
        if not ids:
            return 0
        result = await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id.in_(list(ids)),
                deliveries.c.claim_token == token,
                deliveries.c.status == "pending",
            )
            .values(next_attempt_at=lease_until)
        )
        return result.rowcount

    async def release_claims(
        self, conn: AsyncConnection, ids: Sequence[str], token: str, now: int
    ) -> int:
        """Make claimed deliveries due now again (graceful shutdown)."""
        if not ids:
            return 0
        result = await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id.in_(list(ids)),
                deliveries.c.claim_token == token,
                deliveries.c.status == "pending",
            )
            .values(next_attempt_at=now, claim_token=None)
        )
        return result.rowcount

    async def get_delivery_row(
        self, conn: AsyncConnection, account_id: str, id: str
    ) -> tuple[Delivery, str, str | None] | None:
        """The delivery, its event's body and traceparent, or None if absent or another
        account's."""
        query = (
            select(deliveries, events.c.body, events.c.traceparent)
            .select_from(deliveries.join(events, events.c.id == deliveries.c.event_id))
            .where(deliveries.c.id == id, deliveries.c.account_id == account_id)
        )
        row = (await conn.execute(query)).first()
        return (_delivery(row), row.body, row.traceparent) if row else None

    async def list_attempts(
        self, conn: AsyncConnection, delivery_id: str, request_body: str
    ) -> list[Attempt]:
        query = (
            select(attempts)
            .where(attempts.c.delivery_id == delivery_id)
            # by time: a recovered delivery starts its attempt numbers again at 1
            .order_by(attempts.c.started_at, attempts.c.id)
        )
        return [_attempt(row, request_body) for row in await conn.execute(query)]

    async def list_deliveries(
        self,
        conn: AsyncConnection,
        *,
        account_id: str,
        webhook_id: str,
        status: str | None,
        event_type: str | None,
        limit: int,
        before: str | None,
    ) -> list[Delivery]:
        query = (
            select(deliveries)
            .where(deliveries.c.webhook_id == webhook_id, deliveries.c.account_id == account_id)
            .order_by(deliveries.c.id.desc())
            .limit(limit)
        )
        if status:
            query = query.where(deliveries.c.status == status)
        if event_type:
            query = query.where(deliveries.c.event_type == event_type)
        if before:
            query = query.where(deliveries.c.id < before)
        return [_delivery(row) for row in await conn.execute(query)]

    async def get_webhook_secret_url(
        self, conn: AsyncConnection, webhook_id: str
    ) -> tuple[str, str, bool] | None:
        query = select(webhooks.c.url, webhooks.c.secret, webhooks.c.enabled).where(
            webhooks.c.id == webhook_id
        )
        row = (await conn.execute(query)).first()
        return (row.url, row.secret, row.enabled) if row else None

    async def count_pending(self, conn: AsyncConnection) -> int:
        query = select(func.count()).select_from(deliveries).where(deliveries.c.status == "pending")
        return int((await conn.execute(query)).scalar_one())
