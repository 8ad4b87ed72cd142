"""The special-purpose address table: one test per row (an address only that row decides, and
the verdict the IANA registries give it), the unwrapping of IPv4 carried in IPv6, and the
places where Python 3.11's `is_global` disagrees with the registries."""

from __future__ import annotations

import ipaddress
import re
import sys
from pathlib import Path

import pytest

from promptha_webhooks.special_addresses import (
    SPECIAL_BLOCKS,
    Embedding,
    Reach,
    SpecialBlock,
    carried_ipv4,
    refusal,
    special_block,
)

# row → (an address inside it and inside no more specific row, deliverable?). The verdicts are
# the registries' "Globally Reachable" column, written out here rather than read from the table.
ROW_SAMPLES: dict[str, tuple[str, bool]] = {
    "0.0.0.0/8": ("0.255.255.255", False),
    "0.0.0.0/32": ("0.0.0.0", False),
    "10.0.0.0/8": ("10.20.30.40", False),
    "100.64.0.0/10": ("100.127.255.254", False),
    "127.0.0.0/8": ("127.0.0.1", False),
    "169.254.0.0/16": ("169.254.169.254", False),
    "172.16.0.0/12": ("172.20.0.1", False),
    "192.0.0.0/24": ("192.0.0.192", False),
    "192.0.0.0/29": ("192.0.0.7", False),
    "192.0.0.8/32": ("192.0.0.8", False),
    "192.0.0.9/32": ("192.0.0.9", True),
    "192.0.0.10/32": ("192.0.0.10", True),
    "192.0.0.170/32": ("192.0.0.170", False),
    "192.0.0.171/32": ("192.0.0.171", False),
    "192.0.2.0/24": ("192.0.2.10", False),
    "192.31.196.0/24": ("192.31.196.1", True),
    "192.52.193.0/24": ("192.52.193.1", True),
    "192.88.99.0/24": ("192.88.99.1", False),
    "192.88.99.2/32": ("192.88.99.2", False),
    "192.168.0.0/16": ("192.168.0.1", False),
    "192.175.48.0/24": ("192.175.48.6", True),
    "198.18.0.0/15": ("198.19.0.1", False),
    "198.51.100.0/24": ("198.51.100.7", False),
    "203.0.113.0/24": ("203.0.113.9", False),
    "240.0.0.0/4": ("250.1.2.3", False),
    "255.255.255.255/32": ("255.255.255.255", False),
    "224.0.0.0/4": ("224.0.0.251", False),
    "::1/128": ("::1", False),
    "::/128": ("::", False),
    "::ffff:0:0/96": ("::ffff:8.8.8.8", True),  # judged as 8.8.8.8
    "64:ff9b::/96": ("64:ff9b::8.8.8.8", True),  # judged as 8.8.8.8
    "64:ff9b:1::/48": ("64:ff9b:1::8.8.8.8", False),
    "100::/64": ("100::1", False),
    "100:0:0:1::/64": ("100:0:0:1::1", False),
    "2001::/23": ("2001:100::1", False),
    "2001::/32": ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", False),  # server and client public
    "2001:1::1/128": ("2001:1::1", True),
    "2001:1::2/128": ("2001:1::2", True),
    "2001:1::3/128": ("2001:1::3", True),
    "2001:2::/48": ("2001:2::1", False),
    "2001:3::/32": ("2001:3::1", True),
    "2001:4:112::/48": ("2001:4:112::1", True),
    "2001:10::/28": ("2001:10::1", False),
    "2001:20::/28": ("2001:20::1", True),
    "2001:30::/28": ("2001:30::1", True),
    "2001:db8::/32": ("2001:db8::1", False),
    "2002::/16": ("2002:808:808::1", False),  # registry: N/A, even carrying a public address
    "2620:4f:8000::/48": ("2620:4f:8000::1", True),
    "3fff::/20": ("3fff::1", False),
    "5f00::/16": ("5f00::1", False),
    "fc00::/7": ("fd00::1", False),
    "fe80::/10": ("fe80::1", False),
    "ff00::/8": ("ff02::1", False),
    "fec0::/10": ("fec0::1", False),
    "::/96": ("::8.8.8.8", False),
    "::ffff:0:0:0/96": ("::ffff:0:808:808", False),
}


def test_every_row_has_a_sample() -> None:
    assert sorted(ROW_SAMPLES) == sorted(str(row.network) for row in SPECIAL_BLOCKS)


@pytest.mark.parametrize("row", SPECIAL_BLOCKS, ids=lambda row: str(row.network))
def test_row(row: SpecialBlock) -> None:
    network = str(row.network)
    sample, deliverable = ROW_SAMPLES[network]
    address = ipaddress.ip_address(sample)
    assert special_block(address) is row, f"{sample} is decided by another row"
    why = refusal(address)
    assert (why is None) is deliverable, why
    if why is not None and row.carries is None:
        assert network in why


@pytest.mark.parametrize(
    ("address", "embedding", "carried"),
    [
        ("::ffff:127.0.0.1", Embedding.MAPPED, ["127.0.0.1"]),
        ("::10.1.2.3", Embedding.COMPATIBLE, ["10.1.2.3"]),
        ("::ffff:0:a9fe:a9fe", Embedding.SIIT, ["169.254.169.254"]),
        ("64:ff9b::c0a8:101", Embedding.NAT64, ["192.168.1.1"]),
        ("64:ff9b:1::7f00:1", Embedding.NAT64, ["127.0.0.1"]),
        ("2002:c0a8:101::1", Embedding.SIX_TO_FOUR, ["192.168.1.1"]),
        (
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            Embedding.TEREDO,
            ["65.54.227.120", "127.0.0.1"],
        ),
    ],
)
def test_carried_ipv4(address: str, embedding: Embedding, carried: list[str]) -> None:
    ip = ipaddress.IPv6Address(address)
    assert [str(a) for a in carried_ipv4(ip, embedding)] == carried
    row = special_block(ip)
    assert row is not None and row.carries is embedding
    # Each carries a refused address here, and the reason names it.
    why = refusal(ip)
    assert why is not None and f"carries {carried[-1]}" in why


@pytest.mark.parametrize(
    "address",
    [
        "192.0.0.192",
        "192.0.0.8",
        "192.88.99.1",
        "64:ff9b:1::808:808",
        "2002:7f00:1::",
        "::ffff:0:7f00:1",
        "fec0::1",
        "3fff::1",
        "5f00::1",
        "100:0:0:1::1",
    ],
)
def test_refused_where_python_3_11_calls_it_global(address: str) -> None:
    ip = ipaddress.ip_address(address)
    if sys.version_info[:2] == (3, 11):  # later versions follow more of the registries
        assert ip.is_global and not ip.is_multicast  # what the standard library would allow
    assert refusal(ip) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "1.1.1.1", "2a00:1450::1"])
def test_ordinary_public_addresses_are_deliverable(address: str) -> None:
    assert special_block(ipaddress.ip_address(address)) is None
    assert refusal(ipaddress.ip_address(address)) is None


SECURITY_DOC = Path(__file__).parents[2] / "docs" / "security.md"
DOC_ROW = re.compile(r"^\| `([^`]+)` \| [^|]+ \| ([^|]+) \| ([^|]+) \| ([^|]+) \|", re.MULTILINE)
DOC_VERDICTS = {
    "refused": Reach.NOT_GLOBAL,
    "deliverable": Reach.GLOBAL,
    "deliverable if the IPv4 it carries is": Reach.GLOBAL,
    "as the IPv4 it carries": Reach.AS_CARRIED,
}


def test_docs_security_lists_the_table_as_the_code_has_it() -> None:
    documented = [
        (network, reference.strip(), cell.strip(), DOC_VERDICTS[verdict.strip()])
        for network, reference, cell, verdict in DOC_ROW.findall(SECURITY_DOC.read_text())
    ]
    in_code = [
        (
            str(row.network),
            row.reference,
            row.registry_cell or "— (terminated)",
            row.reach,
        )
        for row in SPECIAL_BLOCKS
    ]
    assert documented == in_code
