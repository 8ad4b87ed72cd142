"""The management client: `Client` (blocking) and `AsyncClient` (asyncio) for the /v1 API.

    from promptha_webhooks.client import Client, NotFoundError

    with Client("pwk_…", "http://127.0.0.1:8000") as client:
        hook = client.webhooks.create("https://example.com/hooks", ["fabric.completed"])
        result = client.webhooks.test(hook.id, "fabric.completed")
        event = client.events.publish("credits.low", {"remaining": 120, "threshold": 500,
                                                       "userId": "user_7d2f"})

Results are the service's own models (`promptha_webhooks.models`); failures raise `ApiError`
subclasses carrying the API's error type, message, field and HTTP status. Reads, deletes and
publishes (which always carry an Idempotency-Key) are retried with backoff on 5xx answers and
broken connections.
"""

from __future__ import annotations

from promptha_webhooks.client.aio import AsyncClient
from promptha_webhooks.client.calls import NOT_GIVEN, BatchEvent, NotGiven
from promptha_webhooks.client.errors import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServiceUnavailableError,
)
from promptha_webhooks.client.http import DEFAULT_BASE_URL, DEFAULT_TIMEOUT_S
from promptha_webhooks.client.retries import RetryPolicy
from promptha_webhooks.client.sync import Client

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT_S",
    "NOT_GIVEN",
    "ApiConnectionError",
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "BatchEvent",
    "Client",
    "ConflictError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "NotGiven",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RetryPolicy",
    "ServiceUnavailableError",
]
