"""The way an attempt goes through an HTTP CONNECT proxy: `proxy_route` turns the guard's
decision for the receiver (made first: a refused destination never reaches the proxy) and
the proxy to use into a frozen `ProxyRoute` for the HTTP client, or the attempt log's error.

Both ends are given to the client as checked IP addresses, so nothing resolves a name again
(no DNS-rebinding window, neither here nor at the proxy): the proxy is asked to
`CONNECT <receiver address>:<port>`, and the receiver's name stays where it belongs — the
TLS server name (SNI and certificate check) and the Host header. docs/security.md,
"Sending through a proxy".
"""

from __future__ import annotations

from dataclasses import dataclass

from yarl import URL

from promptha_webhooks.config import Mode
from promptha_webhooks.destinations import Decision, ResolveFunc
from promptha_webhooks.proxy_guard import proxy_decision
from promptha_webhooks.proxy_url import ProxyUrl

__all__ = ["ProxyAt", "ProxyRoute", "proxy_route"]


@dataclass(frozen=True, slots=True)
class ProxyAt:
    """A proxy as the connection is made to it: its checked address, its port, and the
    Proxy-Authorization value (None: no credentials). Tunnels are pooled per ProxyAt."""

    address: str
    port: int
    authorization: str | None


@dataclass(frozen=True, slots=True)
class ProxyRoute:
    """What the HTTP client is given for a proxied attempt: the receiver's URL with each of
    its checked addresses as host, in the resolver's order (what the proxy is asked to CONNECT
    to: the next one when the proxy cannot reach one, as a direct connection tries them in
    turn), the Host header and TLS server name of its own name, the proxy, and the proxy as the
    attempt log names it (password masked)."""

    urls: tuple[URL, ...]
    host_header: str
    server_hostname: str | None  # None: the receiver's host is an IP address, or http://
    proxy: ProxyAt
    shown: str

    @property
    def url(self) -> URL:
        """The first address's URL (the one tried first)."""
        return self.urls[0]


async def proxy_route(
    destination: Decision,
    proxy: ProxyUrl,
    *,
    operator: bool,
    mode: Mode,
    resolve: ResolveFunc,
) -> ProxyRoute | str:
    """The route of an attempt the guard allowed (`destination`) through `proxy`, or the
    attempt log's error when the proxy's own address is refused or does not resolve.
    `operator`: the server's PROMPTHA_WEBHOOKS_PROXY_URL (any address), not a webhook's."""
    target = destination.target
    assert destination.allowed and target is not None and destination.addresses
    checked = await proxy_decision(proxy, mode, resolve, operator=operator)
    if not checked.allowed or not checked.addresses:
        return f"proxy error: {proxy.masked}: {checked.attempt_error}"
    url = URL(target.url)
    default_port = 443 if target.scheme == "https" else 80
    shown_host = f"[{target.host}]" if ":" in target.host else target.host
    host_header = shown_host if target.port == default_port else f"{shown_host}:{target.port}"
    return ProxyRoute(
        urls=tuple(url.with_host(address) for address in destination.addresses),
        host_header=host_header,
        server_hostname=(
            target.host if target.scheme == "https" and target.literal is None else None
        ),
        proxy=ProxyAt(checked.addresses[0], proxy.port, proxy.authorization()),
        shown=proxy.masked,
    )
