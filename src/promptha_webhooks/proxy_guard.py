"""The destination guard for a proxy's own address: `proxy_decision` resolves and judges
where the service connects to reach a proxy, and `validate_webhook_proxy` checks a webhook's
`proxyUrl` as it is saved.

A webhook's own proxy is a customer's choice, so it passes the guard like a URL does (in
production: a globally routable address only). The server's PROMPTHA_WEBHOOKS_PROXY_URL is
the operator's, and usually on a private network: it is resolved the same way (the connection
goes to the checked address) but any address is allowed (docs/security.md).
"""

from __future__ import annotations

from promptha_webhooks.config import Mode
from promptha_webhooks.destinations import Decision, Purpose, ResolveFunc, decide
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.proxy_url import ProxyUrl

__all__ = ["proxy_decision", "validate_webhook_proxy"]


def _guard_url(proxy: ProxyUrl) -> str:
    """The URL the guard judges for a proxy: its host and port. The service talks plain HTTP
    to a proxy (a receiver's TLS runs inside the tunnel), so the https-only rule of production
    is not the proxy's: the guard is given https:// to judge the address alone."""
    host = f"[{proxy.host}]" if ":" in proxy.host else proxy.host
    return f"https://{host}:{proxy.port}/"


async def proxy_decision(
    proxy: ProxyUrl, mode: Mode, resolve: ResolveFunc, *, operator: bool
) -> Decision:
    """The guard's decision for connecting to `proxy` now: its checked addresses, or why not.
    `operator`: the server's own proxy, which may be anywhere (judged as in development)."""
    return await decide(
        _guard_url(proxy), Mode.DEVELOPMENT if operator else mode, resolve, Purpose.SEND
    )


async def validate_webhook_proxy(
    proxy: ProxyUrl | None, mode: Mode, resolve: ResolveFunc, *, field: str = "proxyUrl"
) -> None:
    """Check a webhook's own proxy being saved; raises InvalidRequestError naming `field`."""
    if proxy is None:
        return
    decision = await decide(_guard_url(proxy), mode, resolve, Purpose.SAVE)
    if not decision.allowed:
        raise InvalidRequestError(f"{field}: {decision.reason}", field=field)
