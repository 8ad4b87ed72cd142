"""Setting up through the service's own HTTP API (as an operator's scripts would): an account,
webhooks filtered on their own fabric, and a backlog published in batches by a
`serve --no-dispatcher` process. This talks to the service only through its processes and its
API, so it does not depend on how the service is built inside.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp

from bench import events
from bench.common import ADMIN_KEY, Context, log
from bench.database import ScratchDatabase
from bench.service import ServiceProcess

BATCH_EVENTS = 1000  # the API's largest batch
PUBLISHERS = 2  # batch requests in flight while seeding
REQUEST_TIMEOUT_S = 120.0


class ApiError(RuntimeError):
    """The service answered a set-up call with an unexpected status."""


@dataclass(frozen=True)
class Account:
    id: str
    key: str  # the account's API key (pwk_…)


class Api:
    """`async with Api(base_url) as api:` — calls of the management API with the admin key."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Api:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        )
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def _post(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        assert self._session is not None
        headers = {"Authorization": f"Bearer {key}"}
        async with self._session.post(self.base_url + path, json=body, headers=headers) as answer:
            data: dict[str, Any] = await answer.json(content_type=None)
            if answer.status != 201:
                raise ApiError(f"POST {path}: {answer.status} {str(data)[:300]}")
            return data

    async def create_account(self, name: str = "bench") -> Account:
        data = await self._post("/v1/accounts", {"name": name}, ADMIN_KEY)
        return Account(data["account"]["id"], data["apiKey"]["key"])

    async def create_webhook(
        self,
        account: Account,
        url: str,
        fabric: str | None = None,
        event_types: tuple[str, ...] = (events.EVENT_TYPE,),
    ) -> str:
        """A webhook of `fabric.completed` events (or `event_types`), filtered on `fabric` when
        given."""
        body: dict[str, Any] = {"url": url, "events": list(event_types)}
        if fabric is not None:
            body["filters"] = {"fabricId": [fabric]}
        data = await self._post("/v1/webhooks", body, account.key)
        return str(data["id"])

    async def create_fabric_webhooks(self, account: Account, urls: list[str]) -> list[str]:
        """Webhook k at urls[k], filtered on fabric k."""
        return [
            await self.create_webhook(account, url, events.fabric_id(k))
            for k, url in enumerate(urls)
        ]

    async def publish_batch(self, account: Account, items: list[dict[str, Any]]) -> int:
        """Publish one batch; returns the deliveries it stored."""
        data = await self._post("/v1/events/batch", {"events": items}, account.key)
        return sum(int(event["deliveryCount"]) for event in data["data"])


async def seed_through_api(
    ctx: Context, db: ScratchDatabase, urls: list[str], count: int, *, name: str
) -> Account:
    """On a migrated database: an account, one webhook per URL (webhook k filtered on fabric k)
    and `count` typical events spread over the fabrics, each stored with one due delivery,
    published by `serve --no-dispatcher` in batches of 1,000."""
    api_process = ServiceProcess(ctx, f"{name}-seed", db.url, "serve", "--no-dispatcher")
    await api_process.start()
    try:
        async with Api(api_process.url) as api:
            account = await api.create_account()
            await api.create_fabric_webhooks(account, urls)
            items = [events.batch_item(number, len(urls)) for number in range(count)]
            batches = [
                items[first : first + BATCH_EVENTS] for first in range(0, count, BATCH_EVENTS)
            ]
            stored = 0
            for start in range(0, len(batches), PUBLISHERS):
                group = batches[start : start + PUBLISHERS]
                stored += sum(await asyncio.gather(*(api.publish_batch(account, b) for b in group)))
    finally:
        await api_process.stop()
    if stored != count:
        raise ApiError(f"{name}: the filters routed {stored:,} deliveries for {count:,} events")
    log(f"{name}: published {count:,} events through the API, one delivery each")
    return account
