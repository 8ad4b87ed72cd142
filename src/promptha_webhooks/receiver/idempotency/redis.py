"""Redis idempotency store (redis-py asyncio): one key per event, claims with ``SET NX PX``.

The key holds ``processing:<token>`` while claimed and ``done`` once handled; Redis expires it.
Completing and releasing are Lua scripts that check the token, so a processor whose claim lapsed
cannot overwrite the processor that took the event over.
"""

from __future__ import annotations

import secrets
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from promptha_webhooks.receiver.errors import StoreUnavailableError
from promptha_webhooks.receiver.idempotency import (
    CLAIM_TTL_S,
    DONE_TTL_S,
    Claim,
    ClaimState,
    check_ttls,
)

__all__ = ["DEFAULT_PREFIX", "SOCKET_TIMEOUT_S", "RedisIdempotencyStore"]

DEFAULT_PREFIX = "promptha:webhooks:event:"
"""Key prefix; the event id follows it."""

SOCKET_TIMEOUT_S = 5.0
"""Connect and command timeout of the store's own client, in seconds."""

_DONE = "done"
_PROCESSING = "processing:"
_CLAIM_ATTEMPTS = 3
_DRIVER_ERRORS = (RedisError, OSError, TimeoutError)

# KEYS[1] = the event's key; ARGV[1] = 'processing:<token>'; ARGV[2] = done TTL in ms.
_COMPLETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisIdempotencyStore:
    """Claims and handled events as Redis keys.

    Give either ``url`` (``redis://127.0.0.1:6379/0``; the store owns its client) or a
    ``redis.asyncio.Redis`` ``client`` you manage (the store never closes it).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: aioredis.Redis | None = None,
        prefix: str = DEFAULT_PREFIX,
        claim_ttl_s: float = CLAIM_TTL_S,
        done_ttl_s: float = DONE_TTL_S,
    ) -> None:
        if (url is None) == (client is None):
            raise ValueError("give exactly one of url or client")
        check_ttls(claim_ttl_s, done_ttl_s)
        self._url = url
        self._client = client
        self._owns_client = client is None
        self.prefix = prefix
        self.claim_ttl_s = claim_ttl_s
        self.done_ttl_s = done_ttl_s

    def __repr__(self) -> str:
        return f"RedisIdempotencyStore(prefix={self.prefix!r})"

    def _redis(self) -> aioredis.Redis:
        if self._client is None:
            assert self._url is not None
            self._client = aioredis.Redis.from_url(
                self._url,
                decode_responses=True,
                socket_timeout=SOCKET_TIMEOUT_S,
                socket_connect_timeout=SOCKET_TIMEOUT_S,
            )
        return self._client

    async def _call(self, command: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await getattr(self._redis(), command)(*args, **kwargs)
        except _DRIVER_ERRORS as exc:
            raise StoreUnavailableError(f"Redis idempotency store: {exc}") from exc

    async def claim(self, event_id: str) -> Claim:
        key = self.prefix + event_id
        token = secrets.token_hex(16)
        ttl_ms = max(1, round(self.claim_ttl_s * 1000))
        for _ in range(_CLAIM_ATTEMPTS):
            if await self._call("set", key, _PROCESSING + token, nx=True, px=ttl_ms):
                return Claim(event_id, ClaimState.CLAIMED, token)
            value = await self._call("get", key)
            if value is not None:
                state = ClaimState.DONE if _as_str(value) == _DONE else ClaimState.IN_PROGRESS
                return Claim(event_id, state)
            # expired or released between SET and GET: try again
        return Claim(event_id, ClaimState.IN_PROGRESS)

    async def complete(self, claim: Claim) -> bool:
        done_ms = max(1, round(self.done_ttl_s * 1000))
        key = self.prefix + claim.event_id
        changed = await self._call(
            "eval", _COMPLETE, 1, key, _PROCESSING + str(claim.token), done_ms
        )
        return bool(changed)

    async def release(self, claim: Claim) -> bool:
        key = self.prefix + claim.event_id
        deleted = await self._call("eval", _RELEASE, 1, key, _PROCESSING + str(claim.token))
        return bool(deleted)

    async def aclose(self) -> None:
        client = self._client
        if self._owns_client:
            self._client = None
            if client is not None:
                await client.aclose()


def _as_str(value: str | bytes) -> str:
    """A client given by the caller may not decode responses."""
    return value.decode() if isinstance(value, bytes) else value
