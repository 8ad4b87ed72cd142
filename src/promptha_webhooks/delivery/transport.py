"""The HTTP client behind a two-method protocol (httpx's `_transports/base.py` shape):
`send(OutboundRequest) -> TransportResponse` and `close()`.

`AiohttpTransport` is the implementation: one uvloop-friendly aiohttp session per process, the
destination guard (destinations.decide) asked for every request, connections only to the
addresses it checked (a pinned resolver: no second lookup, no DNS-rebinding window), 30 s (or
the webhook's own `timeoutSeconds`) for the whole exchange, no redirects, at most the response
body limit read. A proxy, a source address or another client plugs in here, as another
Transport. The guard stays inside the transport because the addresses it checked are what the
client must connect to.

Through an HTTP CONNECT proxy (the server's PROMPTHA_WEBHOOKS_PROXY_URL, or a webhook's own
`proxyUrl`, which wins) an attempt takes the one other path, `_send_via_proxy`: the guard
decides the receiver first, then delivery/proxy_route.py pins both ends to checked addresses,
and that proxy's session sends it through a CONNECT tunnel (delivery/tunnel.py). What goes
wrong before the tunnel stands is logged as "proxy error: …" and retried like a connection
error.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import re
import socket
import time
from typing import TYPE_CHECKING, Any, Final, Protocol

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from promptha_webhooks import retry
from promptha_webhooks.config import Settings
from promptha_webhooks.deadlines import Deadlines
from promptha_webhooks.delivery.proxy_route import ProxyAt, ProxyRoute, proxy_route
from promptha_webhooks.delivery.source_binding import SourceBinding
from promptha_webhooks.delivery.tunnel import ProxyError, TunnelConnector, UpstreamUnreachable
from promptha_webhooks.destinations import (
    CachingResolve,
    Decision,
    Purpose,
    ResolveFunc,
    decide,
    system_resolve,
)
from promptha_webhooks.proxy_url import ProxyUrl
from promptha_webhooks.records import record
from promptha_webhooks.special_addresses import IPAddress

if TYPE_CHECKING:
    from promptha_webhooks.delivery.brokers import BrokerConfig

MAX_ERROR_LENGTH = 1000
MAX_PROXY_SESSIONS: Final = 64  # proxies with a pool of tunnels at once
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def receiver_text(text: str) -> str:
    """Text a receiver controls, as the log can store and show it: U+FFFD for U+0000
    (PostgreSQL text cannot hold it) and for surrogates (aiohttp keeps header bytes that are
    not UTF-8 as surrogate escapes, which no UTF-8 encoder takes)."""
    if text.isascii() and "\x00" not in text:  # nearly always: skips the regular expression
        return text
    return _UNSTORABLE.sub("\ufffd", text)


class BlockedDestinationError(OSError):
    """aiohttp asked for the addresses of a host the guard did not check for this attempt."""


# The guard's decision for the attempt this task is making: _PinnedResolver hands aiohttp its
# addresses. A context variable, so concurrent attempts each see their own.
_PINNED: contextvars.ContextVar[Decision | None] = contextvars.ContextVar(
    "promptha_pinned_destination", default=None
)


class _PinnedResolver(AbstractResolver):
    """aiohttp resolver that never resolves: it answers with the addresses the guard checked for
    the current attempt, and refuses any other host, so a connection goes only to checked
    addresses (no second lookup, no DNS-rebinding window)."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        decision = _PINNED.get()
        target = decision.target if decision is not None else None
        if decision is None or target is None or (target.host, target.port) != (host, port):
            raise BlockedDestinationError(f"{host}:{port} was not checked for this attempt")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in decision.addresses
        ]

    async def close(self) -> None:
        return None


@record
class OutboundRequest:
    """What an attempt sends: POST `body` with `headers` to `url`."""

    url: str
    body: bytes
    headers: dict[str, str]
    # The webhook's own timeout for the whole exchange (s); None: the server's delivery timeout
    timeout_s: float | None = None
    # The webhook's own HTTP CONNECT proxy; None: the server's (Settings.proxy_url), if any
    proxy: ProxyUrl | None = None
    # A broker webhook's destination (delivery/destination_transport.py publishes it there;
    # `url` is then its description for the attempt log); None: POST to `url`
    destination: BrokerConfig | None = None
    # The event's id: a broker message's id (for the consumer's dedupe)
    message_id: str = ""


@record
class TransportResponse:
    """The receiver's answer (status, headers, at most the body limit of its body), or why
    there is none (`error`: refused by the guard, timeout, connection error, ...)."""

    status: int | None
    headers: dict[str, str] | None
    body: str | None
    error: str | None
    retry_after: float | None
    started_at: float  # Unix seconds
    duration_ms: float


class Transport(Protocol):
    """Sends attempts. `send` never raises for what the receiver or the network did: it
    answers with a TransportResponse whose `error` says what went wrong."""

    async def send(self, request: OutboundRequest) -> TransportResponse: ...

    async def close(self) -> None: ...


class AiohttpTransport:
    """An aiohttp session shared by every attempt of the process (keep-alive pooling).

    The delivery timeout bounds the whole attempt (connect, send, answer) and is kept by
    deadlines.Deadlines rather than aiohttp's per-request timers (the same limit, cheaper)."""

    def __init__(self, settings: Settings, resolve: ResolveFunc = system_resolve) -> None:
        self._settings = settings
        # A name's answer serves attempts for DNS_CACHE_TTL_S; the guard checks it every time.
        self._resolve = CachingResolve(resolve)
        self._session: aiohttp.ClientSession | None = None
        # SOURCE_ADDRESSES: one session (connection pool) per local address, taken in turn.
        self._binding = SourceBinding(settings.source_addresses)
        self._sessions: dict[IPAddress | None, aiohttp.ClientSession] = {}
        # Sessions of the proxies in use (delivery/tunnel.py), least recently used first.
        self._proxied: dict[ProxyAt, aiohttp.ClientSession] = {}
        self._closing: set[asyncio.Future[None]] = set()
        # One Deadlines per timeout in use (the server's, and each webhook's own: 1-30 s), so
        # each keeps its deadlines in start order and one timer (deadlines.py).
        self._deadlines: dict[float, Deadlines] = {}
        self._default = self._deadlines_for(settings.delivery_timeout_s)

    def _deadlines_for(self, timeout_s: float) -> Deadlines:
        deadlines = self._deadlines.get(timeout_s)
        if deadlines is None:
            deadlines = self._deadlines[timeout_s] = Deadlines(timeout_s)
        return deadlines

    def _timeout_of(self, request: OutboundRequest) -> Deadlines:
        """The deadlines keeping `request`'s timeout. A webhook's own timeout must stay below
        the claim's lease (a delivery is due again when its lease runs out): with a lease that
        short (configured below 30 s) the server's timeout applies instead."""
        timeout_s = request.timeout_s
        if timeout_s is None or timeout_s >= self._settings.lease_s:
            return self._default
        return self._deadlines_for(timeout_s)

    async def start(self) -> None:
        if self._session is None:
            sources = self._binding.addresses or (None,)
            self._sessions = {source: self._new_session(source) for source in sources}
            self._session = next(iter(self._sessions.values()))

    def _new_session(self, source: IPAddress | None) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._settings.max_in_flight,
            # Every connection asks _PinnedResolver, within the attempt that opens it.
            use_dns_cache=False,
            resolver=_PinnedResolver(),
            local_addr=None if source is None else (str(source), 0),
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),  # self._deadlines keeps the limit
            auto_decompress=True,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions = {}
        self._session = None
        while self._proxied:
            await self._proxied.popitem()[1].close()
        for closing in list(self._closing):
            await closing

    async def send(self, request: OutboundRequest) -> TransportResponse:
        url, body, headers = request.url, request.body, request.headers
        if self._session is None:
            await self.start()
        assert self._session is not None
        started = time.time()
        t0 = time.perf_counter()
        deadlines = self._default if request.timeout_s is None else self._timeout_of(request)
        task = deadlines.start()
        try:
            # The mode this process runs in decides, whatever mode the URL was saved under.
            decision = await decide(url, self._settings.mode, self._resolve, Purpose.SEND)
            request_url = _request_url(decision)
            proxy = request.proxy or self._settings.proxy_url
            if isinstance(request_url, str):
                error = request_url  # refused: no connection is made, not even to a proxy
            elif proxy is not None:
                route = await proxy_route(
                    decision,
                    proxy,
                    operator=request.proxy is None,
                    mode=self._settings.mode,
                    resolve=self._resolve,
                )
                if isinstance(route, str):
                    error = route
                else:
                    return await self._send_via_proxy(route, body, headers, started, t0)
            elif isinstance(choice := self._binding.choose(decision.addresses), str):
                error = choice  # no source address reaches it: no connection is made
            else:
                session = self._sessions[choice.source]
                if choice.destinations is not decision.addresses:  # narrowed to its family
                    decision = dataclasses.replace(decision, addresses=choice.destinations)
                pinned = _PINNED.set(decision)
                try:
                    return await self._exchange(session, request_url, body, headers, started, t0)
                finally:
                    _PINNED.reset(pinned)
        except asyncio.CancelledError:
            if not deadlines.expired(task):
                raise
            error = _timeout_error(deadlines.timeout_s)
        except TimeoutError:
            error = _timeout_error(deadlines.timeout_s)
        except aiohttp.ClientConnectorDNSError as exc:
            if isinstance(exc.os_error, BlockedDestinationError):
                error = f"blocked: {exc.os_error}"
            else:
                error = f"dns error: {exc.os_error}"
        except aiohttp.ClientSSLError as exc:
            error = f"tls error: {exc}"
        except ProxyError as exc:
            error = f"proxy error: {exc}"
        except aiohttp.ClientConnectorError as exc:
            error = f"connection error: {exc.os_error or exc}"
        except aiohttp.ClientError as exc:
            error = f"http error: {type(exc).__name__}: {exc}"
        except (OSError, ValueError) as exc:
            error = f"request error: {type(exc).__name__}: {exc}"
        finally:
            deadlines.finish(task)
        duration = (time.perf_counter() - t0) * 1000
        error = receiver_text(error[:MAX_ERROR_LENGTH])
        return TransportResponse(None, None, None, error, None, started, duration)

    async def _send_via_proxy(
        self, route: ProxyRoute, body: bytes, headers: dict[str, str], started: float, t0: float
    ) -> TransportResponse:
        """The attempt through `route`'s proxy: a CONNECT tunnel to the receiver's checked
        address (delivery/tunnel.py), http:// and https:// alike, then the request as sent
        directly, with the receiver's name in Host (and TLS). An address the proxy cannot
        reach (502/503/504 to the CONNECT) gives way to the next, within the attempt's
        deadline (one after another, not raced: a silent address waits for the proxy's own
        connect timeout); the last one's error is the attempt's."""
        session = self._tunnels_through(route.proxy)
        last = len(route.urls) - 1
        for index, url in enumerate(route.urls):
            try:
                return await self._exchange(
                    session,
                    url,
                    body,
                    {**headers, "Host": route.host_header},
                    started,
                    t0,
                    server_hostname=route.server_hostname,
                )
            except UpstreamUnreachable:
                if index == last:
                    raise
        raise AssertionError("a route has at least one address")

    def _tunnels_through(self, proxy: ProxyAt) -> aiohttp.ClientSession:
        """The session whose connections are tunnels through `proxy` (one per proxy, so a
        pooled tunnel is only reused through the proxy that made it)."""
        session = self._proxied.pop(proxy, None)
        if session is None:
            if len(self._proxied) >= MAX_PROXY_SESSIONS:
                # The least recently used goes (an attempt on it then fails and is retried).
                oldest = next(iter(self._proxied))
                closing = self._proxied.pop(oldest).close()
                self._closing.add(task := asyncio.ensure_future(closing))
                task.add_done_callback(self._closing.discard)
            session = aiohttp.ClientSession(
                connector=TunnelConnector(
                    proxy.address,
                    proxy.port,
                    proxy.authorization,
                    limit=self._settings.max_in_flight,
                ),
                timeout=aiohttp.ClientTimeout(total=None),  # self._deadlines keeps the limit
                auto_decompress=True,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        self._proxied[proxy] = session  # most recently used last
        return session

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        url: URL,
        body: bytes,
        headers: dict[str, str],
        started: float,
        t0: float,
        **options: Any,
    ) -> TransportResponse:
        """POST through `session` (a source address's pool, or a proxy's tunnels) and read the
        answer (at most the response body limit). `options` (aiohttp's): the proxied path's."""
        limit = self._settings.response_body_limit_bytes
        async with session.post(
            url, data=body, headers=headers, allow_redirects=False, **options
        ) as response:
            content = response.content
            chunks: list[bytes] = []
            size = 0
            while size < limit:
                chunk = await content.read(limit - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if content.at_eof():
                    break  # the whole answer is in (no read that returns nothing)
            duration = (time.perf_counter() - t0) * 1000
            response_headers: dict[str, str] = {}
            for raw_name, raw_value in response.headers.items():
                key, value = receiver_text(raw_name.lower()), receiver_text(raw_value)
                response_headers[key] = (
                    f"{response_headers[key]}, {value}" if key in response_headers else value
                )
            retry_after = retry.parse_retry_after(response.headers.get("Retry-After"), time.time())
            return TransportResponse(
                response.status,
                response_headers,
                # U+0000 cannot be stored in PostgreSQL text: logged as U+FFFD, like bytes
                # that are not UTF-8.
                b"".join(chunks).decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
                None,
                retry_after,
                started,
                duration,
            )


def _timeout_error(timeout_s: float) -> str:
    return f"timeout: no complete answer within {timeout_s:g} s"


def _request_url(decision: Decision) -> URL | str:
    """The URL for aiohttp, or the attempt log's error when no call may be made. The client is
    given the guard's normal form, and it must read the same host and port from it."""
    target = decision.target
    if not decision.allowed or target is None:
        return decision.attempt_error
    url = URL(target.url)
    if (url.raw_host, url.port) != (target.host, target.port):
        return f"blocked: the HTTP client reads {target.url} as another host"
    return url
