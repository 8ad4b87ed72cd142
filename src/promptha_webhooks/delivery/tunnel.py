"""`TunnelConnector`: an aiohttp connector whose every connection is a CONNECT tunnel through
one HTTP proxy, for http:// and https:// receivers alike.

aiohttp's own proxy support tunnels TLS only: an http:// request goes to the proxy in absolute
form, with the proxy's headers among the receiver's, and a proxy may pass
`Proxy-Authorization` on to the receiver (proxy.py does). Here the connector opens a TCP
connection to the proxy's checked address, asks `CONNECT <receiver address>:<port>`, and hands
the tunnel to aiohttp (TLS on top for https://, with the receiver's name for SNI and the
certificate check): the proxy sees a CONNECT and nothing else. It overrides aiohttp's
`TCPConnector._create_connection` (aiohttp is pinned in requirements.lock; the proxy tests
run against it).
"""

from __future__ import annotations

import asyncio
import re
import socket
from typing import TYPE_CHECKING, Final

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

if TYPE_CHECKING:
    from aiohttp.client_proto import ResponseHandler
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.tracing import Trace

__all__ = ["MAX_CONNECT_ANSWER_BYTES", "ProxyError", "TunnelConnector", "UpstreamUnreachable"]

# A proxy's answer to CONNECT (status line and headers), at most this many bytes.
MAX_CONNECT_ANSWER_BYTES: Final = 16 * 1024
_STATUS_LINE: Final = re.compile(rb"HTTP/1\.[01] (\d{3})(?: ([^\r\n]*))?\r\n")


class ProxyError(aiohttp.ClientConnectionError):
    """The proxy could not be reached, or did not open the tunnel; the message says which
    (the attempt log's "proxy error: …")."""


class UpstreamUnreachable(ProxyError):
    """The proxy answered CONNECT with 502, 503 or 504: it could not reach that address (the
    receiver's other addresses may answer)."""


# What a proxy answers to a CONNECT it could not open to the receiver's address.
UPSTREAM_UNREACHABLE_STATUSES: Final = frozenset({502, 503, 504})


class _NoResolver(AbstractResolver):
    """A tunnel connector resolves nothing: both ends are checked addresses already."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise OSError(f"{host}:{port}: a tunnel connector does not resolve names")

    async def close(self) -> None:
        return None


class TunnelConnector(aiohttp.TCPConnector):
    """Connections through the proxy at `address`:`port` (an IP address the guard checked),
    with `authorization` as Proxy-Authorization (None: none)."""

    def __init__(self, address: str, port: int, authorization: str | None, *, limit: int) -> None:
        super().__init__(limit=limit, use_dns_cache=False, resolver=_NoResolver())
        self._proxy = (address, port)
        self._authorization = authorization

    async def _create_connection(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> ResponseHandler:
        sock = await self._open_tunnel(req.url.raw_host or "", req.url.port or 0)
        try:
            _, protocol = await self._wrap_existing_connection(
                self._factory,
                req=req,
                timeout=timeout,
                sock=sock,
                ssl=self._get_ssl_context(req),
                server_hostname=(req.server_hostname or req.host) if req.is_ssl() else None,
            )
        except BaseException:
            sock.close()
            raise
        return protocol

    async def _open_tunnel(self, host: str, port: int) -> socket.socket:
        """A socket connected to the proxy, through which `host`:`port` answers."""
        loop = asyncio.get_running_loop()
        address, proxy_port = self._proxy
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            try:
                await loop.sock_connect(sock, (address, proxy_port))
            except OSError as exc:
                raise ProxyError(f"cannot connect to the proxy: {exc}") from exc
            target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
            if self._authorization is not None:
                lines.append(f"Proxy-Authorization: {self._authorization}")
            await loop.sock_sendall(sock, ("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
            await _read_connect_answer(loop, sock, target)
        except BaseException:
            sock.close()
            raise
        return sock


async def _read_connect_answer(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, target: str
) -> None:
    """Read the proxy's answer to CONNECT up to its blank line; ProxyError unless it is 2xx."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        try:
            chunk = await loop.sock_recv(sock, MAX_CONNECT_ANSWER_BYTES - len(answer))
        except OSError as exc:
            raise ProxyError(f"the proxy dropped the connection: {exc}") from exc
        if not chunk:
            raise ProxyError(
                f"the proxy closed the connection instead of opening a tunnel to {target}"
            )
        answer += chunk
        if len(answer) >= MAX_CONNECT_ANSWER_BYTES:
            raise ProxyError(f"the proxy's answer to CONNECT exceeds {MAX_CONNECT_ANSWER_BYTES} B")
    head, _, rest = answer.partition(b"\r\n\r\n")
    found = _STATUS_LINE.match(head + b"\r\n")
    if found is None:
        raise ProxyError("the proxy's answer to CONNECT is not HTTP")
    status = int(found.group(1))
    reason = (found.group(2) or b"").decode("latin-1")[:200]
    if not 200 <= status < 300:
        error = UpstreamUnreachable if status in UPSTREAM_UNREACHABLE_STATUSES else ProxyError
        raise error(f"the proxy answered CONNECT {target} with {status} {reason}".rstrip())
    if rest:
        # Nothing may come before the client speaks: bytes here are not the receiver's.
        raise ProxyError("the proxy sent data after opening the tunnel")
