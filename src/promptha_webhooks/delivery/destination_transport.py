"""The Transport that routes: an attempt whose webhook is a broker destination (its
OutboundRequest carries the parsed `destination`) is published through the process's
BrokerPublishers (delivery/brokers/), every other one goes to the HTTP transport.

A broker's receipt becomes the TransportResponse the record stage already understands, so
retries, the attempt log, stats, auto-disable and resend work unchanged: acknowledged is
status 202 with the receipt's detail as the response body ("acked by stream X seq 42", "redis
id 1733-0"); anything else is an attempt without an answer whose error is the receipt's detail
("connection error: ...", "timeout ...", "nack ...", "blocked: ..."), retried on the schedule.
"""

from __future__ import annotations

import time
from typing import Self

from promptha_webhooks.config import Settings
from promptha_webhooks.delivery.brokers import BrokerMessage, BrokerPublishers
from promptha_webhooks.delivery.transport import (
    MAX_ERROR_LENGTH,
    AiohttpTransport,
    OutboundRequest,
    TransportResponse,
    receiver_text,
)
from promptha_webhooks.destinations import ResolveFunc, system_resolve

# The status an acknowledged broker publish is recorded with (delivered, like any 2xx).
BROKER_ACK_STATUS = 202


class DestinationTransport:
    """`http` for HTTP webhooks, `brokers` (owned: closed with this transport) for the rest."""

    def __init__(
        self, settings: Settings, http: AiohttpTransport, brokers: BrokerPublishers
    ) -> None:
        self._settings = settings
        self.http = http
        self.brokers = brokers

    @classmethod
    def build(cls, settings: Settings, resolve: ResolveFunc = system_resolve) -> Self:
        """The process's transport: one aiohttp session, one BrokerPublishers."""
        http = AiohttpTransport(settings, resolve)
        return cls(settings, http, BrokerPublishers(settings, resolve))

    async def start(self) -> None:
        await self.http.start()

    async def send(self, request: OutboundRequest) -> TransportResponse:
        destination = request.destination
        if destination is None:
            return await self.http.send(request)
        timeout_s = self._settings.delivery_timeout_s
        if request.timeout_s is not None and request.timeout_s < self._settings.lease_s:
            timeout_s = request.timeout_s
        message = BrokerMessage(request.body, request.headers, request.message_id)
        started = time.time()
        t0 = time.perf_counter()
        receipt = await self.brokers.publish(destination, message, timeout_s)
        duration = (time.perf_counter() - t0) * 1000
        detail = receiver_text(receipt.detail[:MAX_ERROR_LENGTH])
        if receipt.ok:
            return TransportResponse(BROKER_ACK_STATUS, None, detail, None, None, started, duration)
        return TransportResponse(None, None, None, detail, None, started, duration)

    async def close(self) -> None:
        try:
            await self.brokers.close()
        finally:
            await self.http.close()
