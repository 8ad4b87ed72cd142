"""Which IP addresses a webhook may be delivered to: the special-purpose address table and the
verdict for one address.

`SPECIAL_BLOCKS` is the IANA IPv4 and IPv6 Special-Purpose Address Registries (as updated
2025-10-09), plus the few blocks other IANA registries set apart (multicast, site-local, the
deprecated IPv4-compatible and SIIT forms). Each row keeps the registry's "Globally Reachable"
cell and this service's verdict; the most specific row containing an address decides. Python
3.11's `ipaddress` predates several registry updates (it calls all of 192.0.0.0/24, 64:ff9b:1::/48,
3fff::/20 and 5f00::/16 global, and 2001:1::1 not), so the table wins wherever it has a row, and
the standard library decides only addresses no row contains. docs/security.md lists the rows.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from enum import Enum

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

VERDICT_CACHE_SIZE = 4096  # addresses; their verdicts never change while the process runs
_LOW_32_BITS = 0xFFFF_FFFF


class Reach(Enum):
    """This service's verdict for a block."""

    GLOBAL = "globally reachable"  # deliverable (unless it carries a refused IPv4 address)
    NOT_GLOBAL = "not globally reachable"  # refused
    AS_CARRIED = "judged as the IPv4 address it carries"  # IPv4-mapped: the kernel sends IPv4


class Embedding(Enum):
    """Where an IPv6 block carries an IPv4 address."""

    MAPPED = "IPv4-mapped"
    COMPATIBLE = "IPv4-compatible"
    SIIT = "SIIT IPv4-translated"
    NAT64 = "NAT64"
    SIX_TO_FOUR = "6to4"
    TEREDO = "Teredo"


@dataclass(frozen=True)
class SpecialBlock:
    """One row: a block, its registry name and reference, the registry's own "Globally
    Reachable" cell, this service's verdict, and the IPv4 address it carries, if any."""

    network: IPNetwork
    name: str
    reference: str
    registry_cell: str  # "True", "False", "N/A", "" (terminated row), or "not listed"
    reach: Reach
    carries: Embedding | None = None

    def describe(self) -> str:
        return f"{self.network} ({self.name}, {self.reference})"


def _block(
    network: str,
    name: str,
    reference: str,
    registry_cell: str,
    reach: Reach | None = None,
    carries: Embedding | None = None,
) -> SpecialBlock:
    if reach is None:
        # The registry's cell is the verdict: only "True" is deliverable. "N/A" and the blank
        # cells of terminated rows are not an assurance of global reach, so they are refused.
        reach = Reach.GLOBAL if registry_cell == "True" else Reach.NOT_GLOBAL
    return SpecialBlock(
        ipaddress.ip_network(network), name, reference, registry_cell, reach, carries
    )


_IPV4_REGISTRY = "IANA IPv4 Special-Purpose Address Registry"
_IPV6_REGISTRY = "IANA IPv6 Special-Purpose Address Registry"

SPECIAL_BLOCKS: tuple[SpecialBlock, ...] = (
    # -- IANA IPv4 Special-Purpose Address Registry --------------------------------------------
    _block("0.0.0.0/8", '"This network"', "RFC 791 §3.2", "False"),
    _block("0.0.0.0/32", '"This host on this network"', "RFC 1122 §3.2.1.3", "False"),
    _block("10.0.0.0/8", "Private-Use", "RFC 1918", "False"),
    _block("100.64.0.0/10", "Shared Address Space", "RFC 6598", "False"),
    _block("127.0.0.0/8", "Loopback", "RFC 1122 §3.2.1.3", "False"),
    _block("169.254.0.0/16", "Link Local", "RFC 3927", "False"),
    _block("172.16.0.0/12", "Private-Use", "RFC 1918", "False"),
    _block("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890 §2.1", "False"),
    _block("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335", "False"),
    _block("192.0.0.8/32", "IPv4 dummy address", "RFC 7600", "False"),
    _block("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723", "True"),
    _block("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155", "True"),
    _block("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 §2.2", "False"),
    _block("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 §2.2", "False"),
    _block("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737", "False"),
    _block("192.31.196.0/24", "AS112-v4", "RFC 7535", "True"),
    _block("192.52.193.0/24", "AMT", "RFC 7450", "True"),
    _block("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526", ""),
    _block("192.88.99.2/32", "6a44-relay anycast address", "RFC 6751", "False"),
    _block("192.168.0.0/16", "Private-Use", "RFC 1918", "False"),
    _block("192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534", "True"),
    _block("198.18.0.0/15", "Benchmarking", "RFC 2544", "False"),
    _block("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737", "False"),
    _block("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737", "False"),
    _block("240.0.0.0/4", "Reserved", "RFC 1112 §4", "False"),
    _block("255.255.255.255/32", "Limited Broadcast", "RFC 8190, RFC 919 §7", "False"),
    # -- IANA IPv4 Multicast Address Space Registry -------------------------------------------
    _block("224.0.0.0/4", "Multicast", "RFC 5771", "not listed"),
    # -- IANA IPv6 Special-Purpose Address Registry --------------------------------------------
    _block("::1/128", "Loopback Address", "RFC 4291", "False"),
    _block("::/128", "Unspecified Address", "RFC 4291", "False"),
    _block(
        "::ffff:0:0/96",
        "IPv4-mapped Address",
        "RFC 4291 §2.5.5.2",
        "False",
        Reach.AS_CARRIED,
        Embedding.MAPPED,
    ),
    _block("64:ff9b::/96", "IPv4-IPv6 Translat.", "RFC 6052", "True", carries=Embedding.NAT64),
    _block("64:ff9b:1::/48", "IPv4-IPv6 Translat.", "RFC 8215", "False", carries=Embedding.NAT64),
    _block("100::/64", "Discard-Only Address Block", "RFC 6666", "False"),
    _block("100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780", "False"),
    _block("2001::/23", "IETF Protocol Assignments", "RFC 2928", "False"),
    _block("2001::/32", "TEREDO", "RFC 4380, RFC 8190", "N/A", carries=Embedding.TEREDO),
    _block("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723", "True"),
    _block("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155", "True"),
    _block("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665", "True"),
    _block("2001:2::/48", "Benchmarking", "RFC 5180", "False"),
    _block("2001:3::/32", "AMT", "RFC 7450", "True"),
    _block("2001:4:112::/48", "AS112-v6", "RFC 7535", "True"),
    _block("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843", ""),
    _block("2001:20::/28", "ORCHIDv2", "RFC 7343", "True"),
    _block(
        "2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", "True"
    ),
    _block("2001:db8::/32", "Documentation", "RFC 3849", "False"),
    _block("2002::/16", "6to4", "RFC 3056", "N/A", carries=Embedding.SIX_TO_FOUR),
    _block("2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534", "True"),
    _block("3fff::/20", "Documentation", "RFC 9637", "False"),
    _block("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602", "False"),
    _block("fc00::/7", "Unique-Local", "RFC 4193, RFC 8190", "False"),
    _block("fe80::/10", "Link-Local Unicast", "RFC 4291", "False"),
    # -- Other IANA registries and deprecated IPv4 embeddings ----------------------------------
    _block("ff00::/8", "Multicast", "RFC 4291 §2.7", "not listed"),
    _block("fec0::/10", "Site-Local (deprecated)", "RFC 3879", "not listed"),
    _block(
        "::/96",
        "IPv4-compatible (deprecated)",
        "RFC 4291 §2.5.5.1",
        "not listed",
        carries=Embedding.COMPATIBLE,
    ),
    _block(
        "::ffff:0:0:0/96",
        "SIIT IPv4-translated (obsolete)",
        "RFC 2765 §2.1",
        "not listed",
        carries=Embedding.SIIT,
    ),
)

# Most specific first, so the first row containing an address is the one that decides.
_BY_SPECIFICITY: dict[int, tuple[SpecialBlock, ...]] = {
    version: tuple(
        sorted(
            (row for row in SPECIAL_BLOCKS if row.network.version == version),
            key=lambda row: -row.network.prefixlen,
        )
    )
    for version in (4, 6)
}


def special_block(address: IPAddress) -> SpecialBlock | None:
    """The most specific row containing `address`, or None."""
    for row in _BY_SPECIFICITY[address.version]:
        if address in row.network:
            return row
    return None


def carried_ipv4(address: ipaddress.IPv6Address, embedding: Embedding) -> tuple[IPAddress, ...]:
    """The IPv4 address(es) `address` carries in the `embedding` form."""
    if embedding is Embedding.SIX_TO_FOUR:
        six_to_four = address.sixtofour
        return () if six_to_four is None else (six_to_four,)
    if embedding is Embedding.TEREDO:
        teredo = address.teredo
        return () if teredo is None else teredo  # (server, client)
    # Mapped, compatible, SIIT and NAT64 in its /96 form carry it in the low 32 bits (a local
    # 64:ff9b:1::/48 prefix may use another RFC 6052 layout, but that block is refused whole).
    return (ipaddress.IPv4Address(int(address) & _LOW_32_BITS),)


def _standard_library_refusal(address: IPAddress) -> str | None:
    """For addresses no row contains: the standard library's categories."""
    for refused, what in (
        (address.is_unspecified, "unspecified"),
        (address.is_multicast, "multicast"),
        (address.is_reserved, "reserved"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (not address.is_global, "not globally routable"),
    ):
        if refused:
            return f"{address} is {what}"
    return None


@functools.lru_cache(maxsize=VERDICT_CACHE_SIZE)
def refusal(address: IPAddress) -> str | None:
    """Why a webhook may not be delivered to `address`, or None when it may (globally
    routable, after every IPv4 address it carries has been judged the same way)."""
    row = special_block(address)
    if row is None:
        return _standard_library_refusal(address)
    if row.carries is not None and isinstance(address, ipaddress.IPv6Address):
        for inner in carried_ipv4(address, row.carries):
            why = refusal(inner)
            if why is not None:
                return f"{address} carries {inner} ({row.carries.value}): {why}"
    if row.reach is Reach.NOT_GLOBAL:
        return f"{address} is in {row.describe()}, which is not globally reachable"
    return None
