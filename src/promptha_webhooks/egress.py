"""Fixed egress: the addresses deliveries leave from, as settings, as the published list
(`GET /v1/ips`), and the start-up check that each source address belongs to this host.

The published list is EGRESS_CIDRS (what customers allow-list, e.g. a NAT gateway's addresses),
else the SOURCE_ADDRESSES the dispatcher binds to. Its version is a hash of its normal form
(sorted, deduplicated networks), so every node serving the same settings answers the same
version and ETag, and the version changes exactly when the list does.
"""

from __future__ import annotations

import errno
import hashlib
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from promptha_webhooks.special_addresses import IPAddress, IPNetwork

# More than any NAT gateway pool; bounds what /v1/ips answers and what start-up binds.
MAX_EGRESS_ENTRIES = 256
MAX_SOURCE_ADDRESSES = 64
SHOWN_CHARS = 64  # of a bad entry, in the one-line error
VERSION_HEX_DIGITS = 16  # 64 bits of SHA-256: a version, not a secret


def parse_egress_cidrs(value: str, name: str = "EGRESS_CIDRS") -> tuple[IPNetwork, ...]:
    """Comma-separated addresses or CIDRs (IPv4 and IPv6); an address is its /32 or /128.
    ValueError naming the first bad entry (a CIDR with host bits set is one: a typo)."""
    networks: list[IPNetwork] = []
    for item in _items(value, name, MAX_EGRESS_ENTRIES):
        try:
            if "%" in item:
                raise ValueError("a zone id has no meaning to another host")
            network = ipaddress.ip_network(item, strict=True)
        except ValueError as exc:
            # ipaddress's reason repeats the entry: only a short one is worth the line.
            why = _host_bits_hint(item) or (f" ({exc})" if len(item) <= SHOWN_CHARS else "")
            raise ValueError(
                f"{name}: {item[:SHOWN_CHARS]!r} is not an address or CIDR{why}"
            ) from None
        networks.append(network)
    return normal_form(networks)


def parse_source_addresses(value: str, name: str = "SOURCE_ADDRESSES") -> tuple[IPAddress, ...]:
    """Comma-separated local IP addresses (no prefix, no zone) to bind outbound connections to."""
    addresses: list[IPAddress] = []
    for item in _items(value, name, MAX_SOURCE_ADDRESSES):
        try:
            address = ipaddress.ip_address(item)
        except ValueError:
            raise ValueError(
                f"{name}: {item[:SHOWN_CHARS]!r} is not an IP address "
                "(one address per entry, no /prefix)"
            ) from None
        if address.is_unspecified or address.is_multicast or "%" in item:
            raise ValueError(f"{name}: {item[:SHOWN_CHARS]!r} cannot be a source address")
        addresses.append(address)
    return tuple(dict.fromkeys(addresses))


def _items(value: str, name: str, limit: int) -> list[str]:
    if not value.isascii():
        raise ValueError(f"{name} must hold only IP addresses (ASCII)")
    items = [part.strip() for part in value.split(",") if part.strip()]
    if len(items) > limit:
        raise ValueError(f"{name} holds {len(items)} entries; at most {limit}")
    return items


def _host_bits_hint(item: str) -> str:
    try:
        network = ipaddress.ip_network(item, strict=False)
    except ValueError:
        return ""
    return f": host bits are set; did you mean {network}?"


def normal_form(networks: Iterable[IPNetwork]) -> tuple[IPNetwork, ...]:
    """Deduplicated, IPv4 first, then in address order: the list's one spelling."""
    return tuple(sorted(set(networks), key=lambda net: (net.version, net)))


@dataclass(frozen=True, slots=True)
class EgressList:
    """What `GET /v1/ips` publishes."""

    addresses: tuple[str, ...]  # "203.0.113.7/32", "2001:db8::/48", in normal form
    version: str  # hash of `addresses`
    updated_at: datetime  # when the list last changed


def published_addresses(
    egress_cidrs: tuple[IPNetwork, ...], source_addresses: tuple[IPAddress, ...]
) -> tuple[str, ...]:
    """The published list: EGRESS_CIDRS, else the source addresses (each as one host)."""
    networks = egress_cidrs or normal_form(ipaddress.ip_network(a) for a in source_addresses)
    return tuple(str(network) for network in networks)


def egress_list(
    egress_cidrs: tuple[IPNetwork, ...],
    source_addresses: tuple[IPAddress, ...],
    updated_at: datetime,
) -> EgressList:
    addresses = published_addresses(egress_cidrs, source_addresses)
    return EgressList(addresses, list_version(addresses), updated_at)


def list_version(addresses: tuple[str, ...]) -> str:
    digest = hashlib.sha256("\n".join(addresses).encode("ascii")).hexdigest()
    return digest[:VERSION_HEX_DIGITS]


def unassigned(addresses: Iterable[IPAddress]) -> tuple[IPAddress, ...]:
    """The addresses this host cannot send from (binding to them fails: not assigned to any of
    its interfaces). What the kernel says when it binds is what an outbound connection gets."""
    missing: list[IPAddress] = []
    for address in addresses:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.bind((str(address), 0))
        except OSError as exc:
            if exc.errno not in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EINVAL):
                raise
            missing.append(address)
    return tuple(missing)
