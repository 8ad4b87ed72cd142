"""`Client`: the blocking management client, the API of `resources.py` over a blocking sender.

with Client("pwk_…") as client:
    hook = client.webhooks.create("https://example.com/hooks", ["fabric.completed"])
    for delivery in client.deliveries.list_all(hook.id, status="failed"):
        client.deliveries.retry(delivery.id)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, ParamSpec, TypeVar

import httpx

from promptha_webhooks.client.calls import Call, Pages
from promptha_webhooks.client.http import Sender
from promptha_webhooks.client.resources import Api
from promptha_webhooks.client.retries import RetryPolicy
from promptha_webhooks.models import Page

__all__ = ["BlockingSender", "Client"]

P = ParamSpec("P")
T = TypeVar("T")


class BlockingSender(Sender[httpx.Client]):
    """Sends a Call over an httpx.Client, retrying what is safe to retry (`Tries`), blocking."""

    iterator: ClassVar[Any] = Iterator

    def send(self, call: Call[T]) -> T:
        tries = self._tries(call)
        while (wait := tries.wait_after(self._try(tries.request))) is not None:
            time.sleep(wait)
        return tries.result()

    def _try(self, request: httpx.Request) -> httpx.Response | httpx.TransportError:
        try:
            return self._http.send(request)
        except httpx.TransportError as exc:
            return exc

    def pages(self, pages: Pages[T]) -> Iterator[T]:
        call: Call[Page[T]] | None = pages.first()
        while call is not None:
            page = self.send(call)
            yield from page.data
            call = pages.after(page)

    def method(self, build: Callable[P, Call[T]]) -> Callable[P, T]:
        def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return self.send(build(*args, **kwargs))

        return method

    def close(self) -> None:
        self._http.close()


class Client(Api[BlockingSender, httpx.BaseTransport]):
    """The Promptha Webhooks management API, blocking. Close it (or use `with`) when done."""

    def _connect(
        self, options: dict[str, Any], policy: RetryPolicy, transport: httpx.BaseTransport | None
    ) -> BlockingSender:
        return BlockingSender(httpx.Client(transport=transport, **options), policy)

    def close(self) -> None:
        self._sender.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
