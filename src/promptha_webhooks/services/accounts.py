"""Accounts, API keys (the key cache and its revocation across processes), authentication
and dashboard sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from promptha_webhooks import ids
from promptha_webhooks.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from promptha_webhooks.models import Account, AccountCreated, ApiKey, Page
from promptha_webhooks.services.base import UseCases
from promptha_webhooks.services.validation import (
    check_cursor,
    check_storable_text,
    page_limit,
    page_of,
)
from promptha_webhooks.store.notify import KEYS_CHANNEL, ChannelListener

ACCOUNT_KEY_PREFIX = "pwk_"
ADMIN_KEY_PREFIX = "pwa_"
# How long a key looked up once is trusted without the database. On PostgreSQL a revocation
# through any API process reaches every other one at once (NOTIFY, KEYS_CHANNEL); this bounds
# how long a revoked key still works on a process whose LISTEN connection is down.
KEY_CACHE_TTL_S = 5.0
KEY_CACHE_MAX_ENTRIES = 10_000


def hash_key(raw_key: str) -> str:
    # API keys are 256-bit random tokens, so a fast hash is enough (no password stretching).
    return hashlib.sha256(raw_key.encode()).hexdigest()


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


class AccountUseCases(UseCases):
    _key_cache: dict[str, tuple[Principal, float]]
    _revocations: ChannelListener | None
    _revocations_seen: int

    def _start_key_cache(self) -> None:
        # Valid keys seen recently: saves a query per request. A revocation drops its keys here
        # and, on PostgreSQL, on every other API process (listen_for_revocations).
        self._key_cache = {}
        self._revocations = None
        self._revocations_seen = 0

    # -- keys and accounts ---------------------------------------------------------------

    def listen_for_revocations(self) -> None:
        """PostgreSQL: LISTEN for keys revoked through any API process and drop them from this
        one's cache as the notice arrives (milliseconds after the revocation commits). While the
        LISTEN connection is down, KEY_CACHE_TTL_S bounds how long a revoked key still works;
        on reconnecting, the whole cache is dropped (notices may have been missed). SQLite is
        one process: its revocations drop the keys from its own cache."""
        if not self.db.dialect.notifies or self._revocations is not None:
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
        await self.db.dialect.notify_keys_revoked(conn, revoked)

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
            owner = await self.store.keys.find_owner(conn, key_hash)
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
            if await self.store.keys.count_admin(conn):
                return None
            created = await self._insert_key(conn, None)
        return created.key

    async def _insert_key(self, conn: Any, account_id: str | None) -> ApiKey:
        prefix = ADMIN_KEY_PREFIX if account_id is None else ACCOUNT_KEY_PREFIX
        raw = prefix + secrets.token_urlsafe(32)
        key = await self.store.keys.insert(
            conn, ids.new_id(ids.API_KEY), account_id, hash_key(raw), raw[:12], self._now()
        )
        return key.model_copy(update={"key": raw})

    async def create_account(self, name: str) -> AccountCreated:
        name = check_storable_text(name.strip(), field="name")
        if not name or len(name) > 200:
            raise InvalidRequestError("name must be 1-200 characters", field="name")
        async with self.db.transaction() as conn:
            account = await self.store.accounts.insert(
                conn, ids.new_id(ids.ACCOUNT), name, self._now()
            )
            key = await self._insert_key(conn, account.id)
        return AccountCreated(account=account, api_key=key)

    async def get_account(self, account_id: str) -> Account:
        async with self.db.transaction() as conn:
            account = await self.store.accounts.get(conn, account_id)
        if account is None:
            raise NotFoundError(f"No account {account_id}")
        return account

    async def list_accounts(self, limit: int | None, cursor: str | None) -> Page[Account]:
        size = page_limit(limit)
        async with self.db.transaction() as conn:
            rows = await self.store.accounts.list(conn, size + 1, check_cursor(cursor, ids.ACCOUNT))
        return page_of(rows, size)

    async def delete_account(self, account_id: str) -> None:
        async with self.db.transaction() as conn:
            if not await self.store.accounts.delete(conn, account_id):
                raise NotFoundError(f"No account {account_id}")
            await self._revoked(conn, f"account:{account_id}")
        self._forget_keys(f"account:{account_id}")

    async def create_api_key(self, account_id: str) -> ApiKey:
        async with self.db.transaction() as conn:
            if await self.store.accounts.get(conn, account_id) is None:
                raise NotFoundError(f"No account {account_id}")
            return await self._insert_key(conn, account_id)

    async def create_admin_key(self) -> ApiKey:
        async with self.db.transaction() as conn:
            return await self._insert_key(conn, None)

    async def list_api_keys(self, account_id: str) -> list[ApiKey]:
        async with self.db.transaction() as conn:
            if await self.store.accounts.get(conn, account_id) is None:
                raise NotFoundError(f"No account {account_id}")
            return await self.store.keys.list(conn, account_id)

    async def delete_api_key(self, account_id: str, key_id: str) -> None:
        async with self.db.transaction() as conn:
            if not await self.store.keys.delete(conn, account_id, key_id):
                raise NotFoundError(f"No API key {key_id} on account {account_id}")
            await self._revoked(conn, f"key:{key_id}")
        self._forget_keys(f"key:{key_id}")

    # -- dashboard sessions --------------------------------------------------------------

    async def revoke_dashboard_session(self, session_hash: str, expires_at_s: int) -> None:
        """Signed out: the session's cookie, and every copy of it, is refused from now on."""
        async with self.db.transaction() as conn:
            await self.store.sessions.revoke(conn, session_hash, expires_at_s * 1000, self._now())

    async def dashboard_session_revoked(self, session_hash: str) -> bool:
        async with self.db.transaction() as conn:
            return await self.store.sessions.revoked(conn, session_hash)
