"""Which URLs the service may call: syntax per mode and the public-address rule."""

from __future__ import annotations

import ipaddress

import pytest

from promptha_webhooks.config import Mode
from promptha_webhooks.destinations import (
    BlockedDestinationError,
    check_destination,
    check_url_syntax,
    is_public,
)
from promptha_webhooks.errors import InvalidRequestError


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.31.255.255", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_url_syntax_by_mode() -> None:
    assert check_url_syntax("https://example.com/hook", Mode.PRODUCTION) == ("example.com", 443)
    assert check_url_syntax("http://127.0.0.1:3000/x", Mode.DEVELOPMENT) == ("127.0.0.1", 3000)
    with pytest.raises(InvalidRequestError, match="https"):
        check_url_syntax("http://example.com/hook", Mode.PRODUCTION)
    for bad in (
        "ftp://x/y",
        "https://",
        "https://u:p@x.com/",
        "https://x.com/#frag",
        "https://x y",
    ):
        with pytest.raises(InvalidRequestError):
            check_url_syntax(bad, Mode.DEVELOPMENT)
    with pytest.raises(InvalidRequestError, match="longer"):
        check_url_syntax("https://x.com/" + "a" * 3000, Mode.DEVELOPMENT)


async def test_check_destination_resolves_and_guards() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return {"mixed.test": ["93.184.215.14", "10.0.0.1"], "ok.test": ["93.184.215.14"]}[host]

    assert await check_destination("ok.test", 443, Mode.PRODUCTION, resolve) == ["93.184.215.14"]
    # One private address among public ones is enough to refuse.
    with pytest.raises(BlockedDestinationError):
        await check_destination("mixed.test", 443, Mode.PRODUCTION, resolve)
    assert await check_destination("mixed.test", 443, Mode.DEVELOPMENT, resolve)
    with pytest.raises(BlockedDestinationError):
        await check_destination("127.0.0.1", 443, Mode.PRODUCTION, resolve)
