"""`ProxyUrl`: an HTTP CONNECT proxy's address as the service is given it,
`http://[user:password@]host:port` — the server's PROMPTHA_WEBHOOKS_PROXY_URL and a webhook's
own `proxyUrl` — and the one parser both go through (`parse_proxy_url`).

Only the proxy's form is checked here; whether the service may connect to its address is the
destination guard's (delivery/transport.py asks it for a webhook's own proxy, not for the
operator's: docs/security.md, "Sending through a proxy").
"""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, unquote, urlsplit

from promptha_webhooks.errors import InvalidRequestError

__all__ = ["MAX_PROXY_URL_LENGTH", "PROXY_PASSWORD_MASK", "ProxyUrl", "parse_proxy_url"]

MAX_PROXY_URL_LENGTH: Final = 2048  # characters
MAX_PORT: Final = 65535
# What the API and the dashboard show instead of a proxy's password.
PROXY_PASSWORD_MASK: Final = "****"
_FORM = "http://[user:password@]host:port"
# A host name's characters (the guard normalises it further when it resolves it).
_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9_])?\.?")


@dataclass(frozen=True, slots=True)
class ProxyUrl:
    """A proxy's host (as written, IPv6 without brackets), port and optional credentials
    (percent-decoded). `text` is the URL as stored; `masked` as shown (password hidden)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def _netloc(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def address(self) -> str:
        """`http://host:port`, without credentials."""
        return f"http://{self._netloc}"

    @property
    def text(self) -> str:
        """The whole URL, credentials included (what is stored, sealed)."""
        if self.username is None:
            return self.address
        return f"http://{_quote(self.username)}:{_quote(self.password or '')}@{self._netloc}"

    @property
    def masked(self) -> str:
        """The URL with its password hidden: what the API, the CLI and the dashboard show."""
        if self.username is None:
            return self.address
        return f"http://{_quote(self.username)}:{PROXY_PASSWORD_MASK}@{self._netloc}"

    def authorization(self) -> str | None:
        """The Proxy-Authorization header value (Basic), or None without credentials."""
        if self.username is None:
            return None
        pair = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def __repr__(self) -> str:
        return f"ProxyUrl({self.masked!r})"


def parse_proxy_url(value: Any, *, field: str = "proxyUrl") -> ProxyUrl | None:
    """`value` as a ProxyUrl (None or "" → None); InvalidRequestError naming `field`
    otherwise. Plain http:// to the proxy (the tunnel carries the receiver's TLS), an explicit
    port, no path, query or fragment."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"{field} must be a string like {_FORM}, or null", field=field)
    if len(value) > MAX_PROXY_URL_LENGTH:
        raise InvalidRequestError(
            f"{field} is longer than {MAX_PROXY_URL_LENGTH} characters", field=field
        )
    if not value.isascii() or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise InvalidRequestError(
            f"{field} must be ASCII without spaces or control characters (percent-encode "
            "other characters of a user name or password)",
            field=field,
        )
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidRequestError(f"{field} is not a URL like {_FORM}", field=field) from None
    if parts.scheme.lower() != "http" or not value.lower().startswith("http://"):
        raise InvalidRequestError(
            f"{field} must start with http:// (an HTTP CONNECT proxy: {_FORM})", field=field
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or "#" in value:
        raise InvalidRequestError(
            f"{field} must not have a path, query or fragment: {_FORM}", field=field
        )
    host = parts.hostname
    if not host or "\\" in value or not _valid_host(host):
        raise InvalidRequestError(f"{field} has no valid host: {_FORM}", field=field)
    if port is None or not 1 <= port <= MAX_PORT:
        raise InvalidRequestError(f"{field} must name the proxy's port: {_FORM}", field=field)
    username = password = None
    if "@" in parts.netloc:
        try:
            username = unquote(parts.username or "", errors="strict")
            password = unquote(parts.password or "", errors="strict")
        except UnicodeDecodeError:
            raise InvalidRequestError(
                f"{field}: its user name or password has %-escapes that are not UTF-8",
                field=field,
            ) from None
        if not username or ":" in username:
            raise InvalidRequestError(
                f"{field}: credentials are user:password@ with a non-empty user name",
                field=field,
            )
    return ProxyUrl(host=host.lower(), port=port, username=username, password=password)


def _valid_host(host: str) -> bool:
    if ":" in host:  # from [brackets]: an IPv6 address, without a zone id
        if "%" in host:
            return False
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    return _HOST_NAME.fullmatch(host) is not None


def _quote(text: str) -> str:
    return quote(text, safe="")
