"""`python -m bench.destinations`: throughput of each destination kind, HTTP as the baseline.

    .venv/bin/python -m bench.destinations                  # 5000 messages per kind, 50 at once
    .venv/bin/python -m bench.destinations --messages 20000 --concurrency 100
    .venv/bin/python -m bench.destinations --quick          # 500 messages: a smoke run

Each kind gets the same N messages, signed as the dispatcher signs them (`x-promptha-*` headers,
HMAC-SHA256 over "timestamp.body", ~1 KB JSON bodies), sent by C concurrent senders through the
delivery path's own clients: AiohttpTransport (the destination guard, a pinned connection, the
whole answer read) to the benchmarks' aiohttp receiver (`bench.receiver`, its own process,
answering 200), and BrokerPublishers to the real RabbitMQ (publisher confirms, persistent
messages, one queue), NATS JetStream (ack from a file-backed stream) and Redis (XADD, trimmed
to 10000 entries) on 127.0.0.1. A message counts when its 2xx or ack came back. Kinds whose
server is unreachable are reported as such. Figures: messages per second, and the ratio to HTTP
in the same run (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aio_pika
import nats
import nats.js.api
import redis.asyncio

from bench.common import log
from bench.receiver import Receiver
from promptha_webhooks import signing
from promptha_webhooks.config import Mode, Settings
from promptha_webhooks.delivery.brokers import (
    BrokerConfig,
    BrokerMessage,
    BrokerPublishers,
    NatsConfig,
    RabbitMQConfig,
    RedisStreamConfig,
)
from promptha_webhooks.delivery.transport import AiohttpTransport, OutboundRequest
from promptha_webhooks.signature_headers import (
    EVENT_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)

DEFAULT_MESSAGES = 5000
QUICK_MESSAGES = 500
DEFAULT_CONCURRENCY = 50
TIMEOUT_S = 30.0
REDIS_MAX_LEN = 10_000  # entries kept in the benchmark's stream
BODY_PADDING = 900  # characters of payload text: bodies of about 1 KB
SECRET = "bench_destination_secret"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
NATS_URL = "nats://127.0.0.1:4222"
REDIS_URL = "redis://127.0.0.1:6379/0"
PORTS = {"rabbitmq": 5672, "nats": 4222, "redis-stream": 6379}

Send = Callable[[int], Awaitable[bool]]


@dataclass(frozen=True)
class Figure:
    kind: str
    sent: int
    failed: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def signed(n: int) -> tuple[bytes, dict[str, str], str]:
    """Message `n`: its body, its signed headers and its event id."""
    event_id = f"evt_bench_{n:08d}"
    body = json.dumps(
        {"id": event_id, "type": "fabric.completed", "data": {"text": "x" * BODY_PADDING}}
    ).encode()
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        EVENT_HEADER: "fabric.completed",
        EVENT_ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signing.sign(SECRET, timestamp, body),
    }
    return body, headers, event_id


async def measure(kind: str, send: Send, messages: int, concurrency: int) -> Figure:
    """Send `messages` with `concurrency` senders (one warm-up message first, not counted)."""
    if not await send(-1):
        return Figure(kind, 0, 1, 0.0, "the warm-up message failed")
    queue = iter(range(messages))
    failed = 0

    async def sender() -> None:
        nonlocal failed
        for n in queue:
            if not await send(n):
                failed += 1

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return Figure(kind, messages - failed, failed, time.perf_counter() - started)


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3):
            return True
    except OSError:
        return False


async def http_figure(messages: int, concurrency: int) -> Figure:
    transport = AiohttpTransport(Settings(mode=Mode.DEVELOPMENT, max_in_flight=concurrency))
    async with Receiver() as receiver:
        url = receiver.url("/ok/bench")

        async def send(n: int) -> bool:
            body, headers, _ = signed(n)
            response = await transport.send(OutboundRequest(url, body, headers, TIMEOUT_S))
            return response.status is not None and 200 <= response.status < 300

        try:
            return await measure("http", send, messages, concurrency)
        finally:
            await transport.close()


@asynccontextmanager
async def rabbitmq_destination() -> AsyncIterator[BrokerConfig]:
    connection = await aio_pika.connect(RABBITMQ_URL)
    channel = await connection.channel()
    queue = await channel.declare_queue(f"pw-bench-{secrets.token_hex(4)}", durable=True)
    try:
        yield RabbitMQConfig(RABBITMQ_URL, "", queue.name)
    finally:
        await queue.delete(if_unused=False, if_empty=False)
        await connection.close()


@asynccontextmanager
async def nats_destination() -> AsyncIterator[BrokerConfig]:
    client = await nats.connect(NATS_URL)
    js = client.jetstream()
    name = f"pw_bench_{secrets.token_hex(4)}"
    await js.add_stream(
        name=name, subjects=[f"{name}.events"], storage=nats.js.api.StorageType.FILE
    )
    try:
        yield NatsConfig(NATS_URL, f"{name}.events", name)
    finally:
        await js.delete_stream(name)
        await client.close()


@asynccontextmanager
async def redis_destination() -> AsyncIterator[BrokerConfig]:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    key = f"pw-bench-{secrets.token_hex(4)}"
    try:
        yield RedisStreamConfig(REDIS_URL, key, REDIS_MAX_LEN)
    finally:
        await client.delete(key)
        await client.aclose()


DESTINATIONS = {
    "rabbitmq": rabbitmq_destination,
    "nats": nats_destination,
    "redis-stream": redis_destination,
}


async def broker_figure(kind: str, messages: int, concurrency: int) -> Figure:
    if not reachable(PORTS[kind]):
        return Figure(kind, 0, 0, 0.0, f"unreachable on 127.0.0.1:{PORTS[kind]}")
    publishers = BrokerPublishers(Settings(mode=Mode.DEVELOPMENT))
    failures: list[str] = []
    try:
        async with DESTINATIONS[kind]() as config:

            async def send(n: int) -> bool:
                body, headers, event_id = signed(n)
                receipt = await publishers.publish(
                    config, BrokerMessage(body, headers, event_id), TIMEOUT_S
                )
                if not receipt.ok and len(failures) < 1:
                    failures.append(receipt.detail)
                return receipt.ok

            figure = await measure(kind, send, messages, concurrency)
    finally:
        await publishers.close()
    if failures:
        return Figure(figure.kind, figure.sent, figure.failed, figure.seconds, failures[0])
    return figure


def report(figures: list[Figure], concurrency: int) -> str:
    baseline = next((f.rate for f in figures if f.kind == "http" and f.rate), 0.0)
    lines = [
        f"Destination throughput ({concurrency} concurrent senders, signed ~1 KB messages)",
        f"{'kind':<14}{'messages':>10}{'failed':>8}{'seconds':>10}{'msg/s':>10}{'vs http':>9}",
    ]
    for f in figures:
        ratio = f"{f.rate / baseline:.2f}x" if baseline and f.rate else "-"
        rate = f"{f.rate:,.0f}" if f.rate else "-"
        line = f"{f.kind:<14}{f.sent:>10}{f.failed:>8}{f.seconds:>10.2f}{rate:>10}{ratio:>9}"
        lines.append(line + (f"  ({f.note})" if f.note else ""))
    return "\n".join(lines)


async def run(messages: int, concurrency: int) -> list[Figure]:
    log(f"destinations: http, {messages} messages")
    figures = [await http_figure(messages, concurrency)]
    for kind in DESTINATIONS:
        log(f"destinations: {kind}, {messages} messages")
        figures.append(await broker_figure(kind, messages, concurrency))
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.destinations", description=__doc__)
    parser.add_argument("--messages", type=int, default=None, help="messages per kind")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_MESSAGES} messages")
    args = parser.parse_args(argv)
    messages = args.messages or (QUICK_MESSAGES if args.quick else DEFAULT_MESSAGES)
    figures = asyncio.run(run(messages, args.concurrency))
    print(report(figures, args.concurrency))
    sys.exit(0 if all(f.sent for f in figures if "unreachable" not in f.note) else 1)


if __name__ == "__main__":
    main()
