"""`AsyncClient`: the asyncio management client, the API of `resources.py` over an async sender:
the same calls as `Client`, awaited.

async with AsyncClient("pwk_…") as client:
    async for hook in client.webhooks.list_all():
        print(hook.id, hook.url)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, ClassVar, ParamSpec, TypeVar

import httpx

from promptha_webhooks.client.calls import Call, Pages
from promptha_webhooks.client.http import Sender
from promptha_webhooks.client.resources import Api
from promptha_webhooks.client.retries import RetryPolicy
from promptha_webhooks.models import Page

__all__ = ["AsyncClient", "AsyncSender"]

P = ParamSpec("P")
T = TypeVar("T")


class AsyncSender(Sender[httpx.AsyncClient]):
    """Sends a Call over an httpx.AsyncClient, retrying what is safe to retry (`Tries`)."""

    iterator: ClassVar[Any] = AsyncIterator

    async def send(self, call: Call[T]) -> T:
        tries = self._tries(call)
        while (wait := tries.wait_after(await self._try(tries.request))) is not None:
            await asyncio.sleep(wait)
        return tries.result()

    async def _try(self, request: httpx.Request) -> httpx.Response | httpx.TransportError:
        try:
            return await self._http.send(request)
        except httpx.TransportError as exc:
            return exc

    async def pages(self, pages: Pages[T]) -> AsyncIterator[T]:
        call: Call[Page[T]] | None = pages.first()
        while call is not None:
            page = await self.send(call)
            for item in page.data:
                yield item
            call = pages.after(page)

    def method(self, build: Callable[P, Call[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        async def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return await self.send(build(*args, **kwargs))

        return method

    async def aclose(self) -> None:
        await self._http.aclose()


class AsyncClient(Api[AsyncSender, httpx.AsyncBaseTransport]):
    """The Promptha Webhooks management API for asyncio. Close it (or `async with`) when done.

    `transport` may be `httpx.ASGITransport(app)` to drive an app in-process.
    """

    def _connect(
        self,
        options: dict[str, Any],
        policy: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None,
    ) -> AsyncSender:
        return AsyncSender(httpx.AsyncClient(transport=transport, **options), policy)

    async def aclose(self) -> None:
        await self._sender.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
