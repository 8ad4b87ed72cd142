"""The destination type names the API, the models, the client and the CLI spell out are
delivery/brokers' DestinationKind values, and the opened config never shows in a repr."""

from __future__ import annotations

import typing

from promptha_webhooks.api.schemas import DestinationName
from promptha_webhooks.cli.webhooks import DestinationType as CliDestinationType
from promptha_webhooks.client.calls import DestinationTypeName
from promptha_webhooks.delivery.broker_target import broker_target
from promptha_webhooks.delivery.brokers import DestinationKind
from promptha_webhooks.delivery_settings import OpenedDestination, masked_url
from promptha_webhooks.models import DestinationType


def test_every_spelling_of_the_kinds_is_the_brokers_enum() -> None:
    kinds = {kind.value for kind in DestinationKind}
    for literal in (DestinationType, DestinationName, DestinationTypeName):
        assert set(typing.get_args(literal)) == kinds
    assert {kind.value for kind in CliDestinationType} == kinds


def test_the_opened_config_is_shown_masked_and_never_in_a_repr() -> None:
    config = '{"url": "amqp://u:s3cret@rabbit:5672/", "exchange": "", "routingKey": "q"}'
    opened = OpenedDestination("rabbitmq", config)
    assert "s3cret" not in repr(opened)
    assert opened.shown()["url"] == "amqp://u:****@rabbit:5672/"
    target = broker_target(opened)
    assert not isinstance(target, str)
    parsed, label = target
    assert parsed.url == "amqp://u:s3cret@rabbit:5672/"
    assert "s3cret" not in label and "routing key q" in label
    assert masked_url("nats://rabbit:4222") == "nats://rabbit:4222"


def test_a_stored_config_the_brokers_refuse_is_a_reason_not_a_crash() -> None:
    assert isinstance(broker_target(OpenedDestination("nats", '{"url": 1}')), str)
    assert isinstance(broker_target(OpenedDestination("kafka", "{}")), str)
    assert isinstance(broker_target(OpenedDestination("nats", "[]")), str)
    assert isinstance(broker_target(OpenedDestination("nats", "{not json")), str)
