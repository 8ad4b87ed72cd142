"""The real brokers this machine runs (RabbitMQ 5672 guest/guest, NATS with JetStream 4222,
Redis 6379), as tests read them: a fresh queue / stream / Redis stream per test, a webhook
`config` that publishes there, and the next message consumed with the broker's own client.
Unreachable: the test is skipped with one line, or fails under CI=true."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import pytest

from support import IN_CI

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
NATS_URL = "nats://127.0.0.1:4222"
REDIS_URL = "redis://127.0.0.1:6379/0"
PORTS = {"rabbitmq": 5672, "nats": 4222, "redis-stream": 6379}
# A port nothing listens on (the "broker down" tests).
CLOSED_PORT = 1
WAIT_S = 15.0


@dataclass(frozen=True)
class Consumed:
    """A message as the consumer got it: its body and the headers it carried."""

    body: bytes
    headers: dict[str, str]
    message_id: str | None


class Peer(Protocol):
    kind: str

    def config(self, *, port: int | None = None) -> dict[str, Any]: ...

    async def next_message(self) -> Consumed: ...


def require_broker(kind: str) -> None:
    """Skip (fail under CI=true) when the broker's port does not answer on 127.0.0.1."""
    try:
        with socket.create_connection(("127.0.0.1", PORTS[kind]), timeout=2):
            return
    except OSError as exc:
        message = f"{kind} is not reachable on 127.0.0.1:{PORTS[kind]} ({exc})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


class RabbitPeer:
    kind = "rabbitmq"

    def __init__(self, connection: Any, queue: Any) -> None:
        self._connection = connection
        self._queue = queue

    def config(self, *, port: int | None = None) -> dict[str, Any]:
        url = RABBITMQ_URL if port is None else f"amqp://guest:guest@127.0.0.1:{port}/"
        return {"url": url, "exchange": "", "routingKey": self._queue.name}

    async def next_message(self) -> Consumed:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            message = await self._queue.get(no_ack=True, fail=False)
            if message is not None:
                headers = {str(k): _text(v) for k, v in (message.headers or {}).items()}
                return Consumed(message.body, headers, message.message_id)
            await asyncio.sleep(0.05)
        raise AssertionError("no message on the RabbitMQ queue")


class NatsPeer:
    kind = "nats"

    def __init__(self, js: Any, subject: str, stream: str) -> None:
        self._js = js
        self.subject = subject
        self.stream = stream
        self._seq = 0

    def config(self, *, port: int | None = None) -> dict[str, Any]:
        url = NATS_URL if port is None else f"nats://127.0.0.1:{port}"
        return {"url": url, "subject": self.subject, "stream": self.stream}

    async def next_message(self) -> Consumed:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                message = await self._js.get_msg(self.stream, seq=self._seq + 1)
            except Exception:  # not stored yet
                await asyncio.sleep(0.05)
                continue
            self._seq += 1
            headers = dict(message.headers or {})
            return Consumed(message.data, headers, headers.get("Nats-Msg-Id"))
        raise AssertionError("no message in the NATS stream")


class RedisPeer:
    kind = "redis-stream"

    def __init__(self, client: Any, stream: str) -> None:
        self._client = client
        self.stream = stream
        self._last = "0-0"

    def config(self, *, port: int | None = None) -> dict[str, Any]:
        url = REDIS_URL if port is None else f"redis://127.0.0.1:{port}/0"
        return {"url": url, "stream": self.stream}

    async def next_message(self) -> Consumed:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            answer = await self._client.xread({self.stream: self._last}, count=1, block=200)
            if answer:
                [(_, [(entry_id, fields)])] = answer
                self._last = entry_id
                fields = {_text(k): v for k, v in fields.items()}
                headers = orjson.loads(fields["headers"])
                return Consumed(fields["body"], headers, _text(fields["id"]))
        raise AssertionError("no entry in the Redis stream")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


@contextlib.asynccontextmanager
async def broker_peer(kind: str) -> AsyncIterator[Peer]:
    """A fresh destination on the `kind` broker, removed afterwards."""
    require_broker(kind)
    name = f"promptha-test-{secrets.token_hex(6)}"
    if kind == "rabbitmq":
        import aio_pika

        connection = await aio_pika.connect(RABBITMQ_URL)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue(name, auto_delete=False)
            try:
                yield RabbitPeer(connection, queue)
            finally:
                await queue.delete(if_unused=False, if_empty=False)
        finally:
            await connection.close()
    elif kind == "nats":
        import nats

        client = await nats.connect(NATS_URL)
        try:
            js = client.jetstream()
            stream = name.replace("-", "_")
            subject = f"promptha.test.{stream}"
            await js.add_stream(name=stream, subjects=[subject])
            try:
                yield NatsPeer(js, subject, stream)
            finally:
                await js.delete_stream(stream)
        finally:
            await client.close()
    else:
        import redis.asyncio as aioredis

        client = aioredis.from_url(REDIS_URL)
        try:
            yield RedisPeer(client, name)
        finally:
            await client.delete(name)
            await client.aclose()


def lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
