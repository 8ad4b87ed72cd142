"""Which webhook URLs the service may call: scheme and syntax rules, and the public-address guard.

In production only `https://` URLs whose host resolves exclusively to public (globally routable)
addresses are allowed; the check runs when a webhook is saved and again, after DNS resolution,
before every attempt (the dispatcher connects to the addresses it checked: no DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from promptha_webhooks.config import Mode
from promptha_webhooks.errors import InvalidRequestError

MAX_URL_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port → the addresses it resolves to (strings). Injected in tests to simulate DNS.
ResolveFunc = Callable[[str, int], Awaitable[list[str]]]


class BlockedDestinationError(OSError):
    """The destination resolves to an address the service will not call."""


async def system_resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_url_syntax(url: str, mode: Mode, *, field: str = "url") -> tuple[str, int]:
    """Validate the URL's form for `mode`; return (host, port). Raises InvalidRequestError."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidRequestError(f"URL is longer than {MAX_URL_LENGTH} characters", field=field)
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise InvalidRequestError("URL must not contain spaces or control characters", field=field)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidRequestError(f"Invalid URL: {exc}", field=field) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidRequestError(
            "URL must start with https:// (or http:// in development)", field=field
        )
    if scheme == "http" and mode is Mode.PRODUCTION:
        raise InvalidRequestError(
            "Only https:// URLs are allowed in production (http:// works in development mode)",
            field=field,
        )
    host = parts.hostname
    if not host:
        raise InvalidRequestError("URL has no host", field=field)
    if parts.username is not None or parts.password is not None:
        raise InvalidRequestError("URL must not contain credentials", field=field)
    if parts.fragment:
        raise InvalidRequestError("URL must not contain a #fragment", field=field)
    return host, port or (443 if scheme == "https" else 80)


async def check_destination(
    host: str, port: int, mode: Mode, resolve: ResolveFunc = system_resolve
) -> list[str]:
    """Resolve `host`; in production every address must be public. Returns the addresses.

    Raises BlockedDestinationError (non-public address) or OSError (resolution failed).
    """
    literal = parse_ip(host)
    addresses = [str(literal)] if literal is not None else await resolve(host, port)
    if not addresses:
        raise OSError(f"{host} did not resolve to any address")
    if mode is Mode.PRODUCTION:
        for address in addresses:
            ip = parse_ip(address)
            if ip is None or not is_public(ip):
                raise BlockedDestinationError(
                    f"{host} resolves to {address}, which is not a public address"
                )
    return addresses


async def validate_webhook_url(
    url: str, mode: Mode, resolve: ResolveFunc = system_resolve, *, field: str = "url"
) -> None:
    """Everything checked when a webhook URL is saved; raises InvalidRequestError."""
    host, port = check_url_syntax(url, mode, field=field)
    if mode is Mode.DEVELOPMENT:
        return
    try:
        await check_destination(host, port, mode, resolve)
    except BlockedDestinationError as exc:
        raise InvalidRequestError(str(exc), field=field) from None
    except OSError as exc:
        raise InvalidRequestError(f"Could not resolve {host}: {exc}", field=field) from None
