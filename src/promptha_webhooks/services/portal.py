"""The embeddable portal's use cases: create a session and its one-time link (admin), open the
link (exchanged once for a dashboard session), and read an open session back."""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import secrets
from urllib.parse import urlsplit

from promptha_webhooks import ids
from promptha_webhooks.config import Mode
from promptha_webhooks.errors import InvalidRequestError, NotFoundError
from promptha_webhooks.portal import (
    MAX_PORTAL_TTL_S,
    MAX_PORTAL_URL_LENGTH,
    MIN_PORTAL_TTL_S,
    PORTAL_TOKEN_BYTES,
    PortalLink,
    PortalLinkError,
    PortalOptions,
    PortalSession,
)
from promptha_webhooks.services.base import UseCases
from promptha_webhooks.services.validation import check_storable_text


def token_hash(token: str) -> str:
    # The token is 256 random bits: a fast hash is enough (as for API keys).
    return hashlib.sha256(token.encode()).hexdigest()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_portal_url(url: str | None, *, field: str, mode: Mode) -> str | None:
    """A return or logo URL: absolute https (http only to a loopback host in development),
    with a host, no credentials, at most MAX_PORTAL_URL_LENGTH characters."""
    if url is None:
        return None
    check_storable_text(url, field=field)
    if not url or len(url) > MAX_PORTAL_URL_LENGTH or any(c.isspace() for c in url):
        raise InvalidRequestError(
            f"{field} must be a URL of at most {MAX_PORTAL_URL_LENGTH} characters, no spaces",
            field=field,
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidRequestError(f"{field} is not a valid URL", field=field) from None
    if not host or parts.username is not None or parts.password is not None:
        raise InvalidRequestError(f"{field} must be an absolute URL with a host", field=field)
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and mode is Mode.DEVELOPMENT and _is_loopback(host):
        return url
    raise InvalidRequestError(
        f"{field} must use https (http only to a loopback host in development mode)", field=field
    )


class PortalUseCases(UseCases):
    async def create_portal_session(self, account_id: str, options: PortalOptions) -> PortalLink:
        """A portal session for the account and the raw token of its one-time link."""
        if not MIN_PORTAL_TTL_S <= options.ttl_s <= MAX_PORTAL_TTL_S:
            raise InvalidRequestError(
                f"ttlSeconds must be {MIN_PORTAL_TTL_S}-{MAX_PORTAL_TTL_S}", field="ttlSeconds"
            )
        mode = self.settings.mode
        return_url = check_portal_url(options.return_url, field="returnUrl", mode=mode)
        logo_url = check_portal_url(options.theme.logo_url, field="theme.logoUrl", mode=mode)
        now = self._now()
        session = PortalSession(
            id=ids.new_id(ids.PORTAL_SESSION),
            account_id=account_id,
            read_only=options.read_only,
            return_url=return_url,
            theme=dataclasses.replace(options.theme, logo_url=logo_url),
            expires_at_ms=now + options.ttl_s * 1000,
        )
        token = secrets.token_urlsafe(PORTAL_TOKEN_BYTES)
        async with self.db.transaction() as conn:
            if await self.store.accounts.get(conn, account_id) is None:
                raise NotFoundError(f"No account {account_id}")
            await self.store.portal.insert(conn, session, token_hash(token), now)
        return PortalLink(session=session, token=token)

    async def open_portal_session(self, token: str) -> PortalSession:
        """Exchange a link's token, once: PortalLinkError if it is unknown, used or expired."""
        if not token or len(token) > 2 * PORTAL_TOKEN_BYTES:
            raise PortalLinkError()
        async with self.db.transaction() as conn:
            session = await self.store.portal.consume(conn, token_hash(token), self._now())
        if session is None:
            raise PortalLinkError()
        return session

    async def get_portal_session(self, account_id: str, session_id: str) -> PortalSession | None:
        """An opened session that has not expired (None: gone, expired or another account's)."""
        async with self.db.transaction() as conn:
            return await self.store.portal.get_open(conn, account_id, session_id, self._now())
