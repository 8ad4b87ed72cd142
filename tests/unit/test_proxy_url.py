"""proxy_url.parse_proxy_url (PROMPTHA_WEBHOOKS_PROXY_URL and a webhook's proxyUrl), the
masked and stored forms, and the proxy route an attempt takes (the receiver's checked
address to CONNECT to, its name for Host and TLS; the proxy's own address judged by the
guard only when it is a customer's)."""

from __future__ import annotations

from typing import Any

import pytest

from promptha_webhooks.config import ConfigError, Mode, Settings
from promptha_webhooks.delivery.proxy_route import ProxyRoute, proxy_route
from promptha_webhooks.destinations import Purpose, decide
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.proxy_url import ProxyUrl, parse_proxy_url


@pytest.mark.parametrize(
    ("text", "host", "port", "user", "password"),
    [
        ("http://proxy.example:3128", "proxy.example", 3128, None, None),
        ("http://PROXY.Example:3128/", "proxy.example", 3128, None, None),
        ("HTTP://10.0.0.8:8080", "10.0.0.8", 8080, None, None),
        ("http://[2001:db8::1]:3128", "2001:db8::1", 3128, None, None),
        ("http://ops:s3cret@proxy.example:3128", "proxy.example", 3128, "ops", "s3cret"),
        ("http://o%40ps:p%3Ass%2F@proxy.example:1", "proxy.example", 1, "o@ps", "p:ss/"),
        ("http://ops:@proxy.example:3128", "proxy.example", 3128, "ops", ""),
    ],
)
def test_good_proxy_urls(
    text: str, host: str, port: int, user: str | None, password: str | None
) -> None:
    proxy = parse_proxy_url(text)
    assert proxy == ProxyUrl(host, port, user, password)
    assert parse_proxy_url(proxy.text) == proxy  # the stored form reads back the same
    if password:
        assert password not in proxy.masked and password not in repr(proxy)


@pytest.mark.parametrize(
    "bad",
    [
        "https://proxy.example:3128",
        "socks5://proxy.example:1080",
        "proxy.example:3128",
        "http:/proxy.example:3128",
        "http://proxy.example",
        "http://proxy.example:0",
        "http://proxy.example:65536",
        "http://proxy.example:31x8",
        "http://proxy.example:3128/path",
        "http://proxy.example:3128?q",
        "http://proxy.example:3128#f",
        "http://:pw@proxy.example:3128",
        "http://user:pw%ff@proxy.example:3128",
        "http://prox y.example:3128",
        "http://proxy.example:3128\n",
        "http://pr\u00f6xy.example:3128",
        "http://\ud800.example:3128",
        "http://proxy\\.example:3128",
        "http://:3128",
        "http://a!b.example:3128",
        "http://-proxy.example:3128",
        "http://[fe80::1%25eth0]:3128",
        "http://[not:v6]:3128",
        "http://proxy.example:3128" + "/" * 3000,
        12,
        True,
        ["http://proxy.example:3128"],
        {"url": "http://proxy.example:3128"},
    ],
)
def test_bad_proxy_urls_name_the_field(bad: Any) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        parse_proxy_url(bad)
    assert raised.value.field == "proxyUrl"
    assert raised.value.message


def test_empty_or_none_is_no_proxy() -> None:
    assert parse_proxy_url(None) is None
    assert parse_proxy_url("") is None


def test_masked_and_authorization() -> None:
    proxy = parse_proxy_url("http://ops:s3cret@proxy.example:3128")
    assert proxy is not None
    assert proxy.masked == "http://ops:****@proxy.example:3128"
    assert proxy.address == "http://proxy.example:3128"
    assert proxy.authorization() == "Basic b3BzOnMzY3JldA=="
    plain = parse_proxy_url("http://proxy.example:3128")
    assert plain is not None and plain.authorization() is None
    assert plain.masked == plain.text == "http://proxy.example:3128"


def test_the_setting_is_read_and_checked() -> None:
    env = {"PROMPTHA_WEBHOOKS_PROXY_URL": "http://ops:pw@10.0.0.8:3128"}
    settings = Settings.from_env(env)
    assert settings.proxy_url == ProxyUrl("10.0.0.8", 3128, "ops", "pw")
    assert "pw" not in repr(settings)
    assert Settings.from_env({}).proxy_url is None
    with pytest.raises(ConfigError, match="PROMPTHA_WEBHOOKS_PROXY_URL"):
        Settings.from_env({"PROMPTHA_WEBHOOKS_PROXY_URL": "https://10.0.0.8:3128"})


async def _resolve(host: str, port: int) -> list[str]:
    answers = {
        "receiver.example": ["93.184.215.14"],
        "v6.example": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "proxy.internal": ["10.0.0.8"],
        "proxy.public": ["93.184.215.20"],
    }
    if host not in answers:
        raise OSError(f"unknown host {host}")
    return answers[host]


async def _route(url: str, proxy: str, *, operator: bool) -> ProxyRoute | str:
    destination = await decide(url, Mode.PRODUCTION, _resolve, Purpose.SEND)
    assert destination.allowed, destination.reason
    parsed = parse_proxy_url(proxy)
    assert parsed is not None
    return await proxy_route(
        destination, parsed, operator=operator, mode=Mode.PRODUCTION, resolve=_resolve
    )


async def test_the_route_connects_to_checked_addresses_and_keeps_the_name() -> None:
    route = await _route(
        "https://Receiver.example/hook?a=1", "http://ops:pw@proxy.internal:3128", operator=True
    )
    assert isinstance(route, ProxyRoute)
    assert str(route.url) == "https://93.184.215.14/hook?a=1"
    assert (route.host_header, route.server_hostname) == ("receiver.example", "receiver.example")
    assert (route.proxy.address, route.proxy.port) == ("10.0.0.8", 3128)
    assert route.proxy.authorization == "Basic b3BzOnB3"
    assert route.shown == "http://ops:****@proxy.internal:3128"

    v6 = await _route("https://v6.example:8443/", "http://proxy.internal:3128", operator=True)
    assert isinstance(v6, ProxyRoute)
    assert v6.url.raw_host == "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
    assert v6.url.port == 8443
    assert v6.host_header == "v6.example:8443"

    literal = await _route("https://93.184.215.14/", "http://proxy.internal:3128", operator=True)
    assert isinstance(literal, ProxyRoute) and literal.server_hostname is None


async def test_a_customers_proxy_must_pass_the_guard_the_operators_need_not() -> None:
    refused = await _route(
        "https://receiver.example/", "http://ops:pw@proxy.internal:3128", operator=False
    )
    assert isinstance(refused, str)
    assert refused.startswith("proxy error: http://ops:****@proxy.internal:3128: blocked: ")
    assert "pw" not in refused.replace("proxy", "")
    allowed = await _route("https://receiver.example/", "http://proxy.public:3128", operator=False)
    assert isinstance(allowed, ProxyRoute) and allowed.proxy.address == "93.184.215.20"
    unknown = await _route("https://receiver.example/", "http://nowhere.test:1", operator=True)
    assert isinstance(unknown, str) and unknown.startswith("proxy error: ")
    assert "dns error" in unknown
