"""Fixtures for the receiver SDK's tests: signed deliveries, Redis, and stores on each backend.

Deliveries are signed here independently of the SDK: ``signing.sign`` over
``canonical_json.dumps`` of the contract's envelope. Helpers shared across folders live in
tests/support.py (import ``support``), never imported from a conftest.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.exceptions import RedisError

from promptha_webhooks import canonical_json
from promptha_webhooks.receiver.idempotency import IdempotencyStore
from promptha_webhooks.receiver.idempotency.postgres import PostgresIdempotencyStore
from promptha_webhooks.receiver.idempotency.redis import RedisIdempotencyStore
from promptha_webhooks.receiver.idempotency.sqlite import SQLiteIdempotencyStore
from promptha_webhooks.signing import sign

SECRET = "whsec_receiver_tests_0123456789"
REDIS_HOST = os.environ.get("REDIS_HOST", "127.0.0.1")
REDIS_URL = f"redis://{REDIS_HOST}:6379/0"
IN_CI = os.environ.get("CI", "").lower() == "true"

# -- signed deliveries ---------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]
    event_id: str


SignFunc = Callable[..., Delivery]

FABRIC_COMPLETED = {
    "executionId": "exec_9f3a2c71",
    "fabricId": "product-description",
    "result": {"output": "Lightweight trail shoes."},
    "usage": {"totalTokens": 246},
}


def make_delivery(
    event: str = "fabric.completed",
    data: dict[str, Any] | None = None,
    *,
    secret: str = SECRET,
    event_id: str | None = None,
    timestamp: int | None = None,
    attempt: int = 1,
) -> Delivery:
    """The body and headers of a delivery, signed as the contract says."""
    evt = event_id or f"evt_{secrets.token_hex(8)}"
    ts = int(time.time()) if timestamp is None else timestamp
    payload = dict(FABRIC_COMPLETED if data is None else data)
    envelope = {"event": event, "data": {**payload, "eventId": evt}, "timestamp": ts}
    body = canonical_json.dumps(envelope)
    headers = {
        "Content-Type": "application/json",
        "x-promptha-timestamp": str(ts),
        "x-promptha-signature": sign(secret, ts, body),
        "x-promptha-event": event,
        "x-promptha-event-id": evt,
        "x-promptha-delivery-id": f"dlv_{secrets.token_hex(8)}",
        "x-promptha-attempt": str(attempt),
    }
    return Delivery(body, headers, evt)


@pytest.fixture
def signed() -> SignFunc:
    """``signed(event, data, secret=…, event_id=…, timestamp=…)`` → a signed Delivery."""
    return make_delivery


# -- services --------------------------------------------------------------------------------

_redis_state: dict[str, str | None] = {}


def _redis_problem() -> str | None:
    """None when Redis answers PING, else why not (checked once per session)."""
    if "problem" not in _redis_state:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3, socket_timeout=3)
        try:
            client.ping()
            _redis_state["problem"] = None
        except (RedisError, OSError) as exc:
            _redis_state["problem"] = f"Redis at {REDIS_HOST}:6379 unreachable: {exc}"
        finally:
            client.close()
    return _redis_state["problem"]


def require_redis() -> None:
    problem = _redis_problem()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"{problem} (CI=true: Redis tests must run)")
    pytest.skip(problem)


@pytest.fixture
def redis_url() -> str:
    """The real Redis (skips, or fails under CI=true, when it is unreachable)."""
    require_redis()
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A unique key prefix on the real Redis; its keys are deleted afterwards."""
    require_redis()
    prefix = f"pw-test:{secrets.token_hex(6)}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


StoreFactory = Callable[..., IdempotencyStore]


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Builds stores on one backend (real servers), all sharing one table or key space."""
    if request.param == "sqlite":
        path = tmp_path / "events.db"
        return lambda **options: SQLiteIdempotencyStore(path, **options)
    if request.param == "postgresql":
        dsn: str = request.getfixturevalue("fresh_postgres_url")
        return lambda **options: PostgresIdempotencyStore(dsn, **options)
    prefix: str = request.getfixturevalue("redis_prefix")
    return lambda **options: RedisIdempotencyStore(REDIS_URL, prefix=prefix, **options)


@pytest.fixture
async def store_factory(store_backend: StoreFactory) -> AsyncIterator[StoreFactory]:
    """``store_backend``, with every store it built closed afterwards (on the test's loop)."""
    made: list[IdempotencyStore] = []

    def factory(**options: Any) -> IdempotencyStore:
        store = store_backend(**options)
        made.append(store)
        return store

    yield factory
    for store in made:
        await store.aclose()


# -- Django ----------------------------------------------------------------------------------


class URLConf:
    """A urlconf object (ROOT_URLCONF may be one instead of a module path)."""

    def __init__(self, *patterns: Any) -> None:
        self.urlpatterns = list(patterns)


@pytest.fixture(scope="session")
def django_settings() -> None:
    """Configure Django once per process (settings.configure cannot run twice)."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            SECRET_KEY="receiver-tests-" + "x" * 40,
            ALLOWED_HOSTS=["testserver"],
            INSTALLED_APPS=[],
            DATABASES={},
            # CSRF protection on: the views must be exempt (the signature authenticates).
            MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
            ROOT_URLCONF=URLConf(),
        )
        django.setup()


@pytest.fixture
def urls(django_settings: None) -> Iterator[Callable[..., None]]:
    """``urls(path(...), ...)`` or ``urls(module)`` installs a urlconf for the test."""
    from django.test import override_settings

    overrides: list[Any] = []

    def install(*patterns: Any) -> None:
        if len(patterns) == 1 and hasattr(patterns[0], "urlpatterns"):
            urlconf = patterns[0]
        else:
            urlconf = URLConf(*patterns)
        override = override_settings(ROOT_URLCONF=urlconf)
        override.enable()
        overrides.append(override)

    yield install
    for override in reversed(overrides):
        override.disable()
