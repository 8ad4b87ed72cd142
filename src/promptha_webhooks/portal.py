"""The embeddable customer portal's value objects: what a portal session was created with
(read-only, return URL, theme) and the one-time link that opens it. Both the services and the
dashboard use them; nothing here talks to the database or the web framework."""

from __future__ import annotations

from dataclasses import dataclass

from promptha_webhooks.errors import PrompthaError

# A portal session lasts this long unless the caller asks otherwise (ttlSeconds).
DEFAULT_PORTAL_TTL_S = 3600
MIN_PORTAL_TTL_S = 60
MAX_PORTAL_TTL_S = 24 * 3600
MAX_PORTAL_URL_LENGTH = 2000
# Random bytes of a one-time link's token (only its SHA-256 is stored).
PORTAL_TOKEN_BYTES = 32
# Where the link lands (inside the dashboard mount) and the query parameter holding the token.
PORTAL_ENTRY_PATH = "/portal"
PORTAL_TOKEN_PARAM = "token"


@dataclass(frozen=True, slots=True)
class PortalTheme:
    """Primary colour (#rrggbb), logo URL and dark mode; None/False: the dashboard's own."""

    primary_color: str | None = None
    logo_url: str | None = None
    dark_mode: bool = False


@dataclass(frozen=True, slots=True)
class PortalOptions:
    """What a portal session is created with (checked by services/portal.py)."""

    ttl_s: int = DEFAULT_PORTAL_TTL_S
    read_only: bool = False
    return_url: str | None = None
    theme: PortalTheme = PortalTheme()


@dataclass(frozen=True, slots=True)
class PortalSession:
    """A stored portal session: the account it is scoped to and how it shows; times in ms."""

    id: str
    account_id: str
    read_only: bool
    return_url: str | None
    theme: PortalTheme
    expires_at_ms: int


@dataclass(frozen=True, slots=True)
class PortalLink:
    """A new portal session and the raw token of its one-time link (never stored)."""

    session: PortalSession
    token: str


class PortalLinkError(PrompthaError):
    """This portal link was already used or has expired: ask the platform for a new one."""

    status_code = 410
    error_type = "portal_link_invalid"
