"""The real brokers the broker-destination tests publish to (RabbitMQ, NATS JetStream, Redis on
127.0.0.1), skipped with one line when one is unreachable (failed under CI=true), and loopback
TCP peers that stand between the publishers and a broker: a relay that counts and can cut
connections, and a silent listener that accepts and never answers."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket

import pytest

from promptha_webhooks.delivery.brokers import DestinationKind

from support import IN_CI

BROKER_HOST = "127.0.0.1"
BROKER_PORTS = {
    DestinationKind.RABBITMQ: 5672,
    DestinationKind.NATS: 4222,
    DestinationKind.REDIS_STREAM: 6379,
}
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
NATS_URL = "nats://127.0.0.1:4222"
REDIS_URL = "redis://127.0.0.1:6379/0"
PROBE_TIMEOUT_S = 3.0
RELAY_CHUNK_BYTES = 65536

_problems: dict[DestinationKind, str | None] = {}


def _problem(kind: DestinationKind) -> str | None:
    if kind not in _problems:
        port = BROKER_PORTS[kind]
        try:
            with socket.create_connection((BROKER_HOST, port), timeout=PROBE_TIMEOUT_S):
                _problems[kind] = None
        except OSError as exc:
            _problems[kind] = f"{kind} broker at {BROKER_HOST}:{port} unreachable: {exc}"
    return _problems[kind]


def require_broker(kind: DestinationKind) -> None:
    """Skip the test (fail it under CI=true) when the `kind` broker does not answer."""
    problem = _problem(kind)
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"{problem} (CI=true: broker tests must run)")
    pytest.skip(problem)


def unique_name(prefix: str = "pw-test") -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


class TcpRelay:
    """A loopback port forwarding every connection to a broker; counts the connections it was
    given and can cut them all (as a broker restart or a network failure would)."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.connections = 0
        self.port = 0

    async def __aenter__(self) -> TcpRelay:
        self._server = await asyncio.start_server(self._relay, BROKER_HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def cut(self) -> None:
        """Close every relayed connection, both ways."""
        writers, self._writers = self._writers, []
        for writer in writers:
            writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(BROKER_HOST, self._target_port)
        except OSError:
            writer.close()
            return
        self._writers += [writer, up_writer]
        await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while chunk := await reader.read(RELAY_CHUNK_BYTES):
            writer.write(chunk)
            await writer.drain()
    writer.close()


class SilentListener:
    """A loopback port that accepts connections and never says a word; counts them."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.connections = 0
        self.port = 0

    async def __aenter__(self) -> SilentListener:
        self._server = await asyncio.start_server(self._accept, BROKER_HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for writer in self._writers:
            writer.close()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
