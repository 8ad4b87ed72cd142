"""Idempotency: each event's handler runs once, however often it is delivered."""

from __future__ import annotations

import os

from promptha_webhooks.catalog import CreditsPurchased
from promptha_webhooks.receiver import Event, IdempotencyStore, Webhooks
from promptha_webhooks.receiver.idempotency.postgres import PostgresIdempotencyStore
from promptha_webhooks.receiver.idempotency.redis import RedisIdempotencyStore
from promptha_webhooks.receiver.idempotency.sqlite import SQLiteIdempotencyStore


def idempotency_store(url: str) -> IdempotencyStore:
    if url.startswith("postgresql://"):
        return PostgresIdempotencyStore(url)  # many receivers, one database
    if url.startswith("redis://"):
        return RedisIdempotencyStore(url)
    return SQLiteIdempotencyStore(url.removeprefix("sqlite:///"))  # one machine


hooks = Webhooks(
    secret=os.environ["WEBHOOK_SECRET"],
    idempotency=idempotency_store(os.environ["IDEMPOTENCY_URL"]),
)
balances: dict[str, float] = {}


@hooks.on("credits.purchased")
async def add_credits(event: Event[CreditsPurchased]) -> None:
    # Not idempotent by itself: a second run would add the credits twice.
    user = event.data.userId
    balances[user] = balances.get(user, 0) + event.data.amount
