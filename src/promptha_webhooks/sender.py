"""One delivery attempt over HTTP: sign, ask the destination guard (destinations.decide), POST
to the addresses it checked (30 s, no redirects), read at most 64 KiB of the answer, classify
it, and describe the attempt for the log.

Used by the dispatcher for scheduled attempts and by the services for test events and
resends, so every attempt is built, signed and recorded the same way.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import socket
import time
from typing import Any

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from promptha_webhooks import __version__, ids, retry, signing
from promptha_webhooks.clock import Clock, ms
from promptha_webhooks.config import Settings
from promptha_webhooks.deadlines import Deadlines
from promptha_webhooks.destinations import (
    CachingResolve,
    Decision,
    Purpose,
    ResolveFunc,
    decide,
    system_resolve,
)
from promptha_webhooks.records import record

USER_AGENT = f"Promptha-Webhooks/{__version__}"
# Receiver delivery control: `abort` stops the retries of this delivery, `disable` also
# disables the webhook (health.py acts on it when the result is recorded).
CONTROL_HEADER = "x-promptha-delivery"
CONTROL_ABORT = "abort"
CONTROL_DISABLE = "disable"
MAX_ERROR_LENGTH = 1000
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def receiver_text(text: str) -> str:
    """Text a receiver controls, as the log can store and show it: U+FFFD for U+0000
    (PostgreSQL text cannot hold it) and for surrogates (aiohttp keeps header bytes that are
    not UTF-8 as surrogate escapes, which no UTF-8 encoder takes)."""
    if text.isascii() and "\x00" not in text:  # nearly always: skips the regular expression
        return text
    return _UNSTORABLE.sub("\ufffd", text)


class BlockedDestinationError(OSError):
    """aiohttp asked for the addresses of a host the guard did not check for this attempt."""


# The guard's decision for the attempt this task is making: _PinnedResolver hands aiohttp its
# addresses. A context variable, so concurrent attempts each see their own.
_PINNED: contextvars.ContextVar[Decision | None] = contextvars.ContextVar(
    "promptha_pinned_destination", default=None
)


class _PinnedResolver(AbstractResolver):
    """aiohttp resolver that never resolves: it answers with the addresses the guard checked for
    the current attempt, and refuses any other host, so a connection goes only to checked
    addresses (no second lookup, no DNS-rebinding window)."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        decision = _PINNED.get()
        target = decision.target if decision is not None else None
        if decision is None or target is None or (target.host, target.port) != (host, port):
            raise BlockedDestinationError(f"{host}:{port} was not checked for this attempt")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in decision.addresses
        ]

    async def close(self) -> None:
        return None


@record
class HttpResult:
    status: int | None
    headers: dict[str, str] | None
    body: str | None
    error: str | None
    retry_after: float | None
    started_at: float
    duration_ms: float


@record
class AttemptRecord:
    """An attempt made: the row for the attempt log and the delivery's next state."""

    attempt_row: dict[str, Any]
    delivery_update: dict[str, Any]
    outcome: retry.Outcome
    status: str
    event_id: str
    event_type: str
    webhook_id: str | None
    is_test: bool
    control: str | None = None  # the receiver's x-promptha-delivery answer (abort | disable)


class Sender:
    """An aiohttp session shared by every attempt of the process (keep-alive pooling).

    The delivery timeout bounds the whole attempt (connect, send, answer) and is kept by
    deadlines.Deadlines rather than aiohttp's per-request timers (the same limit, cheaper)."""

    def __init__(self, settings: Settings, resolve: ResolveFunc = system_resolve) -> None:
        self._settings = settings
        # A name's answer serves attempts for DNS_CACHE_TTL_S; the guard checks it every time.
        self._resolve = CachingResolve(resolve)
        self._session: aiohttp.ClientSession | None = None
        self._deadlines = Deadlines(settings.delivery_timeout_s)
        self._timeout_error = (
            f"timeout: no complete answer within {settings.delivery_timeout_s:g} s"
        )

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._settings.max_in_flight,
                # Every connection asks _PinnedResolver, within the attempt that opens it.
                use_dns_cache=False,
                resolver=_PinnedResolver(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),  # self._deadlines keeps the limit
                auto_decompress=True,
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> HttpResult:
        if self._session is None:
            await self.start()
        assert self._session is not None
        started = time.time()
        t0 = time.perf_counter()
        task = self._deadlines.start()
        try:
            # The mode this process runs in decides, whatever mode the URL was saved under.
            decision = await decide(url, self._settings.mode, self._resolve, Purpose.SEND)
            request_url = _request_url(decision)
            if isinstance(request_url, str):
                error = request_url  # refused: no connection is made
            else:
                pinned = _PINNED.set(decision)
                try:
                    return await self._exchange(request_url, body, headers, started, t0)
                finally:
                    _PINNED.reset(pinned)
        except asyncio.CancelledError:
            if not self._deadlines.expired(task):
                raise
            error = self._timeout_error
        except TimeoutError:
            error = self._timeout_error
        except aiohttp.ClientConnectorDNSError as exc:
            if isinstance(exc.os_error, BlockedDestinationError):
                error = f"blocked: {exc.os_error}"
            else:
                error = f"dns error: {exc.os_error}"
        except aiohttp.ClientSSLError as exc:
            error = f"tls error: {exc}"
        except aiohttp.ClientConnectorError as exc:
            error = f"connection error: {exc.os_error or exc}"
        except aiohttp.ClientError as exc:
            error = f"http error: {type(exc).__name__}: {exc}"
        except (OSError, ValueError) as exc:
            error = f"request error: {type(exc).__name__}: {exc}"
        finally:
            self._deadlines.finish(task)
        duration = (time.perf_counter() - t0) * 1000
        error = receiver_text(error[:MAX_ERROR_LENGTH])
        return HttpResult(None, None, None, error, None, started, duration)

    async def _exchange(
        self, url: URL, body: bytes, headers: dict[str, str], started: float, t0: float
    ) -> HttpResult:
        """POST and read the answer (at most the response body limit)."""
        assert self._session is not None
        limit = self._settings.response_body_limit_bytes
        async with self._session.post(
            url, data=body, headers=headers, allow_redirects=False
        ) as response:
            content = response.content
            chunks: list[bytes] = []
            size = 0
            while size < limit:
                chunk = await content.read(limit - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if content.at_eof():
                    break  # the whole answer is in (no read that returns nothing)
            duration = (time.perf_counter() - t0) * 1000
            response_headers: dict[str, str] = {}
            for raw_name, raw_value in response.headers.items():
                key, value = receiver_text(raw_name.lower()), receiver_text(raw_value)
                response_headers[key] = (
                    f"{response_headers[key]}, {value}" if key in response_headers else value
                )
            retry_after = retry.parse_retry_after(response.headers.get("Retry-After"), time.time())
            return HttpResult(
                response.status,
                response_headers,
                # U+0000 cannot be stored in PostgreSQL text: logged as U+FFFD, like bytes
                # that are not UTF-8.
                b"".join(chunks).decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
                None,
                retry_after,
                started,
                duration,
            )


def _request_url(decision: Decision) -> URL | str:
    """The URL for aiohttp, or the attempt log's error when no call may be made. The client is
    given the guard's normal form, and it must read the same host and port from it."""
    target = decision.target
    if not decision.allowed or target is None:
        return decision.attempt_error
    url = URL(target.url)
    if (url.raw_host, url.port) != (target.host, target.port):
        return f"blocked: the HTTP client reads {target.url} as another host"
    return url


def delivery_headers(
    *,
    event_type: str,
    event_id: str,
    delivery_id: str,
    attempt: int,
    timestamp: int,
    signature: str,
    is_test: bool,
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "x-promptha-timestamp": str(timestamp),
        "x-promptha-signature": signature,
        "x-promptha-event": event_type,
        "x-promptha-event-id": event_id,
        "x-promptha-delivery-id": delivery_id,
        "x-promptha-attempt": str(attempt),
    }
    if is_test:
        headers["x-promptha-test"] = "true"
    return headers


async def attempt_delivery(
    sender: Sender,
    clock: Clock,
    schedule: tuple[float, ...],
    *,
    delivery_id: str,
    event_id: str,
    event_type: str,
    url: str,
    secret: str,
    body: bytes,
    number: int,
    trigger: str,
    is_test: bool,
    token: str | None = None,
    retries: bool = True,
    webhook_id: str | None = None,
) -> AttemptRecord:
    """Make attempt `number` of a delivery and work out the delivery's next state.

    With `retries` False (tests, manual resends) a failure is final at once.
    """
    timestamp = int(clock.now())
    headers = delivery_headers(
        event_type=event_type,
        event_id=event_id,
        delivery_id=delivery_id,
        attempt=number,
        timestamp=timestamp,
        signature=signing.sign(secret, timestamp, body),
        is_test=is_test,
    )
    result = await sender.post(url, body, headers)
    if result.status is not None:
        outcome = retry.classify_status(result.status)
    else:
        outcome = retry.Outcome.RETRY
    now = clock.now()
    next_at: int | None = None
    if outcome is retry.Outcome.DELIVERED:
        status = "delivered"
    elif outcome is retry.Outcome.RETRY and retries:
        delay = retry.next_delay(schedule, number, result.retry_after)
        if delay is None:
            status = "failed"
        else:
            status = "pending"
            next_at = ms(now + delay)
    else:
        status = "failed"
    if outcome is retry.Outcome.RETRY and status == "failed":
        recorded_outcome = retry.Outcome.RETRY
    else:
        recorded_outcome = outcome
    error = result.error
    if error is None and outcome is not retry.Outcome.DELIVERED:
        error = f"HTTP {result.status}"
    control = receiver_control(result.headers)
    attempt_error = result.error
    if control is not None:
        note = f"receiver answered {CONTROL_HEADER}: {control}"
        attempt_error = f"{attempt_error}; {note}" if attempt_error else note
        if status == "pending":
            status, next_at = "failed", None
            error = f"{error}; {note}" if error else note
    attempt_row = {
        "id": ids.new_id(ids.ATTEMPT),
        "delivery_id": delivery_id,
        "number": number,
        "trigger": trigger,
        "url": url,
        "request_headers": orjson.dumps(headers).decode(),
        "response_status": result.status,
        "response_headers": orjson.dumps(result.headers).decode() if result.headers else None,
        "response_body": result.body,
        "duration_ms": round(result.duration_ms, 3),
        "error": attempt_error,
        "outcome": recorded_outcome.value,
        "started_at": ms(result.started_at),
        "finished_at": ms(now),
        "webhook_id": webhook_id,
    }
    delivery_update = {
        "b_id": delivery_id,
        "b_token": token,
        "b_status": status,
        "b_count": number,
        "b_next": next_at,
        "b_code": result.status,
        "b_error": error,
        "b_now": ms(now),
    }
    return AttemptRecord(
        attempt_row,
        delivery_update,
        outcome,
        status,
        event_id,
        event_type,
        webhook_id,
        is_test,
        control,
    )


def receiver_control(headers: dict[str, str] | None) -> str | None:
    """`abort` or `disable` when the receiver's answer asks for it, else None."""
    if not headers:
        return None
    value = headers.get(CONTROL_HEADER, "").strip().lower()
    return value if value in (CONTROL_ABORT, CONTROL_DISABLE) else None
