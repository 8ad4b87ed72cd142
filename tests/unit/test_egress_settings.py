"""Fixed egress settings: EGRESS_CIDRS and SOURCE_ADDRESSES parsed and refused with one clear
line, the published list's normal form and version, the updatedAt a data directory keeps, the
round-robin over source addresses, and the check that this host has an address."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from pathlib import Path

import pytest

from promptha_webhooks.cli.environment import EGRESS_SEEN_FILE, ensure_egress_updated_at
from promptha_webhooks.config import ConfigError, Settings
from promptha_webhooks.delivery.source_binding import SourceBinding, SourceChoice
from promptha_webhooks.egress import (
    MAX_EGRESS_ENTRIES,
    egress_list,
    parse_egress_cidrs,
    parse_source_addresses,
    unassigned,
)

PREFIX = "PROMPTHA_WEBHOOKS_"
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def settings(**env: str) -> Settings:
    return Settings.from_env({PREFIX + name: value for name, value in env.items()})


def test_egress_cidrs_in_normal_form() -> None:
    found = settings(EGRESS_CIDRS=" 203.0.113.7 ,2001:DB8::/32,, 198.51.100.0/24,203.0.113.7/32")
    assert [str(n) for n in found.egress_cidrs] == [
        "198.51.100.0/24",
        "203.0.113.7/32",
        "2001:db8::/32",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.0.0.1/24", "did you mean 10.0.0.0/24"),
        ("203.0.113.0/33", "is not an address or CIDR"),
        ("nat-gateway.example.com", "is not an address or CIDR"),
        ("203.0.113.7\ud800", "ASCII"),
        ("2001:db8::1%eth0", "is not an address or CIDR"),
        (",".join(f"10.0.{i // 256}.{i % 256}" for i in range(MAX_EGRESS_ENTRIES + 1)), "at most"),
        ("x" * 100_000, "is not an address or CIDR"),
    ],
)
def test_bad_egress_cidrs_are_one_clear_line(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        settings(EGRESS_CIDRS=value)
    text = str(raised.value)
    assert text.startswith(PREFIX + "EGRESS_CIDRS") and "\n" not in text and len(text) < 300


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.77.0.3/32", "no /prefix"),
        ("0.0.0.0", "cannot be a source address"),
        ("::", "cannot be a source address"),
        ("224.0.0.1", "cannot be a source address"),
        ("fe80::1%eth0", "cannot be a source address"),
        ("eth0", "is not an IP address"),
        ("\ud800", "ASCII"),
    ],
)
def test_bad_source_addresses_are_refused(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings(SOURCE_ADDRESSES=value)


def test_egress_updated_at_wants_an_offset() -> None:
    found = settings(EGRESS_UPDATED_AT="2026-12-01T09:00:00Z").egress_updated_at
    assert found == datetime(2026, 12, 1, 9, tzinfo=UTC)
    for bad in ("2026-12-01T09:00:00", "2026-12-01", "yesterday", "\ud800"):
        with pytest.raises(ConfigError, match="RFC 3339"):
            settings(EGRESS_UPDATED_AT=bad)


def test_the_version_follows_the_list_not_its_spelling() -> None:
    one = egress_list(parse_egress_cidrs("203.0.113.7,2001:db8::/32"), (), NOW)
    same = egress_list(parse_egress_cidrs("2001:db8::/32, 203.0.113.7/32, 203.0.113.7"), (), NOW)
    other = egress_list(parse_egress_cidrs("203.0.113.8"), (), NOW)
    assert one == same
    assert other.version != one.version


def test_source_addresses_are_published_without_egress_cidrs() -> None:
    sources = parse_source_addresses("10.77.0.3, 10.77.0.1, 10.77.0.3")
    assert sources == (ipaddress.ip_address("10.77.0.3"), ipaddress.ip_address("10.77.0.1"))
    assert egress_list((), sources, NOW).addresses == ("10.77.0.1/32", "10.77.0.3/32")
    nat = parse_egress_cidrs("203.0.113.7")
    assert egress_list(nat, sources, NOW).addresses == ("203.0.113.7/32",)


def test_a_data_directory_keeps_when_it_first_saw_the_list(tmp_path: Path) -> None:
    base = Settings(data_dir=tmp_path, egress_cidrs=parse_egress_cidrs("203.0.113.7"))
    first = ensure_egress_updated_at(base).egress_updated_at
    assert first is not None and (tmp_path / EGRESS_SEEN_FILE).exists()
    (tmp_path / EGRESS_SEEN_FILE).write_text(
        (tmp_path / EGRESS_SEEN_FILE)
        .read_text()
        .replace(first.isoformat(), "2020-01-01T00:00:00+00:00")
    )
    assert ensure_egress_updated_at(base).egress_updated_at == datetime(2020, 1, 1, tzinfo=UTC)
    changed = base.replace(egress_cidrs=parse_egress_cidrs("203.0.113.8"))
    moved = ensure_egress_updated_at(changed).egress_updated_at
    assert moved is not None and moved > datetime(2020, 1, 1, tzinfo=UTC)
    # The setting wins; a damaged file is taken as a new list.
    pinned = datetime(2026, 12, 1, tzinfo=UTC)
    assert (
        ensure_egress_updated_at(base.replace(egress_updated_at=pinned)).egress_updated_at == pinned
    )
    (tmp_path / EGRESS_SEEN_FILE).write_text("{not json")
    assert ensure_egress_updated_at(base).egress_updated_at is not None


def test_source_binding_takes_each_address_in_turn_per_family() -> None:
    binding = SourceBinding(parse_source_addresses("10.0.0.1, 10.0.0.2, 2001:db8::1"))
    v4 = ("203.0.113.9",)
    picks = [binding.choose(v4) for _ in range(4)]
    assert [p.source for p in picks if isinstance(p, SourceChoice)] == [
        ipaddress.ip_address(a) for a in ("10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.2")
    ]
    # A destination with both families: the first family it names, and only its addresses.
    both = binding.choose(("2001:db8:5::1", "203.0.113.9"))
    assert both == SourceChoice(ipaddress.ip_address("2001:db8::1"), ("2001:db8:5::1",))


def test_source_binding_refuses_a_family_it_has_no_address_of() -> None:
    binding = SourceBinding(parse_source_addresses("10.0.0.1"))
    refused = binding.choose(("2001:db8:5::1",))
    assert isinstance(refused, str) and "IPv6" in refused and "no source address" in refused
    mixed = binding.choose(("2001:db8:5::1", "203.0.113.9"))
    assert mixed == SourceChoice(ipaddress.ip_address("10.0.0.1"), ("203.0.113.9",))
    unbound = SourceBinding(())
    assert unbound.choose(("2001:db8:5::1",)) == SourceChoice(None, ("2001:db8:5::1",))


def test_unassigned_names_the_addresses_this_host_lacks() -> None:
    found = unassigned(parse_source_addresses("127.0.0.1, 192.0.2.77"))
    assert found == (ipaddress.ip_address("192.0.2.77"),)
