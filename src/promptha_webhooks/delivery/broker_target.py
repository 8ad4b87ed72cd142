"""A broker webhook's stored destination (delivery_settings.OpenedDestination: its kind and
config JSON, opened by the store) as the attempt stage sends it: the BrokerConfig that
delivery/brokers publishes to, and the description the attempt log shows as its URL (the
broker URL's password masked). Parsed once per process and stored value, not per attempt."""

from __future__ import annotations

import functools
from typing import Final

import orjson

from promptha_webhooks.delivery.brokers import (
    BrokerConfig,
    DestinationKind,
    NatsConfig,
    RabbitMQConfig,
    parse_broker_config,
)
from promptha_webhooks.delivery.brokers.kinds import redacted_url
from promptha_webhooks.delivery_settings import OpenedDestination
from promptha_webhooks.errors import InvalidRequestError

_CACHE_SIZE: Final = 4096


def broker_target(destination: OpenedDestination) -> tuple[BrokerConfig, str] | str:
    """The config and the attempt log's description of `destination`, or why it cannot be
    sent to (a stored config the broker package refuses)."""
    return _parsed(destination.kind, destination.config)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parsed(kind: str, config: str) -> tuple[BrokerConfig, str] | str:
    try:
        raw = orjson.loads(config)
        if not isinstance(raw, dict):
            return "not a JSON object"
        parsed = parse_broker_config(DestinationKind(kind), raw)
    except InvalidRequestError as exc:
        return exc.message
    except (ValueError, orjson.JSONDecodeError) as exc:
        return str(exc)
    return parsed, describe(parsed)


def describe(config: BrokerConfig) -> str:
    """`amqp://guest:****@host:5672/ exchange events routing key orders`, and the like."""
    url = redacted_url(config)
    if isinstance(config, RabbitMQConfig):
        exchange = config.exchange or "(default)"
        return f"{url} exchange {exchange} routing key {config.routing_key}"
    if isinstance(config, NatsConfig):
        stream = f" stream {config.stream}" if config.stream else ""
        return f"{url} subject {config.subject}{stream}"
    return f"{url} stream {config.stream}"
