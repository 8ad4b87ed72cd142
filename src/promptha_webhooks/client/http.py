"""The HTTP side both clients share: base URL, headers, timeouts, reading an answer."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from promptha_webhooks import __version__
from promptha_webhooks.client.calls import Call
from promptha_webhooks.client.errors import ApiConnectionError, ApiError, error_from_answer

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_TIMEOUT_S",
    "USER_AGENT",
    "build_request",
    "client_options",
    "connection_error",
    "never_connected",
    "normalise_base_url",
    "read_answer",
]

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# A test event or a resend answers only once the receiver did (up to its 30 s timeout).
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
USER_AGENT = f"promptha-webhooks-client/{__version__}"


def normalise_base_url(base_url: str) -> str:
    """`http://host:8000`, also when given with a trailing `/` or `/v1` (as `serve` prints)."""
    url = base_url.strip().rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
    return url


def client_options(api_key: str, base_url: str, timeout_s: float) -> dict[str, Any]:
    """Keyword arguments for httpx.Client / httpx.AsyncClient."""
    if not api_key:
        raise ValueError("api_key must not be empty")
    return {
        "base_url": normalise_base_url(base_url),
        "headers": {"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT},
        "timeout": httpx.Timeout(timeout_s, connect=min(timeout_s, DEFAULT_CONNECT_TIMEOUT_S)),
        "follow_redirects": False,
    }


def build_request(http: httpx.Client | httpx.AsyncClient, call: Call[Any]) -> httpx.Request:
    headers = dict(call.headers)
    content = call.content()
    if content is not None:
        headers["Content-Type"] = "application/json"
    return http.build_request(
        call.method, call.path, params=dict(call.params), content=content, headers=headers
    )


def read_answer(call: Call[T], response: httpx.Response) -> T:
    """The call's result from a successful answer; the matching ApiError otherwise."""
    if not response.is_success:
        raise error_from_answer(response.status_code, response.content)
    try:
        document = response.json() if response.content else None
        return call.read(document)
    except (ValueError, KeyError, TypeError) as exc:  # not JSON, or a shape the models refuse
        raise ApiError(
            f"Unexpected answer to {call.method} {call.path}: {exc}",
            status_code=response.status_code,
        ) from exc


def never_connected(exc: httpx.TransportError) -> bool:
    """True when the request cannot have reached the API (safe to send again)."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def connection_error(call: Call[Any], base_url: httpx.URL, exc: httpx.TransportError) -> ApiError:
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        reason = f"timed out ({type(exc).__name__})"
    return ApiConnectionError(
        f"Cannot reach the API at {base_url} ({call.method} {call.path}): {reason}"
    )
