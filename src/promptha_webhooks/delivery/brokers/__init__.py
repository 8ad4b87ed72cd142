"""Broker destinations: RabbitMQ (aio-pika), NATS JetStream (nats-py) and Redis streams
(redis.asyncio). `kinds` parses and shows their configurations; `BrokerPublishers` publishes a
delivery to one and answers with a receipt (docs/design.md, "Broker destinations")."""

from __future__ import annotations

from promptha_webhooks.delivery.brokers.guard import check_broker
from promptha_webhooks.delivery.brokers.kinds import (
    BrokerConfig,
    DestinationKind,
    NatsConfig,
    RabbitMQConfig,
    RedisStreamConfig,
    broker_config_json,
    broker_host,
    kind_of,
    parse_broker_config,
    redacted,
)
from promptha_webhooks.delivery.brokers.message import BrokerMessage, BrokerReceipt
from promptha_webhooks.delivery.brokers.publisher import BrokerPublishers

__all__ = [
    "BrokerConfig",
    "BrokerMessage",
    "BrokerPublishers",
    "BrokerReceipt",
    "DestinationKind",
    "NatsConfig",
    "RabbitMQConfig",
    "RedisStreamConfig",
    "broker_config_json",
    "broker_host",
    "check_broker",
    "kind_of",
    "parse_broker_config",
    "redacted",
]
