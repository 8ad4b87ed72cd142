"""Dashboard sessions and CSRF tokens: HMAC-signed cookies (stdlib only).

The cookie holds the account id, the id of the API key that signed in (never the key itself),
a random nonce and an expiry, signed with the server's session secret. Every request checks
the signature and expiry, and `dependencies.signed_in` checks that the key still exists, so
revoking the key ends its sessions. A signed cookie stays valid wherever it is copied until it
expires, so signing out records the session as revoked in the database (`session_hash`: the
SHA-256 of its nonce, kept until the cookie expires) and `dependencies.signed_in` refuses a
revoked session on every request, on every API process. The CSRF token is an HMAC of the
session nonce: forms carry it in a hidden field and htmx sends it as the `X-CSRF-Token` header.
`seal`/`unseal` sign other cookie values for one session only (an HMAC over the session's nonce
and the value, with a key of their own): the re-posted forms' cookie (repost.py).

A customer-portal session (portal.py) is the same cookie with the portal session's id (`ps_…`)
in place of the key id and the portal session's expiry; its read-only flag, return URL and
theme stay in the `portal_sessions` table, read on every request (`dependencies.current_portal`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from promptha_webhooks import ids

SESSION_COOKIE = "pw_session"
LOGIN_CSRF_COOKIE = "pw_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_TTL_S = 12 * 3600
LOGIN_CSRF_TTL_S = 3600


@dataclass(frozen=True, slots=True)
class DashboardSession:
    """A signed-in account."""

    account_id: str
    key_id: str
    nonce: str
    expires_at: int

    @property
    def is_portal(self) -> bool:
        """Opened through a portal link (the embeddable customer portal)."""
        return ids.has_prefix(self.key_id, ids.PORTAL_SESSION)

    @property
    def session_hash(self) -> str:
        """What a sign-out records (not the nonce: the CSRF token is derived from it)."""
        return hashlib.sha256(self.nonce.encode()).hexdigest()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """Signs and verifies session cookies and derives CSRF tokens with one secret."""

    def __init__(self, secret: str, *, ttl_s: int = SESSION_TTL_S) -> None:
        # Separate keys for separate purposes, derived from the one configured secret.
        self._session_key = hashlib.sha256(b"promptha-session\0" + secret.encode()).digest()
        self._csrf_key = hashlib.sha256(b"promptha-csrf\0" + secret.encode()).digest()
        self._bound_key = hashlib.sha256(b"promptha-session-bound\0" + secret.encode()).digest()
        self.ttl_s = ttl_s

    def _sign(self, payload: str) -> str:
        return hmac.new(self._session_key, payload.encode(), hashlib.sha256).hexdigest()

    def issue(
        self,
        account_id: str,
        key_id: str,
        *,
        now: float | None = None,
        expires_at: int | None = None,
    ) -> str:
        """A new cookie value for a sign-in (`expires_at`, s: a portal session's own end)."""
        issued = int(time.time() if now is None else now)
        body = {"a": account_id, "k": key_id, "n": secrets.token_urlsafe(16)}
        body["e"] = str(issued + self.ttl_s if expires_at is None else expires_at)
        payload = _b64encode(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def load(self, cookie: str | None, *, now: float | None = None) -> DashboardSession | None:
        """The session in a cookie, or None if it is missing, tampered with or expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            body = json.loads(_b64decode(payload))
            session = DashboardSession(
                account_id=str(body["a"]),
                key_id=str(body["k"]),
                nonce=str(body["n"]),
                expires_at=int(body["e"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires_at <= (time.time() if now is None else now):
            return None
        return session

    def _sign_bound(self, session: DashboardSession, payload: str) -> str:
        message = f"{session.nonce}\0{payload}".encode()
        return hmac.new(self._bound_key, message, hashlib.sha256).hexdigest()

    def seal(self, session: DashboardSession, data: bytes) -> str:
        """A cookie value holding `data`, signed for this session only (a copy in another
        session, or edited, does not `unseal`)."""
        payload = _b64encode(data)
        return f"{payload}.{self._sign_bound(session, payload)}"

    def unseal(self, session: DashboardSession, value: str | None) -> bytes | None:
        """The data `seal` put in a value for this session, or None (missing, tampered with,
        or sealed for another session)."""
        if not value or value.count(".") != 1:
            return None
        payload, signature = value.split(".")
        if not hmac.compare_digest(_utf8(signature), _utf8(self._sign_bound(session, payload))):
            return None
        try:
            return _b64decode(payload)
        except ValueError:
            return None

    def csrf_token(self, session: DashboardSession) -> str:
        return hmac.new(self._csrf_key, session.nonce.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, session: DashboardSession, token: str | None) -> bool:
        # As bytes: compare_digest refuses non-ASCII text (a hostile token would be a 500).
        return bool(token) and hmac.compare_digest(_utf8(token), _utf8(self.csrf_token(session)))


def new_login_token() -> str:
    """The double-submit token of the sign-in form (cookie and hidden field must agree)."""
    return secrets.token_urlsafe(24)


def check_login_token(cookie: str | None, field: str | None) -> bool:
    return bool(cookie) and bool(field) and hmac.compare_digest(_utf8(cookie), _utf8(field))


def _utf8(text: str | None) -> bytes:
    """Text as bytes for compare_digest; lone surrogates kept (never an error)."""
    return str(text).encode("utf-8", "surrogatepass")
