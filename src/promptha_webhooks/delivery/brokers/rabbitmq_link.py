"""One RabbitMQ connection (aio-pika): a channel with publisher confirms per exchange, persistent
messages carrying the delivery's headers and its event id as message_id, returned (unroutable)
messages and nacks as failures."""

from __future__ import annotations

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from promptha_webhooks.delivery.brokers.kinds import BrokerURL, RabbitMQConfig
from promptha_webhooks.delivery.brokers.message import BrokerMessage

CONTENT_TYPE = "application/json"
# Errors the client raises for what the broker or the network did (read by `describe`).
ERRORS: tuple[type[BaseException], ...] = (
    aiormq.exceptions.AMQPError,
    # aio-pika and aiormq raise RuntimeError for a connection or channel found closed
    # (ChannelInvalidStateError is one).
    RuntimeError,
    ConnectionError,
)


class RabbitMQLink:
    """A connection to one broker URL, its channels opened on first use of each exchange."""

    def __init__(self, connection: AbstractConnection) -> None:
        self._connection = connection
        self._exchanges: dict[str, tuple[AbstractChannel, AbstractExchange]] = {}

    @classmethod
    async def open(cls, url: BrokerURL, address: str, timeout_s: float) -> RabbitMQLink:
        """Connect to `address` (the checked address of the URL's host); TLS checks the name."""
        text = url.text(host=address)
        if url.tls:
            # passed on to asyncio.open_connection: the certificate must name the host
            connection = await aio_pika.connect(text, timeout=timeout_s, server_hostname=url.host)
        else:
            connection = await aio_pika.connect(text, timeout=timeout_s)
        return cls(connection)

    @property
    def alive(self) -> bool:
        # aio-pika's own flag says only whether close() was called; aiormq's connection (the
        # underlay) knows when the socket closed.
        underlay = self._connection.transport
        return (
            not self._connection.is_closed
            and underlay is not None
            and not underlay.connection.is_closed
        )

    async def _exchange(self, name: str) -> AbstractExchange:
        opened = self._exchanges.get(name)
        if opened is not None and not opened[0].is_closed:
            return opened[1]
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = (
            channel.default_exchange
            if name == ""
            else await channel.get_exchange(name, ensure=False)
        )
        self._exchanges[name] = (channel, exchange)
        return exchange

    async def publish(self, config: RabbitMQConfig, message: BrokerMessage) -> str:
        exchange = await self._exchange(config.exchange)
        await exchange.publish(
            aio_pika.Message(
                message.body,
                headers=dict(message.headers),
                content_type=CONTENT_TYPE,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message.message_id,
            ),
            routing_key=config.routing_key,
            mandatory=True,
        )
        where = f"exchange {config.exchange!r}" if config.exchange else "the default exchange"
        return f"confirmed by {where} (routing key {config.routing_key!r})"

    async def close(self) -> None:
        await self._connection.close()


def describe(exc: BaseException) -> str:
    """The receipt's text for an error the client raised."""
    if isinstance(exc, aiormq.exceptions.PublishError):
        return f"returned: the broker could not route the message ({_reply(exc)})"
    if isinstance(exc, aiormq.exceptions.DeliveryError):
        return f"nack: the broker refused the message ({_reply(exc)})"
    if isinstance(exc, aiormq.exceptions.ChannelNotFoundEntity):
        return f"not found: {_args(exc)}"
    if isinstance(exc, aiormq.exceptions.ChannelAccessRefused):
        return f"access refused: {_args(exc)}"
    if isinstance(exc, aiormq.exceptions.ChannelInvalidStateError):
        return "connection error: the channel closed"
    if isinstance(exc, aiormq.exceptions.AMQPChannelError):
        return f"channel error: {_args(exc)}"
    if isinstance(
        exc, aiormq.exceptions.AuthenticationError | aiormq.exceptions.ProbableAuthenticationError
    ):
        return f"authentication failed: {_args(exc)}"
    if isinstance(exc, RuntimeError) and not isinstance(exc, aiormq.exceptions.AMQPError):
        return "connection error: the connection closed"
    return f"connection error: {_args(exc) or type(exc).__name__}"


def _reply(exc: aiormq.exceptions.DeliveryError) -> str:
    frame = getattr(exc.message, "delivery", None) if exc.message is not None else None
    reply_text = getattr(frame, "reply_text", None)
    return str(reply_text) if reply_text else type(exc.frame).__name__


def _args(exc: BaseException) -> str:
    return " ".join(str(a) for a in exc.args if a is not None) or type(exc).__name__
