"""The destination guard: `decide` says whether the service may call a webhook URL, and where.

One function decides when a webhook is created or updated (API and dashboard) and before every
delivery attempt, whatever mode the URL was stored under: it normalises the host once (UTS-46 /
IDNA, then IPv4 numbers read the way `inet_aton` reads them), resolves it, judges every address
(special_addresses: globally routable only, IPv4 carried in IPv6 unwrapped first) and returns a
frozen Decision: the normalised URL and the checked addresses to connect to, or why not. In
development mode every address and http:// are allowed, but the same normal form is used.
docs/security.md walks through the steps.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote, urlsplit

import idna

from promptha_webhooks.config import Mode
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.special_addresses import IPAddress, refusal

MAX_URL_LENGTH = 2048  # characters
MAX_PORT = 65535
DEFAULT_PORTS = {"http": 80, "https": 443}
URL_CACHE_SIZE = 4096  # stored URLs whose normal form is kept (it depends on the text alone)
DNS_CACHE_TTL_S = 10.0  # how long a resolved answer is reused for attempts (it is checked anew)
DNS_CACHE_MAX_HOSTS = 4096  # (host, port) answers kept; all are dropped when full

# host, port → the addresses it resolves to (strings). Injected in tests to simulate DNS.
ResolveFunc = Callable[[str, int], Awaitable[list[str]]]

# One part of an IPv4 number as inet_aton reads it: hex (0x…), octal (0…) or decimal.
_IPV4_NUMBER_PART = re.compile(r"0x[0-9a-f]*|[0-9]+")
_IPV4_MAX_PARTS = 4
# A plain ASCII label that may hold underscores (letters, digits, "_" and inner hyphens).
_UNDERSCORED_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
MAX_HOST_NAME_LENGTH = 253  # characters, without the trailing dot


async def system_resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Purpose(Enum):
    """Why the guard is asked: saving a URL, or sending to it now (the answer is then pinned:
    the connection goes to the addresses it names and nowhere else)."""

    SAVE = "save"
    SEND = "send"


class Verdict(Enum):
    ALLOWED = "allowed"
    REFUSED = "refused"  # the URL or one of its addresses may not be called
    UNRESOLVED = "unresolved"  # its name did not resolve (an attempt may succeed later)


@dataclass(frozen=True)
class Target:
    """A URL in normal form: what the HTTP client is given."""

    url: str
    scheme: str
    # ASCII and lower case: IDNA A-labels without a trailing dot, or an IP address in its
    # canonical text (IPv6 without brackets).
    host: str
    port: int
    literal: IPAddress | None  # the host, when it is an IP address


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str = ""  # why not, for the API's 400 and the attempt log
    target: Target | None = None
    # The checked addresses the connection may use (the literal host, or the name's answer).
    # Empty when saving in development mode, which needs no DNS.
    addresses: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOWED

    @property
    def attempt_error(self) -> str:
        """The attempt log's error for a call not made ("blocked: …" or "dns error: …")."""
        prefix = "dns error" if self.verdict is Verdict.UNRESOLVED else "blocked"
        return f"{prefix}: {self.reason}"


class _Refused(Exception):
    """The URL has no normal form; the message says why."""


async def decide(url: object, mode: Mode, resolve: ResolveFunc, purpose: Purpose) -> Decision:
    """The guard's decision for `url` in `mode`: normalise, resolve, judge, pin."""
    first = _decide_without_dns(url, mode) if isinstance(url, str) else _NOT_TEXT
    if isinstance(first, Decision):
        return first
    target = first
    if mode is Mode.DEVELOPMENT and purpose is Purpose.SAVE:
        return Decision(Verdict.ALLOWED, target=target)  # every address is allowed: no lookup
    try:
        answers = await resolve(target.host, target.port)
    except (OSError, UnicodeError) as exc:
        return Decision(Verdict.UNRESOLVED, f"could not resolve {target.host}: {exc}", target)
    if not answers:
        return Decision(Verdict.UNRESOLVED, f"{target.host} resolved to no address", target)
    return _judge_answers(target, tuple(answers), mode)


@functools.lru_cache(maxsize=URL_CACHE_SIZE)
def _judge_answers(target: Target, answers: tuple[str, ...], mode: Mode) -> Decision:
    """The decision for a name's DNS answer (the same answer serves attempts for a while)."""
    addresses: list[str] = []
    for answer in answers:
        try:
            address = ipaddress.ip_address(answer)
        except ValueError:
            return Decision(
                Verdict.REFUSED, f"{target.host} resolved to {answer!r}, not an address", target
            )
        if mode is Mode.PRODUCTION:
            # One refused address refuses the name: the client may pick any of them.
            why = refusal(address)
            if why is not None:
                return Decision(
                    Verdict.REFUSED, f"{target.host} resolves to a refused address: {why}", target
                )
        addresses.append(str(address))
    return Decision(Verdict.ALLOWED, target=target, addresses=tuple(dict.fromkeys(addresses)))


async def validate_webhook_url(
    url: object, mode: Mode, resolve: ResolveFunc = system_resolve, *, field: str = "url"
) -> None:
    """Check a URL being saved (create, update, dashboard form); raises InvalidRequestError."""
    decision = await decide(url, mode, resolve, Purpose.SAVE)
    if not decision.allowed:
        raise InvalidRequestError(decision.reason, field=field)


_NOT_TEXT = Decision(Verdict.REFUSED, "URL must be a string")


@functools.lru_cache(maxsize=URL_CACHE_SIZE)
def _decide_without_dns(url: str, mode: Mode) -> Decision | Target:
    """The decision when the URL alone settles it (a refusal, or an IP-literal host), else the
    normal form whose name must be resolved."""
    try:
        target = _normalise(url)
    except _Refused as exc:
        return Decision(Verdict.REFUSED, str(exc))
    if mode is Mode.PRODUCTION and target.scheme != "https":
        return Decision(
            Verdict.REFUSED,
            "Only https:// URLs are allowed in production (http:// works in development mode)",
            target,
        )
    if target.literal is None:
        return target
    if mode is Mode.PRODUCTION:
        why = refusal(target.literal)
        if why is not None:
            return Decision(Verdict.REFUSED, why, target)
    return Decision(Verdict.ALLOWED, target=target, addresses=(target.host,))


def _normalise(url: str) -> Target:
    """`url` in normal form; raises _Refused with the reason it has none."""
    if len(url) > MAX_URL_LENGTH:
        raise _Refused(f"URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise _Refused("URL must not contain spaces or control characters")
    if not url.isascii():
        try:
            url.encode()
        except UnicodeEncodeError:
            raise _Refused("URL is not valid text (it holds a lone surrogate)") from None
    if "\\" in url:
        # Browsers and some clients read "\" as "/", which moves the host: never ambiguous here.
        raise _Refused("URL must not contain a backslash")
    if "#" in url:
        raise _Refused("URL must not contain a #fragment")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise _Refused(f"Invalid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise _Refused("URL must start with https:// (or http:// in development)")
    if not url[len(parts.scheme) :].startswith("://"):
        raise _Refused("URL must start with https:// (or http:// in development)")
    if "@" in parts.netloc:
        raise _Refused("URL must not contain credentials (user:password@)")
    host_text, port_text, bracketed = _split_authority(parts.netloc)
    port = _port(port_text, DEFAULT_PORTS[scheme])
    host, literal = _host(host_text, bracketed)
    shown_host = f"[{host}]" if ":" in host else host
    shown_port = "" if port == DEFAULT_PORTS[scheme] else f":{port}"
    query = f"?{parts.query}" if parts.query else ""
    return Target(
        f"{scheme}://{shown_host}{shown_port}{parts.path or '/'}{query}",
        scheme,
        host,
        port,
        literal,
    )


def _split_authority(netloc: str) -> tuple[str, str, bool]:
    """(host text, port text, whether the host was in brackets)."""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise _Refused("URL host has an unclosed '['")
        rest = netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise _Refused("URL has text after its [IPv6] host")
        return netloc[1:end], rest[1:], True
    if "[" in netloc or "]" in netloc:
        raise _Refused("URL host has a stray '[' or ']'")
    host, _, port_text = netloc.partition(":")
    if ":" in port_text:
        raise _Refused(
            "URL host has a ':' that does not start its port"
            " (an IPv6 address must be in brackets: https://[2001:db8::1]/)"
        )
    return host, port_text, False


def _port(text: str, default: int) -> int:
    if not text:
        return default
    if not (text.isascii() and text.isdigit()):
        raise _Refused("URL port must be a number")
    port = int(text)
    if not 1 <= port <= MAX_PORT:
        raise _Refused(f"URL port must be 1-{MAX_PORT}")
    return port


def _host(text: str, bracketed: bool) -> tuple[str, IPAddress | None]:
    """The host's normal form, and the address when it is one."""
    if not text:
        raise _Refused("URL has no host")
    if bracketed:
        if "%" in text:
            raise _Refused("URL host must not carry an IPv6 zone id")
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            raise _Refused(f"URL host [{text}] is not an IPv6 address") from None
        return str(address), address
    try:
        name = unquote(text, errors="strict")  # a URL parser decodes %-escapes in a host
    except UnicodeDecodeError:
        raise _Refused("URL host has %-escapes that are not UTF-8") from None
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        underscored = _underscored_name(name)
        if underscored is None:
            raise _Refused(f"URL host is not a valid domain name: {exc}") from None
        ascii_name = underscored
    ascii_name = ascii_name.removesuffix(".")  # "example.com." is example.com
    last_label = ascii_name.rpartition(".")[2]
    if _IPV4_NUMBER_PART.fullmatch(last_label):
        # Ends in a number: an IPv4 address however it is written (127.1, 0x7f.1, 2130706433).
        address4 = _ipv4_number(ascii_name)
        return str(address4), address4
    return ascii_name, None


def _underscored_name(name: str) -> str | None:
    """An ASCII host name whose labels hold underscores (IDNA refuses them, DNS and container
    networks allow them: `my_service`, `_dmarc.example`), lower-cased; None if it is not one."""
    try:
        mapped = idna.uts46_remap(name, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    mapped = mapped.removesuffix(".")
    labels = mapped.split(".")
    if len(mapped) > MAX_HOST_NAME_LENGTH or not all(
        # ("xn--…" and other "??--" labels are IDNA's to judge, and it refused them)
        _UNDERSCORED_LABEL.fullmatch(label) and label[2:4] != "--"
        for label in labels
    ):
        return None
    return mapped


def _ipv4_number(text: str) -> ipaddress.IPv4Address:
    parts = text.split(".")
    if len(parts) > _IPV4_MAX_PARTS or not all(_IPV4_NUMBER_PART.fullmatch(p) for p in parts):
        raise _Refused(f"URL host {text} is not a valid IPv4 address")
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        raise _Refused(f"URL host {text} is not a valid IPv4 address") from None


class CachingResolve:
    """A ResolveFunc keeping each answer DNS_CACHE_TTL_S (failures are not kept). Safe against
    rebinding: every attempt checks and pins the answer it uses, cached or not."""

    def __init__(self, resolve: ResolveFunc, ttl_s: float = DNS_CACHE_TTL_S) -> None:
        self._resolve = resolve
        self._ttl_s = ttl_s
        self._answers: dict[tuple[str, int], tuple[float, list[str]]] = {}

    async def __call__(self, host: str, port: int) -> list[str]:
        now = time.monotonic()
        cached = self._answers.get((host, port))
        if cached is not None and cached[0] > now:
            return cached[1]
        answer = await self._resolve(host, port)
        if len(self._answers) >= DNS_CACHE_MAX_HOSTS:
            self._answers.clear()
        self._answers[(host, port)] = (now + self._ttl_s, answer)
        return answer
