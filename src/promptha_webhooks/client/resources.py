"""The client's API, defined once: each resource is a table naming its methods after the calls
of `calls.py`, and `Api` holds the resources over one sender.

`Client` (`sync.py`) and `AsyncClient` (`aio.py`) are `Api` over a blocking or an async sender;
nothing here knows which. A method is an `Endpoint` (the call's result, awaited on the async
client) or an `EveryPage` (an iterator over every page, `async for` on the async client): the
descriptor binds the call's builder to the resource's sender, and its overloads give type
checkers the blocking or the async signature from the sender's type. To add a method, write its
call in `calls.py` (its signature and docstring are the method's) and name it here.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Self, TypeVar, overload

from promptha_webhooks.client import calls
from promptha_webhooks.client.calls import Call, Pages
from promptha_webhooks.client.http import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT_S,
    Sender,
    client_options,
)
from promptha_webhooks.client.retries import RetryPolicy

if TYPE_CHECKING:
    from promptha_webhooks.client.aio import AsyncSender
    from promptha_webhooks.client.sync import BlockingSender

__all__ = [
    "Accounts",
    "AlertContacts",
    "Api",
    "Deliveries",
    "Endpoint",
    "EventTypes",
    "Events",
    "EveryPage",
    "Ips",
    "Keys",
    "Resource",
    "Webhooks",
]

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S", bound="Sender[Any]")
# httpx.BaseTransport for the blocking client, httpx.AsyncBaseTransport for the async one.
TransportT = TypeVar("TransportT")


class Resource(Generic[S]):
    """One API resource: its methods are `Endpoint` and `EveryPage` class attributes."""

    def __init__(self, sender: S) -> None:
        self._sender = sender


class _Method(Generic[P, T]):
    """The part both kinds of method share: the builder, and the name, docstring and
    signature (the builder's, with the method's return type) that the bound method shows."""

    def __init__(self, build: Callable[P, Any]) -> None:
        self._build = build
        self._signature = inspect.signature(build, eval_str=True)
        # T of the builder's `Call[T]` or `Pages[T]`.
        (self._result,) = self._signature.return_annotation.__args__
        self._name = self._qualname = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name
        self._qualname = f"{owner.__qualname__}.{name}"

    def _named(self, method: Callable[..., Any], returns: Any) -> Callable[..., Any]:
        method.__name__ = self._name
        method.__qualname__ = self._qualname
        method.__doc__ = self.__doc__
        method.__module__ = self._build.__module__
        method.__signature__ = self._signature.replace(  # type: ignore[attr-defined]
            return_annotation=returns
        )
        return method


class Endpoint(_Method[P, T]):
    """A method that sends one call and gives its result."""

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        super().__init__(build)

    @overload
    def __get__(self, resource: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, resource: Resource[BlockingSender], owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, resource: Resource[AsyncSender], owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, resource: Resource[Any] | None, owner: type[Any]) -> Any:
        if resource is None:
            return self
        return self._named(resource._sender.method(self._build), self._result)


class EveryPage(_Method[P, T]):
    """A method that iterates over every item of a paginated list."""

    def __init__(self, build: Callable[P, Pages[T]]) -> None:
        super().__init__(build)

    @overload
    def __get__(self, resource: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(
        self, resource: Resource[BlockingSender], owner: type[Any]
    ) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(
        self, resource: Resource[AsyncSender], owner: type[Any]
    ) -> Callable[P, AsyncIterator[T]]: ...
    def __get__(self, resource: Resource[Any] | None, owner: type[Any]) -> Any:
        if resource is None:
            return self
        sender: Sender[Any] = resource._sender
        build = self._build

        def every(*args: Any, **kwargs: Any) -> Any:
            return sender.pages(build(*args, **kwargs))

        return self._named(every, sender.iterator[self._result])


class Webhooks(Resource[S]):
    """`/v1/webhooks`: an account's subscriptions (account key)."""

    create = Endpoint(calls.create_webhook)
    list = Endpoint(calls.list_webhooks)
    list_all = EveryPage(calls.all_webhooks)
    get = Endpoint(calls.get_webhook)
    update = Endpoint(calls.update_webhook)
    delete = Endpoint(calls.delete_webhook)
    secret = Endpoint(calls.get_webhook_secret)
    rotate_secret = Endpoint(calls.rotate_webhook_secret)
    complete_secret_rotation = Endpoint(calls.complete_secret_rotation)
    public_key = Endpoint(calls.get_webhook_public_key)
    headers = Endpoint(calls.get_webhook_headers)
    test = Endpoint(calls.send_test_event)
    test_filter = Endpoint(calls.test_filter)
    stats = Endpoint(calls.get_webhook_stats)
    account_stats = Endpoint(calls.get_account_stats)
    recover = Endpoint(calls.recover_webhook)


class Deliveries(Resource[S]):
    """The delivery log (account key)."""

    list = Endpoint(calls.list_deliveries)
    list_all = EveryPage(calls.all_deliveries)
    get = Endpoint(calls.get_delivery)
    retry = Endpoint(calls.retry_delivery)
    resend = Endpoint(calls.resend_deliveries)
    cancel = Endpoint(calls.cancel_delivery)


class EventTypes(Resource[S]):
    """`/v1/event-types`: the catalogue (any key)."""

    list = Endpoint(calls.list_event_types)


class Events(Resource[S]):
    """Publishing and reading events."""

    publish = Endpoint(calls.publish_event)
    publish_batch = Endpoint(calls.publish_events)
    get = Endpoint(calls.get_event)
    list = Endpoint(calls.list_events)
    list_all = EveryPage(calls.all_events)
    deliveries = Endpoint(calls.list_event_deliveries)
    cancel = Endpoint(calls.cancel_event_deliveries)


class Accounts(Resource[S]):
    """`/v1/accounts` (admin key)."""

    create = Endpoint(calls.create_account)
    list = Endpoint(calls.list_accounts)
    list_all = EveryPage(calls.all_accounts)
    get = Endpoint(calls.get_account)
    delete = Endpoint(calls.delete_account)
    create_portal_session = Endpoint(calls.create_portal_session)


class Keys(Resource[S]):
    """`/v1/accounts/{id}/keys` (admin key) and `/v1/keys` (`*_own`: an account key's own
    account)."""

    create = Endpoint(calls.create_key)
    list = Endpoint(calls.list_keys)
    delete = Endpoint(calls.delete_key)
    create_own = Endpoint(calls.create_own_key)
    list_own = Endpoint(calls.list_own_keys)
    delete_own = Endpoint(calls.delete_own_key)


class AlertContacts(Resource[S]):
    """`/v1/alert-contacts`: where the account's alerts go (account key, or admin key with
    `account`)."""

    get = Endpoint(calls.get_alert_contacts)
    set = Endpoint(calls.set_alert_contacts)


class Ips(Resource[S]):
    """`/v1/ips`: the addresses deliveries come from (public: any key, or none needed)."""

    get = Endpoint(calls.get_ips)


class Api(Generic[S, TransportT]):
    """All that `Client` and `AsyncClient` share: the constructor and the resources over
    one sender. Each client says how it connects (`_connect`) and how it is closed."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        transport: TransportT | None = None,
    ) -> None:
        options = client_options(api_key, base_url, timeout)
        self._sender = sender = self._connect(options, retry or RetryPolicy(), transport)
        self.webhooks = Webhooks(sender)
        self.deliveries = Deliveries(sender)
        self.event_types = EventTypes(sender)
        self.events = Events(sender)
        self.accounts = Accounts(sender)
        self.keys = Keys(sender)
        self.alert_contacts = AlertContacts(sender)
        self.ips = Ips(sender)

    def _connect(
        self, options: dict[str, Any], policy: RetryPolicy, transport: TransportT | None
    ) -> S:
        """The sender over an httpx client made with `options` and `transport`."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return self._sender.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"
