"""One Redis client (redis.asyncio, its own connection pool) adding entries to streams: XADD
with the fields `id` (event id), `headers` (JSON object) and `body`, trimmed with an approximate
MAXLEN when configured."""

from __future__ import annotations

import json

import redis.asyncio
import redis.exceptions
from redis.typing import EncodableT, FieldT

from promptha_webhooks.delivery.brokers.kinds import BrokerURL, RedisStreamConfig
from promptha_webhooks.delivery.brokers.message import BrokerMessage

ERRORS: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, ConnectionError)
# Errors after which the pool is closed and made again (its connections may be half open).
LOST: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
    OSError,
)
MAX_CONNECTIONS = 64  # per Redis URL; more publishes at once wait for a free one


class RedisLink:
    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self._broken = False

    @classmethod
    async def open(cls, url: BrokerURL, address: str, timeout_s: float) -> RedisLink:
        """A client for `address` (the checked address of the URL's host); with TLS (rediss://)
        it connects by name, so the certificate's name can be checked."""
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url.text(host=url.host if url.tls else address),
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
            max_connections=MAX_CONNECTIONS,
            timeout=timeout_s,  # waiting for a free connection
        )
        return cls(redis.asyncio.Redis.from_pool(pool))  # the client closes its pool

    @property
    def alive(self) -> bool:
        return not self._broken

    def lost(self, exc: BaseException) -> None:
        """Note a publish's error: after a connection error or a timeout the pool is replaced
        (the pool would mend a broken connection itself, but not one left half open)."""
        if isinstance(exc, LOST):
            self._broken = True

    async def publish(self, config: RedisStreamConfig, message: BrokerMessage) -> str:
        fields: dict[FieldT, EncodableT] = {
            "id": message.message_id,
            "headers": json.dumps(dict(message.headers), separators=(",", ":")),
            "body": message.body,
        }
        entry_id = await self._client.xadd(
            config.stream, fields, maxlen=config.max_len, approximate=True
        )
        shown = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        return f"redis id {shown}"

    async def close(self) -> None:
        await self._client.aclose()


def describe(exc: BaseException) -> str:
    """The receipt's text for an error the client raised."""
    if isinstance(exc, redis.exceptions.AuthenticationError):
        return "authentication failed"
    if isinstance(exc, redis.exceptions.ResponseError):
        return f"redis error: {exc}"
    if isinstance(exc, redis.exceptions.TimeoutError):
        return "timeout: no answer from Redis"
    return f"connection error: {exc or type(exc).__name__}"
