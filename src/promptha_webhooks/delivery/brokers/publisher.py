"""BrokerPublishers: one per process, it publishes a delivery to a broker destination and answers
with a BrokerReceipt; it never raises for what the broker or the network did.

Every publish asks the destination guard about the broker's host (destinations.decide, the
process's mode, Purpose.SEND) before any connection; a new connection goes to the address the
guard checked. One link (connection, or Redis pool) is kept per (kind, URL) and reused; a link
found closed is dropped and opened again on the next publish. Error texts never hold the URL's
credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol
from urllib.parse import unquote

from promptha_webhooks.config import Settings
from promptha_webhooks.delivery.brokers import nats_link, rabbitmq_link, redis_link
from promptha_webhooks.delivery.brokers.guard import check_broker
from promptha_webhooks.delivery.brokers.kinds import (
    MASK,
    BrokerConfig,
    BrokerURL,
    DestinationKind,
    NatsConfig,
    RabbitMQConfig,
    RedisStreamConfig,
    kind_of,
    parse_broker_url,
)
from promptha_webhooks.delivery.brokers.message import BrokerMessage, BrokerReceipt
from promptha_webhooks.destinations import CachingResolve, Purpose, ResolveFunc, system_resolve
from promptha_webhooks.errors import InvalidRequestError

__all__ = ["BrokerMessage", "BrokerPublishers", "BrokerReceipt"]

MAX_DETAIL_LENGTH = 1000  # characters


class _Link(Protocol):
    @property
    def alive(self) -> bool: ...

    async def close(self) -> None: ...


_Links = rabbitmq_link.RabbitMQLink | nats_link.NatsLink | redis_link.RedisLink
_ERRORS: tuple[type[BaseException], ...] = (
    *rabbitmq_link.ERRORS,
    *nats_link.ERRORS,
    *redis_link.ERRORS,
    OSError,
)


class BrokerPublishers:
    """Publishes to RabbitMQ, NATS JetStream and Redis streams, one link per (kind, URL)."""

    def __init__(self, settings: Settings, resolve: ResolveFunc = system_resolve) -> None:
        self._mode = settings.mode
        self._resolve = CachingResolve(resolve)
        self._links: dict[tuple[DestinationKind, str], _Links] = {}
        self._opening: dict[tuple[DestinationKind, str], asyncio.Lock] = {}
        self._closed = False

    async def publish(
        self, config: BrokerConfig, message: BrokerMessage, timeout_s: float
    ) -> BrokerReceipt:
        """Publish `message` within `timeout_s` (guard, connection and the broker's ack)."""
        kind = kind_of(config)
        try:
            url = parse_broker_url(kind, config.url)
        except InvalidRequestError as exc:
            return BrokerReceipt(False, f"invalid destination: {exc.message}")
        key = (kind, config.url)
        link: _Links | None = None
        error: BaseException
        try:
            async with asyncio.timeout(timeout_s):
                decision = await check_broker(config, self._mode, self._resolve, Purpose.SEND)
                if not decision.allowed:
                    return BrokerReceipt(False, decision.attempt_error)
                link = await self._link(key, url, decision.addresses[0], timeout_s)
                detail = await _publish(link, config, message, timeout_s)
            return BrokerReceipt(True, detail)
        except TimeoutError as exc:
            error, detail = exc, f"timeout: no ack within {timeout_s:g} s"
        except _ERRORS as exc:
            error, detail = exc, _describe(kind, exc)
        except ValueError as exc:  # a header or name the client refuses to encode
            error, detail = exc, f"invalid message: {exc}"
        if link is not None:
            await self._forget_if_broken(key, link, error)
        return BrokerReceipt(False, _scrub(detail, url)[:MAX_DETAIL_LENGTH])

    async def _link(
        self, key: tuple[DestinationKind, str], url: BrokerURL, address: str, timeout_s: float
    ) -> _Links:
        link = self._links.get(key)
        if link is not None and link.alive:
            return link
        lock = self._opening.setdefault(key, asyncio.Lock())
        async with lock:
            link = self._links.get(key)
            if link is not None and link.alive:
                return link
            if link is not None:
                del self._links[key]
                await _close_quietly(link)
            if self._closed:
                raise ConnectionError("the publishers are closed")
            opened = await _open(key[0], url, address, timeout_s)
            self._links[key] = opened
            return opened

    async def _forget_if_broken(
        self, key: tuple[DestinationKind, str], link: _Links, error: BaseException
    ) -> None:
        """Drop `link` (the next publish opens another) when `error` left it unusable."""
        if isinstance(link, redis_link.RedisLink):
            link.lost(error)
        if not link.alive:
            if self._links.get(key) is link:
                del self._links[key]
            await _close_quietly(link)

    async def close(self) -> None:
        """Close every link (publishes after this fail with a connection error)."""
        self._closed = True
        links, self._links = list(self._links.values()), {}
        for link in links:
            await _close_quietly(link)


async def _open(kind: DestinationKind, url: BrokerURL, address: str, timeout_s: float) -> _Links:
    if kind is DestinationKind.RABBITMQ:
        return await rabbitmq_link.RabbitMQLink.open(url, address, timeout_s)
    if kind is DestinationKind.NATS:
        return await nats_link.NatsLink.open(url, address, timeout_s)
    return await redis_link.RedisLink.open(url, address, timeout_s)


async def _publish(
    link: _Links, config: BrokerConfig, message: BrokerMessage, timeout_s: float
) -> str:
    if isinstance(link, rabbitmq_link.RabbitMQLink) and isinstance(config, RabbitMQConfig):
        return await link.publish(config, message)
    if isinstance(link, nats_link.NatsLink) and isinstance(config, NatsConfig):
        return await link.publish(config, message, timeout_s)
    if isinstance(link, redis_link.RedisLink) and isinstance(config, RedisStreamConfig):
        return await link.publish(config, message)
    raise AssertionError("a link of another kind")  # keys hold the kind: never


def _describe(kind: DestinationKind, exc: BaseException) -> str:
    if kind is DestinationKind.RABBITMQ:
        return rabbitmq_link.describe(exc)
    if kind is DestinationKind.NATS:
        return nats_link.describe(exc)
    return redis_link.describe(exc)


async def _close_quietly(link: _Link) -> None:
    with contextlib.suppress(*_ERRORS, TimeoutError):  # a broken link: nothing to report
        await link.close()


def _scrub(text: str, url: BrokerURL) -> str:
    """`text` without the URL's password (as written, and %-decoded)."""
    if url.password:
        for secret in {url.password, unquote(url.password)}:
            if secret:
                text = text.replace(secret, MASK)
    return text
