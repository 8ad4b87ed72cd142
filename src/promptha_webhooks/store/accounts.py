"""Queries of accounts, their API keys, and the dashboard sessions revoked before their
cookie expires (dashboard/sessions.py says why a signed cookie needs them)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.models import Account, ApiKey, from_ms
from promptha_webhooks.store.backends import Dialect
from promptha_webhooks.store.tables import accounts, api_keys, attempts, webhooks
from promptha_webhooks.store.tables import dashboard_session_revocations as revocations


@dataclass(frozen=True, slots=True)
class KeyOwner:
    key_id: str
    account_id: str | None  # None: a platform admin key


def _account(row: Row[Any]) -> Account:
    return Account(id=row.id, name=row.name, created_at=from_ms(row.created_at))


class AccountQueries:
    async def insert(self, conn: AsyncConnection, id: str, name: str, now: int) -> Account:
        await conn.execute(insert(accounts).values(id=id, name=name, created_at=now))
        return Account(id=id, name=name, created_at=from_ms(now))

    async def get(self, conn: AsyncConnection, id: str) -> Account | None:
        row = (await conn.execute(select(accounts).where(accounts.c.id == id))).first()
        return _account(row) if row else None

    async def webhooks_version(self, conn: AsyncConnection, id: str) -> int | None:
        """The account's `webhooks_version` (bumped by triggers whenever its fan-out can
        change: migrations 0004, 0015), or None if there is no such account."""
        query = select(accounts.c.webhooks_version).where(accounts.c.id == id)
        version = (await conn.execute(query)).scalar_one_or_none()
        return None if version is None else int(version)

    async def list(
        self, conn: AsyncConnection, limit: int, before: str | None
    ) -> builtins.list[Account]:
        query = select(accounts).order_by(accounts.c.id.desc()).limit(limit)
        if before:
            query = query.where(accounts.c.id < before)
        return [_account(row) for row in await conn.execute(query)]

    async def delete(self, conn: AsyncConnection, id: str) -> bool:
        """The account and everything of it; its webhooks' attempts explicitly (no foreign
        key leads to them), after the cascade, as WebhookQueries.delete does."""
        webhook_ids = builtins.list(
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


class KeyQueries:
    async def insert(
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

    async def find_owner(self, conn: AsyncConnection, key_hash: str) -> KeyOwner | None:
        query = select(api_keys.c.id, api_keys.c.account_id).where(api_keys.c.key_hash == key_hash)
        row = (await conn.execute(query)).first()
        return KeyOwner(row.id, row.account_id) if row else None

    async def count_admin(self, conn: AsyncConnection) -> int:
        query = select(func.count()).select_from(api_keys).where(api_keys.c.account_id.is_(None))
        return int((await conn.execute(query)).scalar_one())

    async def list(self, conn: AsyncConnection, account_id: str) -> builtins.list[ApiKey]:
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

    async def delete(self, conn: AsyncConnection, account_id: str, key_id: str) -> bool:
        result = await conn.execute(
            delete(api_keys).where(api_keys.c.id == key_id, api_keys.c.account_id == account_id)
        )
        return result.rowcount > 0


class SessionQueries:
    """Dashboard sign-outs."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    async def revoke(
        self, conn: AsyncConnection, session_hash: str, expires_at: int, now: int
    ) -> None:
        """Refuse the session from now on (until `expires_at`, ms, when its cookie is refused
        anyway); purge the revocations whose cookies have expired meanwhile."""
        await conn.execute(delete(revocations).where(revocations.c.expires_at <= now))
        row = {"session_hash": session_hash, "expires_at": expires_at}
        # Signed out twice (two tabs, a double click): one revocation.
        await conn.execute(self.dialect.insert_ignoring_conflicts(revocations, row))

    async def revoked(self, conn: AsyncConnection, session_hash: str) -> bool:
        query = select(revocations.c.session_hash).where(revocations.c.session_hash == session_hash)
        return (await conn.execute(query)).first() is not None
