"""Broker destination configurations: the one parser (every bad input is a 400 naming the
field, nothing else), their stored and shown forms, and the guard's view of their host."""

from __future__ import annotations

import pytest

from promptha_webhooks.config import Mode
from promptha_webhooks.delivery.brokers import (
    BrokerConfig,
    DestinationKind,
    NatsConfig,
    RabbitMQConfig,
    RedisStreamConfig,
    broker_config_json,
    broker_host,
    check_broker,
    parse_broker_config,
    redacted,
)
from promptha_webhooks.destinations import Purpose, Verdict
from promptha_webhooks.errors import InvalidRequestError

RABBIT = DestinationKind.RABBITMQ
NATS = DestinationKind.NATS
REDIS = DestinationKind.REDIS_STREAM

GOOD = {
    RABBIT: {"url": "amqp://guest:guest@127.0.0.1:5672/", "exchange": "", "routingKey": "q"},
    NATS: {"url": "nats://127.0.0.1:4222", "subject": "promptha.events"},
    REDIS: {"url": "redis://127.0.0.1:6379/0", "stream": "events"},
}


def nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = {"a": [value]}
    return value


def rejects(kind: DestinationKind, raw: object, field: str) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        parse_broker_config(kind, raw)  # type: ignore[arg-type]
    assert caught.value.field == field, caught.value.message
    assert caught.value.status_code == 400
    caught.value.message.encode()  # the message is valid text, whatever the input held
    return caught.value


def test_valid_configs_parse_to_their_dataclass() -> None:
    assert parse_broker_config(RABBIT, GOOD[RABBIT]) == RabbitMQConfig(
        "amqp://guest:guest@127.0.0.1:5672/", "", "q"
    )
    assert parse_broker_config(NATS, {**GOOD[NATS], "stream": "EVENTS"}) == NatsConfig(
        "nats://127.0.0.1:4222", "promptha.events", "EVENTS"
    )
    assert parse_broker_config(REDIS, {**GOOD[REDIS], "maxLen": 1000}) == RedisStreamConfig(
        "redis://127.0.0.1:6379/0", "events", 1000
    )
    assert parse_broker_config(
        RABBIT, {"url": "amqps://u:p%40ss@rabbit.example.com/prod", "exchange": "amq.topic"}
    ) == RabbitMQConfig("amqps://u:p%40ss@rabbit.example.com/prod", "amq.topic", "")


@pytest.mark.parametrize("kind", [RABBIT, NATS, REDIS])
def test_stored_form_parses_back_to_the_same_config(kind: DestinationKind) -> None:
    config = parse_broker_config(kind, GOOD[kind])
    assert parse_broker_config(kind, broker_config_json(config)) == config


@pytest.mark.parametrize(
    ("config", "shown"),
    [
        (RabbitMQConfig("amqp://guest:guest@h:5672/v", "", "q"), "amqp://guest:****@h:5672/v"),
        (NatsConfig("nats://u:p%2Fq@n.example:4222", "s"), "nats://u:****@n.example:4222"),
        (RedisStreamConfig("rediss://:hunter2@[::1]:6380/2", "s"), "rediss://:****@[::1]:6380/2"),
        (RedisStreamConfig("redis://127.0.0.1/0", "s"), "redis://127.0.0.1/0"),
        (NatsConfig("nats://token-only@n.example", "s"), "nats://token-only@n.example"),
    ],
)
def test_redacted_masks_the_password_only(config: BrokerConfig, shown: str) -> None:
    view = redacted(config)
    assert view["url"] == shown
    assert {k: v for k, v in view.items() if k != "url"} == {
        k: v for k, v in broker_config_json(config).items() if k != "url"
    }


@pytest.mark.parametrize(
    ("config", "host"),
    [
        (RabbitMQConfig("amqp://Rabbit.Example.COM/", "x", ""), ("rabbit.example.com", 5672)),
        (RabbitMQConfig("amqps://h/", "x", ""), ("h", 5671)),
        (NatsConfig("tls://[2001:db8::1]:4333", "s"), ("2001:db8::1", 4333)),
        (RedisStreamConfig("redis://u:p@10.0.0.1", "s"), ("10.0.0.1", 6379)),
    ],
)
def test_broker_host_is_what_the_guard_checks(config: BrokerConfig, host: tuple[str, int]) -> None:
    assert broker_host(config) == host


@pytest.mark.parametrize("raw", [None, [], "amqp://h", 42, nested(3)])
def test_config_must_be_an_object(raw: object) -> None:
    rejects(RABBIT, raw, "config")


@pytest.mark.parametrize(
    "url",
    [
        None,
        42,
        True,
        ["amqp://h/"],
        nested(50_000),
        "",
        "amqp://h/" + "a" * 1_000_000,
        "amqp://h\ud800/",
        "amqp://h\u00e9/",
        "amqp://h /",
        "amqp://h/\x00",
        "http://h/",
        "https://h/",
        "redis://h/",
        "unix:///var/run/rabbit.sock",
        "amqp:/h/",
        "amqp://h/?certfile=/etc/passwd",
        "amqp://h/#x",
        "amqp://h\\@evil/",
        "amqp://",
        "amqp://u:p@/",
        "amqp://h:0/",
        "amqp://h:65536/",
        "amqp://h:abc/",
        "amqp://h:+1/",
        "amqp://h:99999999999/",
        "amqp://::1/",
        "amqp://[::1/",
        "amqp://[fe80::1%25eth0]/",
        "amqp://[not-v6]/",
        "amqp://999.1.1.1/",
        "amqp://127.1/",
        "amqp://-bad-.example/",
        "amqp://a..b/",
        "amqp://h/a/b",
        "amqp://u:%ff@h/",
    ],
)
def test_bad_rabbitmq_urls_are_refused(url: object) -> None:
    rejects(RABBIT, {**GOOD[RABBIT], "url": url}, "config.url")


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        (NATS, "nats://h/path"),
        (NATS, "amqp://h"),
        (NATS, "ws://h"),
        (REDIS, "redis://h/x"),
        (REDIS, "redis://h/0/1"),
        (REDIS, "unix:///tmp/redis.sock"),
        (REDIS, "redis://h/0?ssl_certfile=/etc/shadow"),
    ],
)
def test_bad_urls_for_each_kind(kind: DestinationKind, url: str) -> None:
    rejects(kind, {**GOOD[kind], "url": url}, "config.url")


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        (RABBIT, "exchange", "has space"),
        (RABBIT, "exchange", "x" * 256),
        (RABBIT, "exchange", 7),
        (RABBIT, "exchange", {"deep": nested(100)}),
        (RABBIT, "routingKey", "a\nb"),
        (RABBIT, "routingKey", "\ud800"),
        (RABBIT, "routingKey", ["q"]),
        (NATS, "subject", ""),
        (NATS, "subject", "a b"),
        (NATS, "subject", "a.*"),
        (NATS, "subject", "a.>"),
        (NATS, "subject", "a..b"),
        (NATS, "subject", "\ud800"),
        (NATS, "subject", None),
        (NATS, "stream", "a.b"),
        (NATS, "stream", "x" * 256),
        (NATS, "stream", 1),
        (REDIS, "stream", ""),
        (REDIS, "stream", "x" * 1025),
        (REDIS, "stream", "a\x00b"),
        (REDIS, "maxLen", True),
        (REDIS, "maxLen", 0),
        (REDIS, "maxLen", -1),
        (REDIS, "maxLen", "10"),
        (REDIS, "maxLen", 1.5),
        (REDIS, "maxLen", 10**30),
    ],
)
def test_bad_fields_are_refused_by_name(kind: DestinationKind, field: str, value: object) -> None:
    rejects(kind, {**GOOD[kind], field: value}, f"config.{field}")


def test_the_default_exchange_needs_a_queue_name() -> None:
    rejects(RABBIT, {"url": GOOD[RABBIT]["url"], "exchange": ""}, "config.routingKey")


@pytest.mark.parametrize("key", ["routing_key", "URL", "\ud800", "x" * 100_000])
def test_unknown_fields_are_refused(key: str) -> None:
    error = rejects(RABBIT, {**GOOD[RABBIT], key: "v"}, "config")
    assert "unknown field" in error.message


def test_http_has_no_broker_config() -> None:
    with pytest.raises(InvalidRequestError):
        parse_broker_config(DestinationKind.HTTP, {"url": "https://example.com/"})


async def never_resolve(host: str, port: int) -> list[str]:
    raise AssertionError(f"no DNS lookup expected for {host}:{port}")


def answer(*addresses: str) -> object:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


async def test_guard_refuses_private_broker_hosts_in_production() -> None:
    literal = RedisStreamConfig("redis://10.1.2.3:6379/0", "s")
    decision = await check_broker(literal, Mode.PRODUCTION, never_resolve, Purpose.SEND)
    assert decision.verdict is Verdict.REFUSED
    named = NatsConfig("nats://u:p@broker.internal.example:4222", "s")
    decision = await check_broker(named, Mode.PRODUCTION, answer("192.168.1.5"), Purpose.SEND)  # type: ignore[arg-type]
    assert decision.verdict is Verdict.REFUSED
    assert decision.attempt_error.startswith("blocked: ")


async def test_guard_allows_public_hosts_and_pins_their_addresses() -> None:
    config = RabbitMQConfig("amqps://u:p@rabbit.example.com/", "x", "")
    decision = await check_broker(config, Mode.PRODUCTION, answer("8.8.8.8"), Purpose.SEND)  # type: ignore[arg-type]
    assert decision.allowed
    assert decision.addresses == ("8.8.8.8",)


async def test_guard_saves_any_host_in_development_without_dns() -> None:
    config = RedisStreamConfig("redis://redis-in-compose:6379/0", "s")
    decision = await check_broker(config, Mode.DEVELOPMENT, never_resolve, Purpose.SAVE)
    assert decision.allowed
