"""client_ip behind proxies and the IP allow-list."""

from __future__ import annotations

import ipaddress

import pytest

from promptha_webhooks.receiver import IPAllowList, client_ip

PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]


@pytest.mark.parametrize(
    ("remote", "xff", "expected"),
    [
        # A direct peer that is not a trusted proxy: X-Forwarded-For is the client's word, ignored.
        ("52.1.2.3", "1.1.1.1", "52.1.2.3"),
        ("203.0.113.9", None, "203.0.113.9"),
        # Behind our proxy: the rightmost untrusted entry.
        ("10.0.0.5", "52.1.2.3", "52.1.2.3"),
        ("10.0.0.5", "52.1.2.3, 10.0.0.7", "52.1.2.3"),
        # A client forging the left of the chain gains nothing.
        ("10.0.0.5", "52.1.2.3, 198.51.100.66", "198.51.100.66"),
        ("10.0.0.5", "  52.1.2.3 ,10.1.1.1,  10.2.2.2 ", "52.1.2.3"),
        # Everyone in the chain is a trusted proxy: the leftmost sent it.
        ("10.0.0.5", "10.9.9.9, 10.0.0.7", "10.9.9.9"),
        # Garbage stops the walk at the hop that wrote it.
        ("10.0.0.5", "52.1.2.3, unknown", "10.0.0.5"),
        ("10.0.0.5", "52.1.2.3, not-an-ip, 10.0.0.7", "10.0.0.7"),
        # Ports and brackets, IPv6, IPv4-mapped IPv6.
        ("10.0.0.5", "52.1.2.3:5123", "52.1.2.3"),
        ("10.0.0.5", "[2600:1f18::1]:443", "2600:1f18::1"),
        ("2001:db8:ffff::1", "2600:1f18::1", "2600:1f18::1"),
        ("::ffff:10.0.0.5", "52.1.2.3", "52.1.2.3"),
        ("::ffff:52.1.2.3", None, "52.1.2.3"),
        ("10.0.0.5", "", "10.0.0.5"),
        (None, "52.1.2.3", None),
        ("not an ip", "52.1.2.3", None),
    ],
)
def test_client_ip(remote: str | None, xff: str | None, expected: str | None) -> None:
    got = client_ip(remote, xff, PROXIES)
    assert got == (None if expected is None else ipaddress.ip_address(expected))


def test_without_trusted_proxies_the_header_is_never_used() -> None:
    assert client_ip("10.0.0.5", "52.1.2.3") == ipaddress.ip_address("10.0.0.5")


def test_allow_list() -> None:
    allow = IPAllowList(["52.1.2.3", "54.0.0.0/16", "2600:1f18::/32"], trusted_proxies=PROXIES)
    assert allow.check("52.1.2.3")
    assert allow.check("54.0.200.1")
    assert allow.check("10.0.0.5", "52.1.2.3")
    assert allow.check("10.0.0.5", "2600:1f18::7")
    assert not allow.check("10.0.0.5", "52.1.2.3, 8.8.8.8")
    assert not allow.check("8.8.8.8", "52.1.2.3")  # an untrusted peer cannot claim to forward
    assert not allow.check("10.0.0.5")  # our proxy itself is not Promptha
    assert not allow.check(None)
    assert "54.0.0.0/16" in repr(allow)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        IPAllowList(["52.1.2"])
    with pytest.raises(TypeError, match="list"):
        IPAllowList("52.1.2.3")
