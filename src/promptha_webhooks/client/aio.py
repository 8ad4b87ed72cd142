"""`AsyncClient`: the asyncio management client, the same calls as `Client`, awaited.

async with AsyncClient("pwk_…") as client:
    async for hook in client.webhooks.list_all():
        print(hook.id, hook.url)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from promptha_webhooks.client import calls
from promptha_webhooks.client.calls import NOT_GIVEN, BatchEvent, Call, NotGiven
from promptha_webhooks.client.http import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT_S,
    build_request,
    client_options,
    connection_error,
    never_connected,
    read_answer,
)
from promptha_webhooks.client.retries import RetryPolicy
from promptha_webhooks.models import (
    Account,
    AccountCreated,
    ApiKey,
    Delivery,
    DeliveryDetail,
    DeliveryStatus,
    Event,
    EventTypeInfo,
    Page,
    PublishedBatch,
    TestResult,
    Webhook,
    WebhookSecret,
    WebhookWithSecret,
)

__all__ = ["AsyncClient"]

T = TypeVar("T")


class _AsyncSender:
    """Sends a Call, retrying what is safe to retry, and reads the answer."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.http = http
        self.policy = policy
        self.sleep = sleep

    async def send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self.http.send(build_request(self.http, call))
            except httpx.TransportError as exc:
                delay = self.policy.delay_after_failure(
                    attempt, connected=not never_connected(exc), retry_safe=call.retry_safe
                )
                if delay is None:
                    raise connection_error(call, self.http.base_url, exc) from exc
                await self.sleep(delay)
                continue
            delay = self.policy.delay_after_answer(
                attempt,
                response.status_code,
                response.headers.get("Retry-After"),
                retry_safe=call.retry_safe,
            )
            if delay is None:
                return read_answer(call, response)
            await response.aclose()
            await self.sleep(delay)

    async def pages(self, page_call: Callable[[str | None], Call[Page[T]]]) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            page = await self.send(page_call(cursor))
            for item in page.data:
                yield item
            if not page.has_more or page.next_cursor is None:
                return
            cursor = page.next_cursor


class AsyncWebhooks:
    """`/v1/webhooks`: an account's subscriptions (account key)."""

    def __init__(self, sender: _AsyncSender) -> None:
        self._sender = sender

    async def create(
        self,
        url: str,
        events: Sequence[str],
        *,
        secret: str | None = None,
        filters: Mapping[str, Sequence[Any]] | None = None,
        description: str = "",
        enabled: bool = True,
    ) -> WebhookWithSecret:
        """Subscribe `url` to `events`; the answer carries the secret (`whsec_…` if omitted)."""
        return await self._sender.send(
            calls.create_webhook(
                url,
                events,
                secret=secret,
                filters=filters,
                description=description,
                enabled=enabled,
            )
        )

    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Webhook]:
        """One page, newest first; pass `page.next_cursor` as `cursor` for the next."""
        return await self._sender.send(calls.list_webhooks(limit, cursor))

    def list_all(self, *, page_size: int = calls.MAX_PAGE_SIZE) -> AsyncIterator[Webhook]:
        """Every webhook, newest first, fetching pages as the iteration goes."""
        return self._sender.pages(lambda cursor: calls.list_webhooks(page_size, cursor))

    async def get(self, webhook_id: str) -> Webhook:
        return await self._sender.send(calls.get_webhook(webhook_id))

    async def update(
        self,
        webhook_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        events: Sequence[str] | NotGiven = NOT_GIVEN,
        secret: str | NotGiven | None = NOT_GIVEN,
        filters: Mapping[str, Sequence[Any]] | NotGiven | None = NOT_GIVEN,
        description: str | NotGiven = NOT_GIVEN,
        enabled: bool | NotGiven = NOT_GIVEN,
    ) -> Webhook:
        """Change the given fields only; `secret=None` rotates it, `filters=None` clears."""
        return await self._sender.send(
            calls.update_webhook(
                webhook_id,
                url=url,
                events=events,
                secret=secret,
                filters=filters,
                description=description,
                enabled=enabled,
            )
        )

    async def delete(self, webhook_id: str) -> None:
        await self._sender.send(calls.delete_webhook(webhook_id))

    async def secret(self, webhook_id: str) -> WebhookSecret:
        """Reveal the signing secret."""
        return await self._sender.send(calls.get_webhook_secret(webhook_id))

    async def test(
        self, webhook_id: str, event: str, data: Mapping[str, Any] | None = None
    ) -> TestResult:
        """Send a test event to this webhook now; fields left out of `data` come from the
        event type's sample. Answers once the receiver did, with the attempt."""
        return await self._sender.send(calls.send_test_event(webhook_id, event, data))


class AsyncDeliveries:
    """The delivery log (account key)."""

    def __init__(self, sender: _AsyncSender) -> None:
        self._sender = sender

    async def list(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        event: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Delivery]:
        """One page of the webhook's deliveries, newest first, optionally filtered."""
        return await self._sender.send(
            calls.list_deliveries(
                webhook_id, status=status, event=event, limit=limit, cursor=cursor
            )
        )

    def list_all(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        event: str | None = None,
        page_size: int = calls.MAX_PAGE_SIZE,
    ) -> AsyncIterator[Delivery]:
        return self._sender.pages(
            lambda cursor: calls.list_deliveries(
                webhook_id, status=status, event=event, limit=page_size, cursor=cursor
            )
        )

    async def get(self, delivery_id: str) -> DeliveryDetail:
        """The delivery with its payload and every attempt."""
        return await self._sender.send(calls.get_delivery(delivery_id))

    async def retry(self, delivery_id: str) -> DeliveryDetail:
        """Resend now, whatever the state; the answer includes the new attempt."""
        return await self._sender.send(calls.retry_delivery(delivery_id))


class AsyncEventTypes:
    """`/v1/event-types`: the catalogue (any key)."""

    def __init__(self, sender: _AsyncSender) -> None:
        self._sender = sender

    async def list(self) -> list[EventTypeInfo]:
        return await self._sender.send(calls.list_event_types())


class AsyncEvents:
    """Publishing and reading events."""

    def __init__(self, sender: _AsyncSender) -> None:
        self._sender = sender

    async def publish(
        self,
        event: str,
        data: Mapping[str, Any],
        *,
        account: str | None = None,
        idempotency_key: str | None = None,
    ) -> Event:
        """Publish an event. `account` is needed with the admin key. Without an
        `idempotency_key` one is generated, so a retried publish is never sent twice."""
        return await self._sender.send(
            calls.publish_event(event, data, account=account, idempotency_key=idempotency_key)
        )

    async def publish_batch(
        self, events: Sequence[BatchEvent], *, account: str | None = None
    ) -> PublishedBatch:
        """Publish up to 1,000 events in one transaction (all or none)."""
        return await self._sender.send(calls.publish_events(events, account=account))

    async def get(self, event_id: str) -> Event:
        return await self._sender.send(calls.get_event(event_id))


class AsyncAccounts:
    """`/v1/accounts` (admin key)."""

    def __init__(self, sender: _AsyncSender) -> None:
        self._sender = sender

    async def create(self, name: str) -> AccountCreated:
        """A new account and its first API key (shown only in this answer)."""
        return await self._sender.send(calls.create_account(name))

    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Account]:
        return await self._sender.send(calls.list_accounts(limit, cursor))

    def list_all(self, *, page_size: int = calls.MAX_PAGE_SIZE) -> AsyncIterator[Account]:
        return self._sender.pages(lambda cursor: calls.list_accounts(page_size, cursor))

    async def get(self, account_id: str) -> Account:
        return await self._sender.send(calls.get_account(account_id))

    async def delete(self, account_id: str) -> None:
        """Delete the account with its keys, webhooks, events and delivery logs."""
        await self._sender.send(calls.delete_account(account_id))


class AsyncKeys:
    """`/v1/accounts/{id}/keys` (admin key)."""

    def __init__(self, sender: _AsyncSender) -> None:
        self._sender = sender

    async def create(self, account_id: str) -> ApiKey:
        """A new API key for the account (`key` is shown only in this answer)."""
        return await self._sender.send(calls.create_key(account_id))

    async def list(self, account_id: str) -> list[ApiKey]:
        return await self._sender.send(calls.list_keys(account_id))

    async def delete(self, account_id: str, key_id: str) -> None:
        """Revoke the key."""
        await self._sender.send(calls.delete_key(account_id, key_id))


class AsyncClient:
    """The Promptha Webhooks management API for asyncio. Close it (or `async with`) when done.

    `transport` may be `httpx.ASGITransport(app)` to drive an app in-process.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            transport=transport, **client_options(api_key, base_url, timeout)
        )
        sender = _AsyncSender(self._http, retry or RetryPolicy(), asyncio.sleep)
        self.webhooks = AsyncWebhooks(sender)
        self.deliveries = AsyncDeliveries(sender)
        self.event_types = AsyncEventTypes(sender)
        self.events = AsyncEvents(sender)
        self.accounts = AsyncAccounts(sender)
        self.keys = AsyncKeys(sender)

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient(base_url={self.base_url!r})"
