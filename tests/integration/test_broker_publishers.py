"""BrokerPublishers against the real RabbitMQ, NATS JetStream and Redis of this machine: the
message arrives with its body, headers and id (read back with the broker's own client), acks
and dedupe, trimming, a broker that is down, slow or drops the connection, and the guard
refusing a host before any connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import cast

import aio_pika
import nats
import pytest
import redis.asyncio
from nats.js import JetStreamContext

from promptha_webhooks.config import Mode, Settings
from promptha_webhooks.delivery.brokers import (
    BrokerConfig,
    BrokerMessage,
    BrokerPublishers,
    DestinationKind,
    NatsConfig,
    RabbitMQConfig,
    RedisStreamConfig,
)

from brokers_support import (
    NATS_URL,
    RABBITMQ_URL,
    REDIS_URL,
    SilentListener,
    TcpRelay,
    require_broker,
    unique_name,
)
from support import free_port

RABBIT = DestinationKind.RABBITMQ
NATS = DestinationKind.NATS
REDIS = DestinationKind.REDIS_STREAM
TIMEOUT_S = 10.0
GET_TRIES = 50  # reads of a queue before giving up (each waits up to GET_WAIT_S)
GET_WAIT_S = 0.1
RECONNECT_TRIES = 5

HEADERS = {
    "content-type": "application/json",
    "x-promptha-event": "fabric.completed",
    "x-promptha-event-id": "evt_01HZTEST",
    "x-promptha-timestamp": "1733400000",
    "x-promptha-signature": "v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
    "x-promptha-delivery-attempt": "1",
}


def message(
    event_id: str = "evt_01HZTEST", body: bytes = b'{"type":"fabric.completed"}'
) -> BrokerMessage:
    return BrokerMessage(body, {**HEADERS, "x-promptha-event-id": event_id}, event_id)


@pytest.fixture
async def publishers() -> AsyncIterator[BrokerPublishers]:
    p = BrokerPublishers(Settings(mode=Mode.DEVELOPMENT))
    try:
        yield p
    finally:
        await p.close()


# --- RabbitMQ ---------------------------------------------------------------------------------


@pytest.fixture
async def rabbit_queue() -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A fresh queue (deleted afterwards) on the real broker."""
    require_broker(RABBIT)
    connection = await aio_pika.connect(RABBITMQ_URL)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(unique_name(), exclusive=True)
        yield queue
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()


async def get_one(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractIncomingMessage:
    for _ in range(GET_TRIES):
        incoming = await queue.get(fail=False, timeout=TIMEOUT_S)
        if incoming is not None:
            await incoming.ack()
            return incoming
        await asyncio.sleep(GET_WAIT_S)
    raise AssertionError(f"nothing arrived in {queue.name}")


async def test_rabbitmq_message_arrives_with_body_headers_and_id(
    publishers: BrokerPublishers, rabbit_queue: aio_pika.abc.AbstractQueue
) -> None:
    config = RabbitMQConfig(RABBITMQ_URL, "", rabbit_queue.name)
    receipt = await publishers.publish(config, message("evt_rabbit_1"), TIMEOUT_S)
    assert receipt.ok, receipt.detail
    assert "confirmed" in receipt.detail
    incoming = await get_one(rabbit_queue)
    assert incoming.body == b'{"type":"fabric.completed"}'
    assert incoming.message_id == "evt_rabbit_1"
    assert incoming.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert incoming.content_type == "application/json"
    assert incoming.headers == {**HEADERS, "x-promptha-event-id": "evt_rabbit_1"}


async def test_rabbitmq_named_exchange_routes_by_key(
    publishers: BrokerPublishers, rabbit_queue: aio_pika.abc.AbstractQueue
) -> None:
    connection = await aio_pika.connect(RABBITMQ_URL)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(unique_name("pw-x"), aio_pika.ExchangeType.DIRECT)
    try:
        await rabbit_queue.bind(exchange.name, "fabric")
        config = RabbitMQConfig(RABBITMQ_URL, exchange.name, "fabric")
        receipt = await publishers.publish(config, message("evt_x"), TIMEOUT_S)
        assert receipt.ok, receipt.detail
        assert (await get_one(rabbit_queue)).message_id == "evt_x"
        unrouted = RabbitMQConfig(RABBITMQ_URL, exchange.name, "no-binding")
        receipt = await publishers.publish(unrouted, message(), TIMEOUT_S)
        assert not receipt.ok
        assert receipt.detail.startswith("returned: "), receipt.detail
    finally:
        await exchange.delete()
        await connection.close()


async def test_rabbitmq_missing_exchange_fails_alone(
    publishers: BrokerPublishers, rabbit_queue: aio_pika.abc.AbstractQueue
) -> None:
    missing = RabbitMQConfig(RABBITMQ_URL, unique_name("pw-missing"), "k")
    receipt = await publishers.publish(missing, message(), TIMEOUT_S)
    assert not receipt.ok
    assert receipt.detail.startswith("not found: "), receipt.detail
    # The same broker URL keeps working for the other destinations.
    good = RabbitMQConfig(RABBITMQ_URL, "", rabbit_queue.name)
    receipt = await publishers.publish(good, message("evt_after"), TIMEOUT_S)
    assert receipt.ok, receipt.detail
    assert (await get_one(rabbit_queue)).message_id == "evt_after"
    # And the broken one says the same thing again (its channel was reopened).
    assert (await publishers.publish(missing, message(), TIMEOUT_S)).detail.startswith("not found")


async def test_rabbitmq_wrong_password_is_reported_without_it(publishers: BrokerPublishers) -> None:
    require_broker(RABBIT)
    config = RabbitMQConfig("amqp://guest:Wr0ngPa55@127.0.0.1:5672/", "", "q")
    receipt = await publishers.publish(config, message(), TIMEOUT_S)
    assert not receipt.ok
    assert receipt.detail.startswith("authentication failed"), receipt.detail
    assert "Wr0ngPa55" not in receipt.detail


# --- NATS JetStream ---------------------------------------------------------------------------


@pytest.fixture
async def jetstream() -> AsyncIterator[tuple[JetStreamContext, str, str]]:
    """A fresh stream (deleted afterwards) on the real server: (context, stream, subject)."""
    require_broker(NATS)
    client = await nats.connect(NATS_URL)
    js = client.jetstream()
    stream, subject = unique_name("PW").replace("-", "_"), unique_name("pw.events")
    await js.add_stream(name=stream, subjects=[subject])
    try:
        yield js, stream, subject
    finally:
        await js.delete_stream(stream)
        await client.close()


async def test_nats_message_is_acked_by_the_stream_with_headers_and_id(
    publishers: BrokerPublishers, jetstream: tuple[JetStreamContext, str, str]
) -> None:
    js, stream, subject = jetstream
    receipt = await publishers.publish(
        NatsConfig(NATS_URL, subject), message("evt_nats_1"), TIMEOUT_S
    )
    assert receipt.ok, receipt.detail
    assert receipt.detail == f"acked by stream {stream} seq 1"
    stored = await js.get_msg(stream, seq=1)
    assert stored.data == b'{"type":"fabric.completed"}'
    assert stored.headers == {
        **HEADERS,
        "x-promptha-event-id": "evt_nats_1",
        "Nats-Msg-Id": "evt_nats_1",
    }


async def test_nats_dedupes_a_message_sent_twice(
    publishers: BrokerPublishers, jetstream: tuple[JetStreamContext, str, str]
) -> None:
    js, stream, subject = jetstream
    config = NatsConfig(NATS_URL, subject, stream)
    first = await publishers.publish(config, message("evt_twice"), TIMEOUT_S)
    again = await publishers.publish(config, message("evt_twice"), TIMEOUT_S)
    other = await publishers.publish(config, message("evt_other"), TIMEOUT_S)
    assert first.ok and again.ok and other.ok
    assert "duplicate" in again.detail and "duplicate" not in first.detail
    info = await js.stream_info(stream)
    assert info.state.messages == 2


async def test_nats_expected_stream_and_missing_stream_fail(
    publishers: BrokerPublishers, jetstream: tuple[JetStreamContext, str, str]
) -> None:
    _, _, subject = jetstream
    wrong = await publishers.publish(NatsConfig(NATS_URL, subject, "NOT_IT"), message(), TIMEOUT_S)
    assert not wrong.ok
    assert wrong.detail.startswith("nack: "), wrong.detail
    nowhere = await publishers.publish(
        NatsConfig(NATS_URL, unique_name("pw.nostream")), message(), TIMEOUT_S
    )
    assert not nowhere.ok
    assert nowhere.detail.startswith("no stream"), nowhere.detail


# --- Redis streams ----------------------------------------------------------------------------


@pytest.fixture
async def redis_stream() -> AsyncIterator[tuple[redis.asyncio.Redis, str]]:
    require_broker(REDIS)
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    key = unique_name("pw-stream")
    try:
        yield client, key
    finally:
        await client.delete(key)
        await client.aclose()


async def entries(client: redis.asyncio.Redis, key: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """The stream's entries, oldest first (bytes: the client does not decode)."""
    return cast(list[tuple[bytes, dict[bytes, bytes]]], await client.xrange(key))


async def test_redis_entry_holds_id_headers_and_body(
    publishers: BrokerPublishers, redis_stream: tuple[redis.asyncio.Redis, str]
) -> None:
    client, key = redis_stream
    receipt = await publishers.publish(
        RedisStreamConfig(REDIS_URL, key), message("evt_redis_1"), TIMEOUT_S
    )
    assert receipt.ok, receipt.detail
    [(entry_id, fields)] = await entries(client, key)
    assert receipt.detail == f"redis id {entry_id.decode()}"
    assert fields[b"id"] == b"evt_redis_1"
    assert fields[b"body"] == b'{"type":"fabric.completed"}'
    assert json.loads(fields[b"headers"]) == {**HEADERS, "x-promptha-event-id": "evt_redis_1"}


async def test_redis_max_len_trims_the_stream(
    publishers: BrokerPublishers, redis_stream: tuple[redis.asyncio.Redis, str]
) -> None:
    client, key = redis_stream
    config = RedisStreamConfig(REDIS_URL, key, max_len=10)
    sent = 500
    for n in range(sent):
        assert (await publishers.publish(config, message(f"evt_{n}"), TIMEOUT_S)).ok
    length = await client.xlen(key)
    # Approximate trimming drops whole nodes (100 entries by default): never below maxLen.
    assert 10 <= length < sent // 2
    last = (await entries(client, key))[-1][1]
    assert last[b"id"] == f"evt_{sent - 1}".encode()


# --- every kind -------------------------------------------------------------------------------


def config_for(kind: DestinationKind, url_host_port: str, name: str) -> BrokerConfig:
    if kind is RABBIT:
        return RabbitMQConfig(f"amqp://guest:guest@{url_host_port}/", "", name)
    if kind is NATS:
        return NatsConfig(f"nats://{url_host_port}", name)
    return RedisStreamConfig(f"redis://{url_host_port}/0", name)


REAL_PORTS = {RABBIT: 5672, NATS: 4222, REDIS: 6379}


@contextlib.asynccontextmanager
async def destination(kind: DestinationKind, host_port: str) -> AsyncIterator[BrokerConfig]:
    """A config of `kind` at `host_port` whose messages the real broker accepts (a queue, a
    stream or a stream key made for it and removed afterwards)."""
    require_broker(kind)
    name = unique_name()
    if kind is RABBIT:
        connection = await aio_pika.connect(RABBITMQ_URL)
        channel = await connection.channel()
        queue = await channel.declare_queue(name, exclusive=True)
        try:
            yield config_for(kind, host_port, name)
        finally:
            await queue.delete(if_unused=False, if_empty=False)
            await connection.close()
    elif kind is NATS:
        client = await nats.connect(NATS_URL)
        js = client.jetstream()
        stream = name.replace("-", "_")
        await js.add_stream(name=stream, subjects=[name])
        try:
            yield config_for(kind, host_port, name)
        finally:
            await js.delete_stream(stream)
            await client.close()
    else:
        r = redis.asyncio.Redis.from_url(REDIS_URL)
        try:
            yield config_for(kind, host_port, name)
        finally:
            await r.delete(name)
            await r.aclose()


KINDS = pytest.mark.parametrize("kind", [RABBIT, NATS, REDIS])


@KINDS
async def test_connection_is_reused_and_replaced_after_a_cut(
    publishers: BrokerPublishers, kind: DestinationKind
) -> None:
    async with (
        TcpRelay(REAL_PORTS[kind]) as relay,
        destination(kind, f"127.0.0.1:{relay.port}") as config,
    ):
        for n in range(3):
            receipt = await publishers.publish(config, message(f"evt_{n}"), TIMEOUT_S)
            assert receipt.ok, receipt.detail
        assert relay.connections == 1
        relay.cut()
        receipts = []
        for n in range(RECONNECT_TRIES):
            receipts.append(await publishers.publish(config, message(f"evt_r{n}"), TIMEOUT_S))
            if receipts[-1].ok:
                break
        assert receipts[-1].ok, receipts
        assert all(r.detail.startswith("connection error") for r in receipts[:-1]), receipts
        assert relay.connections == 2


@pytest.mark.parametrize("kind", [RABBIT, NATS])
async def test_concurrent_first_publishes_share_one_connection(
    publishers: BrokerPublishers, kind: DestinationKind
) -> None:
    async with (
        TcpRelay(REAL_PORTS[kind]) as relay,
        destination(kind, f"127.0.0.1:{relay.port}") as config,
    ):
        receipts = await asyncio.gather(
            *(publishers.publish(config, message(f"evt_{n}"), TIMEOUT_S) for n in range(20))
        )
        assert all(r.ok for r in receipts), receipts
        assert relay.connections == 1


@KINDS
async def test_broker_down_is_a_failed_receipt(
    publishers: BrokerPublishers, kind: DestinationKind
) -> None:
    port = free_port()  # nothing listens there
    config = config_for(kind, f"127.0.0.1:{port}", "q")
    if kind is not RABBIT:  # the RabbitMQ URL has a password already
        config = config_for(kind, f"user:S3cr%40t@127.0.0.1:{port}", "q")
    receipt = await publishers.publish(config, message(), TIMEOUT_S)
    assert not receipt.ok
    assert receipt.detail.startswith("connection error"), receipt.detail
    assert str(port) in receipt.detail
    assert "S3cr" not in receipt.detail and "guest:guest" not in receipt.detail


@KINDS
async def test_silent_broker_times_out(publishers: BrokerPublishers, kind: DestinationKind) -> None:
    async with SilentListener() as listener:
        config = config_for(kind, f"127.0.0.1:{listener.port}", "q")
        receipt = await publishers.publish(config, message(), 0.5)
        assert not receipt.ok
        assert receipt.detail == "timeout: no ack within 0.5 s"
        assert listener.connections == 1


@KINDS
async def test_guard_blocks_a_private_host_in_production_without_connecting(
    kind: DestinationKind,
) -> None:
    production = BrokerPublishers(Settings(mode=Mode.PRODUCTION))
    try:
        async with SilentListener() as listener:
            config = config_for(kind, f"127.0.0.1:{listener.port}", "q")
            receipt = await production.publish(config, message(), TIMEOUT_S)
            assert not receipt.ok
            assert receipt.detail.startswith("blocked: "), receipt.detail
            assert listener.connections == 0
    finally:
        await production.close()


@KINDS
async def test_guard_blocks_a_name_resolving_to_a_private_address(kind: DestinationKind) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        assert host == "broker.example.com"
        return ["10.20.30.40"]

    production = BrokerPublishers(Settings(mode=Mode.PRODUCTION), resolve=resolve)
    try:
        config = config_for(kind, "broker.example.com:1234", "q")
        receipt = await production.publish(config, message(), TIMEOUT_S)
        assert not receipt.ok
        assert receipt.detail.startswith(
            "blocked: broker.example.com resolves to a refused address"
        ), receipt.detail
    finally:
        await production.close()


@KINDS
async def test_connection_goes_to_the_checked_address(kind: DestinationKind) -> None:
    """The name is resolved once, by the guard: the client connects to the address it checked
    (a name no DNS knows works when the guard's resolver answers it)."""

    looked_up: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    pinned = BrokerPublishers(Settings(mode=Mode.DEVELOPMENT), resolve=resolve)
    try:
        async with destination(kind, f"broker.invalid:{REAL_PORTS[kind]}") as config:
            receipt = await pinned.publish(config, message(), TIMEOUT_S)
            assert receipt.ok, receipt.detail
            assert looked_up == ["broker.invalid"]
    finally:
        await pinned.close()


@KINDS
async def test_closed_publishers_refuse_politely(kind: DestinationKind) -> None:
    require_broker(kind)
    closed = BrokerPublishers(Settings(mode=Mode.DEVELOPMENT))
    await closed.close()
    receipt = await closed.publish(
        config_for(kind, f"127.0.0.1:{REAL_PORTS[kind]}", "q"), message(), TIMEOUT_S
    )
    assert not receipt.ok
    assert "closed" in receipt.detail


@KINDS
async def test_hostile_headers_give_a_receipt_and_break_nothing(
    publishers: BrokerPublishers, kind: DestinationKind
) -> None:
    async with destination(kind, f"127.0.0.1:{REAL_PORTS[kind]}") as config:
        for headers in (
            {"x-evil": "a\r\nNats-Msg-Id: forged"},
            {"x-surrogate": "\ud800"},
            {"bad name": "v"},
        ):
            receipt = await publishers.publish(
                config, BrokerMessage(b"{}", headers, "evt_hostile"), TIMEOUT_S
            )
            if kind is NATS:  # header lines: nothing with a line break or a bad name goes out
                assert not receipt.ok
                assert receipt.detail.startswith("invalid message: "), receipt.detail
            if not receipt.ok:
                receipt.detail.encode()  # the detail is storable text
        after = await publishers.publish(config, message("evt_fine"), TIMEOUT_S)
        assert after.ok, after.detail


async def test_redis_more_publishes_at_once_than_pooled_connections(
    publishers: BrokerPublishers, redis_stream: tuple[redis.asyncio.Redis, str]
) -> None:
    client, key = redis_stream
    config = RedisStreamConfig(REDIS_URL, key)
    receipts = await asyncio.gather(
        *(publishers.publish(config, message(f"evt_{n}"), TIMEOUT_S) for n in range(200))
    )
    assert all(r.ok for r in receipts), {r.detail for r in receipts if not r.ok}
    assert await client.xlen(key) == 200
