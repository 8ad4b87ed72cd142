"""The sender's IP address behind proxies, and an allow-list of the addresses webhooks come from.

``X-Forwarded-For`` is only believed when the direct peer is one of your trusted proxies; the
chain is then walked from the right (the entries your proxies appended) to the first address that
is not a trusted proxy. Whatever a client writes at the left of the header is never believed.

The allow-list can come from the service itself (``IPAllowList.from_promptha``: its public
``/v1/ips``) or from a pinned copy of that list (``IPAllowList.from_file``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path

from promptha_webhooks.receiver.published_ips import (
    DEFAULT_FETCH_TIMEOUT_S,
    PublishedIPs,
    fetch_published_ips,
    fetch_published_ips_async,
    read_published_ips,
)

__all__ = ["IPAddress", "IPAllowList", "IPNetwork", "client_ip", "parse_networks"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    """``"52.1.2.3"``, ``"10.0.0.0/8"``, ``"2001:db8::/32"`` → networks; ValueError if invalid."""
    if isinstance(values, str):
        raise TypeError("expected a list of addresses or CIDR ranges, got one string")
    return tuple(
        value if not isinstance(value, str) else ipaddress.ip_network(value.strip(), strict=False)
        for value in values
    )


def _parse_ip(value: str | None) -> IPAddress | None:
    if value is None:
        return None
    text = value.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # "::ffff:203.0.113.7" is 203.0.113.7
    return address


def _within(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_ip(
    remote_addr: str | None,
    x_forwarded_for: str | None,
    trusted_proxies: Iterable[str | IPNetwork] = (),
) -> IPAddress | None:
    """The address of whoever sent the request, or None if ``remote_addr`` is not an IP.

    ``remote_addr`` is the direct peer (the socket's address). If it is not within
    ``trusted_proxies`` (CIDR list) it is the answer and ``X-Forwarded-For`` is ignored.
    Otherwise the header is read from the right, skipping trusted proxies: the first other
    address is the answer. An unparsable entry stops the walk at the hop that added it.
    """
    proxies = parse_networks(trusted_proxies)
    peer = _parse_ip(remote_addr)
    if peer is None or not _within(peer, proxies) or not x_forwarded_for:
        return peer
    current = peer
    for entry in reversed(x_forwarded_for.split(",")):
        hop = _parse_ip(entry)
        if hop is None:
            return current  # garbage in the chain: trust nothing left of it
        current = hop
        if not _within(hop, proxies):
            return hop
    return current  # every hop is a trusted proxy: the leftmost one sent it


class IPAllowList:
    """Accept requests only from ``allowed`` addresses or CIDR ranges.

    ``trusted_proxies`` lists your own load balancers / reverse proxies, whose
    ``X-Forwarded-For`` is believed (see :func:`client_ip`).
    """

    def __init__(
        self,
        allowed: Iterable[str | IPNetwork],
        *,
        trusted_proxies: Iterable[str | IPNetwork] = (),
    ) -> None:
        self.allowed = parse_networks(allowed)
        self.trusted_proxies = parse_networks(trusted_proxies)
        # The service's list it was built from (version, updatedAt), if it was.
        self.published: PublishedIPs | None = None

    @classmethod
    def _of(
        cls, published: PublishedIPs, trusted_proxies: Iterable[str | IPNetwork]
    ) -> IPAllowList:
        allow_list = cls(published.addresses, trusted_proxies=trusted_proxies)
        allow_list.published = published
        return allow_list

    @classmethod
    def from_promptha(
        cls,
        service_url: str,
        *,
        timeout: float = DEFAULT_FETCH_TIMEOUT_S,
        trusted_proxies: Iterable[str | IPNetwork] = (),
    ) -> IPAllowList:
        """The addresses the service publishes at ``service_url``/v1/ips (blocking; at most
        ``timeout`` seconds). EgressListError if it cannot be fetched or holds no address."""
        return cls._of(fetch_published_ips(service_url, timeout=timeout), trusted_proxies)

    @classmethod
    async def from_promptha_async(
        cls,
        service_url: str,
        *,
        timeout: float = DEFAULT_FETCH_TIMEOUT_S,
        trusted_proxies: Iterable[str | IPNetwork] = (),
    ) -> IPAllowList:
        """:meth:`from_promptha` for async code."""
        published = await fetch_published_ips_async(service_url, timeout=timeout)
        return cls._of(published, trusted_proxies)

    @classmethod
    def from_file(
        cls, path: str | Path, *, trusted_proxies: Iterable[str | IPNetwork] = ()
    ) -> IPAllowList:
        """A pinned copy of the list: the JSON ``/v1/ips`` answered (``promptha-webhooks ips
        --save FILE``). EgressListError if it cannot be read or holds no address."""
        return cls._of(read_published_ips(path), trusted_proxies)

    def __repr__(self) -> str:
        allowed = [str(net) for net in self.allowed]
        proxies = [str(net) for net in self.trusted_proxies]
        return f"IPAllowList({allowed}, trusted_proxies={proxies})"

    def allows(self, address: IPAddress | None) -> bool:
        return address is not None and _within(address, self.allowed)

    def check(self, remote_addr: str | None, x_forwarded_for: str | None = None) -> bool:
        """True if the request's sender (per :func:`client_ip`) is allowed."""
        return self.allows(client_ip(remote_addr, x_forwarded_for, self.trusted_proxies))
