"""`DeliverySettings`: a webhook's own delivery settings — static custom headers, a retry
schedule and a per-attempt timeout — and the rules each must keep (one place, called by
services/validation.py for the API, the dashboard and the CLI alike).

The store builds a webhook's `DeliverySettings` once per process and per stored value
(store/webhook_secrets.SecretCodec, which also opens the sealed header values), so an attempt
only merges a ready tuple of headers into its own (delivery/attempt.py) and picks the schedule,
timeout and proxy from the claimed delivery: nothing is parsed or decrypted per attempt.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import orjson

from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.proxy_url import PROXY_PASSWORD_MASK, ProxyUrl, parse_proxy_url

__all__ = [
    "DEFAULT_DELIVERY_SETTINGS",
    "HEADER_VALUE_MASK",
    "MAX_HEADERS",
    "MAX_HEADER_NAME_LENGTH",
    "MAX_HEADER_VALUE_LENGTH",
    "MAX_RETRY_SCHEDULE_TOTAL_S",
    "MAX_TIMEOUT_S",
    "MAX_WEBHOOK_ATTEMPTS",
    "MIN_TIMEOUT_S",
    "PASSWORD_MASK",
    "DeliveryOptions",
    "DeliverySettings",
    "OpenedDestination",
    "check_headers",
    "check_proxy_url",
    "check_retry_schedule",
    "check_timeout",
    "format_delays",
    "full_schedule",
    "masked_url",
    "parse_delays",
    "parse_header_lines",
]

# headers: at most this many, names of at most this many characters (an RFC 7230 token),
# values of at most this many characters (visible ASCII, spaces and tabs inside).
MAX_HEADERS: Final = 20
MAX_HEADER_NAME_LENGTH: Final = 64
MAX_HEADER_VALUE_LENGTH: Final = 1024
# What the attempt log shows instead of a custom header's value (values are credentials).
HEADER_VALUE_MASK: Final = "[redacted]"
# What a broker URL shows instead of its password (API, dashboard, CLI, attempt log).
PASSWORD_MASK: Final = "****"
# retrySchedule: the delays (s) before each retry. At most MAX_WEBHOOK_ATTEMPTS attempts in
# all (the first attempt and up to 9 retries), at most 3 days of delays added up.
MAX_WEBHOOK_ATTEMPTS: Final = 10
MAX_RETRY_SCHEDULE_TOTAL_S: Final = 3 * 24 * 3600
# timeoutSeconds: the per-attempt timeout, 1..30 s (the server's default is 30 s).
MIN_TIMEOUT_S: Final = 1
MAX_TIMEOUT_S: Final = 30

# RFC 7230 token characters.
_TOKEN_RE: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# Visible ASCII, with spaces and tabs inside: no CR, LF, NUL or other control characters
# (header injection), nothing aiohttp would have to encode.
_VALUE_RE: Final = re.compile(r"[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?\Z")
# Names of ours (signature_headers.py, the body's), and hop-by-hop headers (RFC 7230 6.1 and
# the proxy-* family), which a static header must not set.
_DELAY_RE: Final = re.compile(r"(\d{1,9}(?:\.\d{1,9})?)\s*([smhd]?)\Z")
_UNIT_S: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}
_RESERVED_PREFIXES: Final = ("x-promptha-", "webhook-", "proxy-")
_RESERVED_NAMES: Final = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "host",
        "user-agent",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "trailers",
        "upgrade",
        "expect",
    }
)


@dataclass(frozen=True, slots=True)
class OpenedDestination:
    """A broker webhook's destination as the store opened it: its kind (`rabbitmq`, `nats`,
    `redis-stream`) and its config, the JSON object (camelCase, credentials included) that
    delivery/brokers parses. Never shown: the API and the dashboard show it redacted."""

    kind: str
    config: str = field(repr=False)

    def shown(self) -> dict[str, Any]:
        """The config as the API and the dashboard show it: the URL's password replaced by
        PASSWORD_MASK (delivery/brokers.redacted's shape, without parsing the config again)."""
        opened = orjson.loads(self.config)
        shown: dict[str, Any] = dict(opened) if isinstance(opened, dict) else {}
        url = shown.get("url")
        if isinstance(url, str):
            shown["url"] = masked_url(url)
        return shown


def masked_url(url: str) -> str:
    """`url` with the password of its userinfo replaced by PASSWORD_MASK."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    name = user.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{name}:{PASSWORD_MASK}@{host}"))


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """How one webhook's deliveries are sent, beyond the server's defaults.

    `headers`: static (name, value) pairs added to every attempt; `retry_schedule_s`: the
    whole schedule as retry.next_delay walks it (entry 0 is the first attempt's delay, 0),
    None for the server's; `timeout_s`: None for the server's delivery timeout; `proxy`: the
    webhook's own HTTP CONNECT proxy (None: the server's, if any); `unreadable`: why the sealed
    header values or proxy do not decrypt (nothing is sent then, as for a secret);
    `destination`: a broker webhook's destination (None: HTTP, POST to its URL), and
    `destination_unreadable` why its sealed config does not decrypt (nothing is sent then)."""

    headers: tuple[tuple[str, str], ...] = ()
    retry_schedule_s: tuple[float, ...] | None = None
    timeout_s: float | None = None
    unreadable: str | None = None
    proxy: ProxyUrl | None = None
    destination: OpenedDestination | None = None
    destination_unreadable: str | None = None

    @property
    def masked_headers(self) -> tuple[tuple[str, str], ...]:
        """The headers as the attempt log records them: names, values masked."""
        return tuple((name, HEADER_VALUE_MASK) for name, _ in self.headers)

    @property
    def retry_delays_s(self) -> list[float] | None:
        """The API's `retrySchedule`: the delays before each retry (None: the server's)."""
        return None if self.retry_schedule_s is None else list(self.retry_schedule_s[1:])


DEFAULT_DELIVERY_SETTINGS: Final = DeliverySettings()


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    """A webhook's delivery settings as a caller gives them (checked by `checked`): static
    headers (None: none), retry delays (None: the server's), timeout (None: the server's),
    proxy URL (None: the server's; `checked` makes it a ProxyUrl)."""

    headers: Mapping[str, str] | None = None
    retry_schedule: Sequence[float] | None = None
    timeout_seconds: int | None = None
    proxy_url: ProxyUrl | str | None = None

    def checked(self) -> DeliveryOptions:
        return DeliveryOptions(
            check_headers(self.headers),
            check_retry_schedule(self.retry_schedule),
            check_timeout(self.timeout_seconds),
            check_proxy_url(self.proxy_url),
        )


def full_schedule(retry_delays: Sequence[float]) -> tuple[float, ...]:
    """The schedule retry.next_delay walks for these retry delays: the first attempt at once."""
    return (0.0, *(float(d) for d in retry_delays))


def check_headers(value: Any, *, field: str = "headers") -> dict[str, str]:
    """A webhook's static headers: an object of at most MAX_HEADERS name → value, names RFC
    7230 tokens that are not ours nor hop-by-hop (compared case-insensitively, unique), values
    visible ASCII without CR/LF/NUL. Names keep the caller's spelling."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequestError(f"{field} must be an object of header name → value", field=field)
    if len(value) > MAX_HEADERS:
        raise InvalidRequestError(f"at most {MAX_HEADERS} headers", field=field)
    seen: set[str] = set()
    checked: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_HEADER_NAME_LENGTH:
            raise InvalidRequestError(
                f"header names must be 1-{MAX_HEADER_NAME_LENGTH} characters", field=field
            )
        if _TOKEN_RE.match(name) is None:
            raise InvalidRequestError(
                f"header name {name!r} is not a valid HTTP header name (RFC 7230 token)",
                field=field,
            )
        lower = name.lower()
        if lower in _RESERVED_NAMES or lower.startswith(_RESERVED_PREFIXES):
            raise InvalidRequestError(
                f"header {name!r} is set by the server or is hop-by-hop: it cannot be a "
                "static header",
                field=f"{field}.{name}",
            )
        if lower in seen:
            raise InvalidRequestError(f"header {name!r} is given twice", field=f"{field}.{name}")
        seen.add(lower)
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_HEADER_VALUE_LENGTH:
            raise InvalidRequestError(
                f"header {name!r}: its value must be a string of 1-{MAX_HEADER_VALUE_LENGTH} "
                "characters",
                field=f"{field}.{name}",
            )
        if _VALUE_RE.match(text) is None:
            raise InvalidRequestError(
                f"header {name!r}: its value must be visible ASCII (spaces and tabs inside; "
                "no CR, LF, NUL or other control characters)",
                field=f"{field}.{name}",
            )
        checked[name] = text
    return checked


def check_retry_schedule(value: Any, *, field: str = "retrySchedule") -> list[float] | None:
    """A webhook's retrySchedule: the delays in seconds before each retry, at most
    MAX_WEBHOOK_ATTEMPTS - 1 of them (an empty list: no retries), each a finite number
    >= 0, adding up to at most MAX_RETRY_SCHEDULE_TOTAL_S. None: the server's schedule."""
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise InvalidRequestError(f"{field} must be a list of seconds or null", field=field)
    if len(value) > MAX_WEBHOOK_ATTEMPTS - 1:
        raise InvalidRequestError(
            f"{field} allows at most {MAX_WEBHOOK_ATTEMPTS} attempts: at most "
            f"{MAX_WEBHOOK_ATTEMPTS - 1} retry delays",
            field=field,
        )
    delays: list[float] = []
    for index, delay in enumerate(value):
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise InvalidRequestError(f"{field}[{index}] must be a number of seconds", field=field)
        if not math.isfinite(delay) or delay < 0:
            raise InvalidRequestError(f"{field}[{index}] must be finite and >= 0", field=field)
        delays.append(delay)
    if sum(delays) > MAX_RETRY_SCHEDULE_TOTAL_S:
        raise InvalidRequestError(
            f"{field} adds up to more than {MAX_RETRY_SCHEDULE_TOTAL_S} s (3 days)", field=field
        )
    return delays


def check_timeout(value: Any, *, field: str = "timeoutSeconds") -> int | None:
    """A webhook's timeoutSeconds: an integer MIN_TIMEOUT_S..MAX_TIMEOUT_S, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{field} must be an integer or null", field=field)
    if not MIN_TIMEOUT_S <= value <= MAX_TIMEOUT_S:
        raise InvalidRequestError(
            f"{field} must be between {MIN_TIMEOUT_S} and {MAX_TIMEOUT_S}", field=field
        )
    return value


def check_proxy_url(value: Any, *, field: str = "proxyUrl") -> ProxyUrl | None:
    """A webhook's proxyUrl: http://[user:password@]host:port (proxy_url.py), or None. Its
    address is the destination guard's to judge (services/webhooks.py). The masked form the
    API shows is refused: sent back as it is, it would store `****` as the password."""
    if isinstance(value, ProxyUrl):
        return value
    proxy = parse_proxy_url(value, field=field)
    if proxy is not None and proxy.password == PROXY_PASSWORD_MASK:
        raise InvalidRequestError(
            f"{field} holds the masked password ({PROXY_PASSWORD_MASK}) the API shows: send "
            "the proxy's real password, or leave proxyUrl out to keep the stored one",
            field=field,
        )
    return proxy


def parse_delays(text: str, *, field: str = "retrySchedule") -> list[float] | None:
    """Retry delays as people type them (`5s, 30s, 5m, 2h`; a bare number is seconds):
    empty → None (the server's schedule), `none` → [] (no retries). The bounds are
    `check_retry_schedule`'s."""
    text = text.strip().lower()
    if not text:
        return None
    if text == "none":
        return []
    delays: list[float] = []
    for item in text.replace(",", " ").split():
        found = _DELAY_RE.match(item)
        if found is None:
            raise InvalidRequestError(
                f"{item!r} is not a delay: use seconds or a number with a unit, like 5s, 30s, "
                "5m, 2h or 1d",
                field=field,
            )
        delays.append(float(found.group(1)) * _UNIT_S[found.group(2)])
    return delays


def format_delays(delays: Sequence[float] | None) -> str:
    """Delays as `parse_delays` reads them: `5s, 30s, 5m` (`none` for no retries)."""
    if delays is None:
        return ""
    if not delays:
        return "none"
    parts = []
    for delay in delays:
        for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
            if delay >= size and delay % size == 0:
                parts.append(f"{delay / size:g}{unit}")
                break
        else:
            parts.append(f"{delay:.9f}".rstrip("0").rstrip(".") + "s")
    return ", ".join(parts)


def parse_header_lines(text: str, *, field: str = "headers") -> dict[str, str]:
    """Static headers typed one `Name: value` a line (blank lines skipped); the names and
    values are `check_headers`'."""
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise InvalidRequestError(
                f"write each header as Name: value, one a line (got {line.strip()[:40]!r})",
                field=field,
            )
        headers[name.strip()] = value.strip()
    return headers
