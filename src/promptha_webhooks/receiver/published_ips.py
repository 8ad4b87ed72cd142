"""The service's published egress list (`GET /v1/ips`), fetched live or read from a pinned
copy, for ``IPAllowList.from_promptha`` and ``IPAllowList.from_file``.

The document is ``{"version", "updatedAt", "addresses": ["203.0.113.7/32", ...]}``, as the
service answers it and as ``promptha-webhooks ips --save FILE`` writes it. A document that is
not that, or holds no address, is refused: an empty allow-list would refuse every delivery.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from promptha_webhooks.receiver.errors import ReceiverError

__all__ = [
    "DEFAULT_FETCH_TIMEOUT_S",
    "EgressListError",
    "PublishedIPs",
    "fetch_published_ips",
    "fetch_published_ips_async",
    "ips_url",
    "parse_published_ips",
    "read_published_ips",
]

IPS_PATH = "/v1/ips"
DEFAULT_FETCH_TIMEOUT_S = 10.0
MAX_DOCUMENT_BYTES = 1024 * 1024  # far more than the service's 256 entries
MAX_ADDRESSES = 4096

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class EgressListError(ReceiverError, ValueError):
    """The published egress list could not be fetched or read."""


@dataclass(frozen=True, slots=True)
class PublishedIPs:
    version: str
    updated_at: datetime
    addresses: tuple[IPNetwork, ...]


def ips_url(service_url: str) -> str:
    """`https://webhooks.example.com` (or a URL already ending in /v1/ips) → the list's URL."""
    base = service_url.rstrip("/")
    return base if base.endswith(IPS_PATH) else base + IPS_PATH


def parse_published_ips(document: Any) -> PublishedIPs:
    """The list from its JSON document; EgressListError saying what is wrong."""
    if not isinstance(document, dict):
        raise EgressListError("the egress list must be a JSON object")
    version, updated, addresses = (
        document.get("version"),
        document.get("updatedAt"),
        document.get("addresses"),
    )
    if not isinstance(version, str | int) or isinstance(version, bool):
        raise EgressListError("the egress list has no version")
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        raise EgressListError("the egress list's addresses must be a list of strings")
    if not addresses:
        raise EgressListError("the egress list holds no address (an allow-list would refuse all)")
    if len(addresses) > MAX_ADDRESSES:
        raise EgressListError(f"the egress list holds more than {MAX_ADDRESSES} addresses")
    try:
        networks = tuple(ipaddress.ip_network(a.strip(), strict=True) for a in addresses)
    except ValueError as exc:
        raise EgressListError(f"the egress list is not valid: {exc}") from None
    updated_at = _instant(updated)
    if updated_at is None:
        raise EgressListError("the egress list's updatedAt is not an RFC 3339 date-time")
    return PublishedIPs(str(version), updated_at, networks)


def _instant(value: object) -> datetime | None:
    try:
        instant = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return instant if instant is not None and instant.tzinfo is not None else None


def _parse_body(content: bytes, where: str) -> PublishedIPs:
    if len(content) > MAX_DOCUMENT_BYTES:
        raise EgressListError(f"{where}: the egress list is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = json.loads(content)
    except (ValueError, RecursionError):  # also bytes not UTF-8, and absurd nesting
        raise EgressListError(f"{where}: the egress list is not JSON") from None
    try:
        return parse_published_ips(document)
    except EgressListError as exc:
        raise EgressListError(f"{where}: {exc.message}") from None


def _answer(response: httpx.Response, url: str) -> PublishedIPs:
    if response.status_code != httpx.codes.OK:
        raise EgressListError(f"{url} answered {response.status_code}")
    return _parse_body(response.content, url)


def fetch_published_ips(
    service_url: str, *, timeout: float = DEFAULT_FETCH_TIMEOUT_S
) -> PublishedIPs:
    """GET the service's /v1/ips (blocking), within `timeout` seconds."""
    url = ips_url(service_url)
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise EgressListError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from exc
    return _answer(response, url)


async def fetch_published_ips_async(
    service_url: str, *, timeout: float = DEFAULT_FETCH_TIMEOUT_S
) -> PublishedIPs:
    """GET the service's /v1/ips (async), within `timeout` seconds."""
    url = ips_url(service_url)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        raise EgressListError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from exc
    return _answer(response, url)


def read_published_ips(path: str | Path) -> PublishedIPs:
    """A pinned copy: the JSON the service answered, saved to a file."""
    where = str(path)
    try:
        with open(path, "rb") as file:
            content = file.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise EgressListError(f"cannot read {where}: {exc.strerror or exc}") from None
    return _parse_body(content, where)
