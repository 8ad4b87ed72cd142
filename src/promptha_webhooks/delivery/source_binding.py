"""Which local address an attempt's connection leaves from (PROMPTHA_WEBHOOKS_SOURCE_ADDRESSES).

With source addresses configured, each attempt takes the next one, in turn, among those of a
family the destination has an address in, and connects only to the destination's addresses of
that family (an IPv4 source cannot reach an IPv6 address). With none, the kernel picks.
"""

from __future__ import annotations

from dataclasses import dataclass

from promptha_webhooks.special_addresses import IPAddress

# The transport keeps one connection pool per source address; this key is the unbound one.
UNBOUND = None


@dataclass(frozen=True, slots=True)
class SourceChoice:
    source: IPAddress | None  # None: no binding configured
    destinations: tuple[str, ...]  # the checked destination addresses it can reach


class SourceBinding:
    """Round-robin over the configured source addresses, per address family."""

    def __init__(self, addresses: tuple[IPAddress, ...]) -> None:
        self.addresses = addresses
        self._by_family = {
            version: tuple(a for a in addresses if a.version == version) for version in (4, 6)
        }
        self._turn = {4: 0, 6: 0}

    def choose(self, destinations: tuple[str, ...]) -> SourceChoice | str:
        """The source for an attempt to `destinations` (checked addresses), or the attempt
        log's error when no configured source address can reach any of them."""
        if not self.addresses:
            return SourceChoice(UNBOUND, destinations)
        families = [6 if ":" in address else 4 for address in destinations]
        for version in dict.fromkeys(families):  # the destination's own order of preference
            sources = self._by_family[version]
            if sources:
                turn = self._turn[version]
                self._turn[version] = (turn + 1) % len(sources)
                reachable = tuple(
                    a for a, f in zip(destinations, families, strict=True) if f == version
                )
                return SourceChoice(sources[turn], reachable)
        wanted = " or ".join(f"IPv{v}" for v in dict.fromkeys(families)) or "any"
        return (
            f"connection error: no source address (PROMPTHA_WEBHOOKS_SOURCE_ADDRESSES) of the "
            f"destination's family ({wanted})"
        )
