"""`Client`: the blocking management client, one attribute per API resource.

with Client("pwk_…") as client:
    hook = client.webhooks.create("https://example.com/hooks", ["fabric.completed"])
    for delivery in client.deliveries.list_all(hook.id, status="failed"):
        client.deliveries.retry(delivery.id)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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

__all__ = ["Client"]

T = TypeVar("T")


class _Sender:
    """Sends a Call, retrying what is safe to retry, and reads the answer."""

    def __init__(
        self, http: httpx.Client, policy: RetryPolicy, sleep: Callable[[float], None]
    ) -> None:
        self.http = http
        self.policy = policy
        self.sleep = sleep

    def send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.http.send(build_request(self.http, call))
            except httpx.TransportError as exc:
                delay = self.policy.delay_after_failure(
                    attempt, connected=not never_connected(exc), retry_safe=call.retry_safe
                )
                if delay is None:
                    raise connection_error(call, self.http.base_url, exc) from exc
                self.sleep(delay)
                continue
            delay = self.policy.delay_after_answer(
                attempt,
                response.status_code,
                response.headers.get("Retry-After"),
                retry_safe=call.retry_safe,
            )
            if delay is None:
                return read_answer(call, response)
            response.close()
            self.sleep(delay)

    def pages(self, page_call: Callable[[str | None], Call[Page[T]]]) -> Iterator[T]:
        cursor: str | None = None
        while True:
            page = self.send(page_call(cursor))
            yield from page.data
            if not page.has_more or page.next_cursor is None:
                return
            cursor = page.next_cursor


class Webhooks:
    """`/v1/webhooks`: an account's subscriptions (account key)."""

    def __init__(self, sender: _Sender) -> None:
        self._sender = sender

    def create(
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
        return self._sender.send(
            calls.create_webhook(
                url,
                events,
                secret=secret,
                filters=filters,
                description=description,
                enabled=enabled,
            )
        )

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Webhook]:
        """One page, newest first; pass `page.next_cursor` as `cursor` for the next."""
        return self._sender.send(calls.list_webhooks(limit, cursor))

    def list_all(self, *, page_size: int = calls.MAX_PAGE_SIZE) -> Iterator[Webhook]:
        """Every webhook, newest first, fetching pages as the iteration goes."""
        return self._sender.pages(lambda cursor: calls.list_webhooks(page_size, cursor))

    def get(self, webhook_id: str) -> Webhook:
        return self._sender.send(calls.get_webhook(webhook_id))

    def update(
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
        return self._sender.send(
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

    def delete(self, webhook_id: str) -> None:
        self._sender.send(calls.delete_webhook(webhook_id))

    def secret(self, webhook_id: str) -> WebhookSecret:
        """Reveal the signing secret."""
        return self._sender.send(calls.get_webhook_secret(webhook_id))

    def test(
        self, webhook_id: str, event: str, data: Mapping[str, Any] | None = None
    ) -> TestResult:
        """Send a test event to this webhook now; fields left out of `data` come from the
        event type's sample. Answers once the receiver did, with the attempt."""
        return self._sender.send(calls.send_test_event(webhook_id, event, data))


class Deliveries:
    """The delivery log (account key)."""

    def __init__(self, sender: _Sender) -> None:
        self._sender = sender

    def list(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        event: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Delivery]:
        """One page of the webhook's deliveries, newest first, optionally filtered."""
        return self._sender.send(
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
    ) -> Iterator[Delivery]:
        return self._sender.pages(
            lambda cursor: calls.list_deliveries(
                webhook_id, status=status, event=event, limit=page_size, cursor=cursor
            )
        )

    def get(self, delivery_id: str) -> DeliveryDetail:
        """The delivery with its payload and every attempt."""
        return self._sender.send(calls.get_delivery(delivery_id))

    def retry(self, delivery_id: str) -> DeliveryDetail:
        """Resend now, whatever the state; the answer includes the new attempt."""
        return self._sender.send(calls.retry_delivery(delivery_id))


class EventTypes:
    """`/v1/event-types`: the catalogue (any key)."""

    def __init__(self, sender: _Sender) -> None:
        self._sender = sender

    def list(self) -> list[EventTypeInfo]:
        return self._sender.send(calls.list_event_types())


class Events:
    """Publishing and reading events."""

    def __init__(self, sender: _Sender) -> None:
        self._sender = sender

    def publish(
        self,
        event: str,
        data: Mapping[str, Any],
        *,
        account: str | None = None,
        idempotency_key: str | None = None,
    ) -> Event:
        """Publish an event. `account` is needed with the admin key. Without an
        `idempotency_key` one is generated, so a retried publish is never sent twice."""
        return self._sender.send(
            calls.publish_event(event, data, account=account, idempotency_key=idempotency_key)
        )

    def publish_batch(
        self, events: Sequence[BatchEvent], *, account: str | None = None
    ) -> PublishedBatch:
        """Publish up to 1,000 events in one transaction (all or none)."""
        return self._sender.send(calls.publish_events(events, account=account))

    def get(self, event_id: str) -> Event:
        return self._sender.send(calls.get_event(event_id))


class Accounts:
    """`/v1/accounts` (admin key)."""

    def __init__(self, sender: _Sender) -> None:
        self._sender = sender

    def create(self, name: str) -> AccountCreated:
        """A new account and its first API key (shown only in this answer)."""
        return self._sender.send(calls.create_account(name))

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Account]:
        return self._sender.send(calls.list_accounts(limit, cursor))

    def list_all(self, *, page_size: int = calls.MAX_PAGE_SIZE) -> Iterator[Account]:
        return self._sender.pages(lambda cursor: calls.list_accounts(page_size, cursor))

    def get(self, account_id: str) -> Account:
        return self._sender.send(calls.get_account(account_id))

    def delete(self, account_id: str) -> None:
        """Delete the account with its keys, webhooks, events and delivery logs."""
        self._sender.send(calls.delete_account(account_id))


class Keys:
    """`/v1/accounts/{id}/keys` (admin key)."""

    def __init__(self, sender: _Sender) -> None:
        self._sender = sender

    def create(self, account_id: str) -> ApiKey:
        """A new API key for the account (`key` is shown only in this answer)."""
        return self._sender.send(calls.create_key(account_id))

    def list(self, account_id: str) -> list[ApiKey]:
        return self._sender.send(calls.list_keys(account_id))

    def delete(self, account_id: str, key_id: str) -> None:
        """Revoke the key."""
        self._sender.send(calls.delete_key(account_id, key_id))


class Client:
    """The Promptha Webhooks management API, blocking. Close it (or use `with`) when done."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(transport=transport, **client_options(api_key, base_url, timeout))
        sender = _Sender(self._http, retry or RetryPolicy(), time.sleep)
        self.webhooks = Webhooks(sender)
        self.deliveries = Deliveries(sender)
        self.event_types = EventTypes(sender)
        self.events = Events(sender)
        self.accounts = Accounts(sender)
        self.keys = Keys(sender)

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"
