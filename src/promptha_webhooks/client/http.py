"""The HTTP side both clients share: base URL, headers, timeouts and reading an answer;
`Tries`, one call's retry loop without its I/O; and `Sender`, the base of the blocking and the
async sender, which only add the I/O (send a request, sleep between tries)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, ClassVar, Generic, ParamSpec, TypeVar

import httpx

from promptha_webhooks import __version__
from promptha_webhooks.client.calls import Call, Pages
from promptha_webhooks.client.errors import ApiConnectionError, ApiError, error_from_answer
from promptha_webhooks.client.retries import RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_TIMEOUT_S",
    "USER_AGENT",
    "Outcome",
    "Sender",
    "Tries",
    "build_request",
    "client_options",
    "connection_error",
    "never_connected",
    "normalise_base_url",
    "read_answer",
]

P = ParamSpec("P")
T = TypeVar("T")
H = TypeVar("H", httpx.Client, httpx.AsyncClient)
# What one try of a request ends with: an answer, or no answer.
Outcome = httpx.Response | httpx.TransportError

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


class Tries(Generic[T]):
    """One call's tries, without I/O. Send `request`, hand what came of it to `wait_after`,
    and sleep the seconds it returns before sending again; when it returns None, `result()`
    reads the final answer. It raises the ApiConnectionError when a failure is final."""

    def __init__(
        self, call: Call[T], policy: RetryPolicy, http: httpx.Client | httpx.AsyncClient
    ) -> None:
        self.request = build_request(http, call)
        self._call = call
        self._policy = policy
        self._base_url = http.base_url
        self._attempt = 0
        self._answer: httpx.Response | None = None

    def wait_after(self, outcome: Outcome) -> float | None:
        """Seconds to wait before the next try, or None when `outcome` is the final answer.
        (httpx has read and closed an answer it returns, so a retried one needs no closing.)"""
        self._attempt += 1
        if isinstance(outcome, httpx.TransportError):
            wait = self._policy.delay_after_failure(
                self._attempt,
                connected=not never_connected(outcome),
                retry_safe=self._call.retry_safe,
            )
            if wait is None:
                raise connection_error(self._call, self._base_url, outcome) from outcome
            return wait
        wait = self._policy.delay_after_answer(
            self._attempt,
            outcome.status_code,
            outcome.headers.get("Retry-After"),
            retry_safe=self._call.retry_safe,
        )
        if wait is None:
            self._answer = outcome
        return wait

    def result(self) -> T:
        """The call's result from the final answer, or its ApiError."""
        if self._answer is None:
            raise RuntimeError("no final answer yet: wait_after has not returned None")
        return read_answer(self._call, self._answer)


class Sender(Generic[H]):
    """What a client sends its calls with: `BlockingSender` (sync.py) or `AsyncSender`
    (aio.py). Both hold an httpx client and the retry policy and run a call's `Tries`; each
    adds only the I/O (send a request, sleep between tries) and how its methods return."""

    # What `pages` returns (`Iterator` or `AsyncIterator`), for the signature `inspect` shows.
    iterator: ClassVar[Any]

    def __init__(self, http: H, policy: RetryPolicy) -> None:
        self._http: H = http
        self._policy = policy

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    def method(self, build: Callable[P, Call[T]]) -> Callable[P, Any]:
        """A function that builds the call from its arguments, sends it and gives its result
        (a coroutine function on the async sender)."""
        raise NotImplementedError

    def pages(self, pages: Pages[T]) -> Iterator[T] | AsyncIterator[T]:
        """Every item of every page, asking for each page as the iteration reaches it."""
        raise NotImplementedError

    def _tries(self, call: Call[T]) -> Tries[T]:
        return Tries(call, self._policy, self._http)
