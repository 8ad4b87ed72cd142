"""One NATS connection (nats-py) publishing to JetStream: every publish waits for the stream's
ack, Nats-Msg-Id is the event id (the stream drops a duplicate inside its window), and the
expected stream, when configured, must be the one that stores it."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import ssl

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client

from promptha_webhooks.delivery.brokers.kinds import BrokerURL, NatsConfig
from promptha_webhooks.delivery.brokers.message import BrokerMessage

MSG_ID_HEADER = "Nats-Msg-Id"
ERRORS: tuple[type[BaseException], ...] = (nats.errors.Error, ConnectionError)


_BAD_HEADER_NAME = re.compile(r"[\x00-\x20\x7f:]")
_BAD_HEADER_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# nats-py tries a server again until it has failed more than this many times (0: forever).
CONNECT_TRIES = 1


class NatsLink:
    def __init__(self, client: Client, timeout_s: float, lost: asyncio.Future[None]) -> None:
        self._client = client
        self._js = client.jetstream(timeout=timeout_s)
        # Done when the connection closes: an ack awaited on it will never come.
        self._lost = lost

    @classmethod
    async def open(cls, url: BrokerURL, address: str, timeout_s: float) -> NatsLink:
        """Connect to `address` (the checked address of the URL's host); TLS checks the name.
        No background reconnection: a closed link is replaced on the next publish."""
        tls = ssl.create_default_context() if url.tls else None
        failures: list[Exception] = []
        lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def remember(exc: Exception) -> None:
            # nats-py's error callback (its default logs a traceback): the receipt reports it.
            failures.append(exc)

        async def closed() -> None:
            if not lost.done():
                lost.set_result(None)

        client = Client()
        try:
            await client.connect(
                servers=[url.text(host=address)],
                # (whole seconds for nats-py; the publish's own timeout bounds it anyway)
                connect_timeout=math.ceil(timeout_s),
                allow_reconnect=False,
                max_reconnect_attempts=CONNECT_TRIES,
                reconnect_time_wait=0,
                tls=tls,
                tls_hostname=url.host if url.tls else None,
                error_cb=remember,
                disconnected_cb=closed,
                closed_cb=closed,
            )
        except nats.errors.NoServersError as exc:
            why = failures[-1] if failures else exc
            raise ConnectionError(str(why) or type(why).__name__) from exc
        except BaseException:
            # Cancelled (the publish's timeout) or failed half way: nats-py leaves the socket
            # open.
            with contextlib.suppress(*ERRORS, OSError):
                await asyncio.shield(client.close())
            raise
        return cls(client, timeout_s, lost)

    @property
    def alive(self) -> bool:
        return self._client.is_connected

    async def publish(self, config: NatsConfig, message: BrokerMessage, timeout_s: float) -> str:
        headers = {**message.headers, MSG_ID_HEADER: message.message_id}
        for name, value in headers.items():
            # nats-py writes headers as text lines: a line break would add headers of its own.
            if _BAD_HEADER_NAME.search(name) or _BAD_HEADER_VALUE.search(value) or not name:
                raise ValueError(f"header {name[:100]!r} cannot be carried in a NATS message")
        acked = asyncio.ensure_future(
            self._js.publish(
                config.subject,
                message.body,
                timeout=timeout_s,
                stream=config.stream,
                headers=headers,
            )
        )
        try:
            await asyncio.wait((acked, self._lost), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not acked.done():
                acked.cancel()
        if not acked.done() or acked.cancelled():
            raise ConnectionError("the connection closed before the ack")
        ack = acked.result()
        duplicate = " (duplicate: already stored)" if ack.duplicate else ""
        return f"acked by stream {ack.stream} seq {ack.seq}{duplicate}"

    async def close(self) -> None:
        await self._client.close()


def describe(exc: BaseException) -> str:
    """The receipt's text for an error the client raised."""
    if isinstance(exc, nats.js.errors.NoStreamResponseError):
        return "no stream: no JetStream stream stores this subject"
    if isinstance(exc, nats.js.errors.APIError):
        return f"nack: {exc.description or exc}"
    if isinstance(exc, nats.errors.TimeoutError):
        return "timeout: no JetStream ack"
    if isinstance(exc, nats.errors.NoServersError):
        return "connection error: the NATS server is unreachable"
    if isinstance(exc, nats.errors.AuthorizationError):
        return "authentication failed"
    text = str(exc) or type(exc).__name__
    return text if text.startswith("nats: ") else f"connection error: {text}"
