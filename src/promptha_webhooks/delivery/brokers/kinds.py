"""Destination kinds and the broker configurations a webhook of each kind holds: parsing (the one
validation point, InvalidRequestError naming `config.<field>`), the stored and shown JSON forms
(camelCase; the shown form masks the URL's password) and the host the destination guard checks.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, unquote

from promptha_webhooks.errors import InvalidRequestError


class DestinationKind(StrEnum):
    HTTP = "http"
    RABBITMQ = "rabbitmq"
    NATS = "nats"
    REDIS_STREAM = "redis-stream"


@dataclass(frozen=True, slots=True)
class RabbitMQConfig:
    """Publish to `exchange` ("" = the default exchange, where the routing key names a queue)
    with `routing_key`, on the broker at `url` (amqp[s]://user:pass@host:port/vhost)."""

    url: str
    exchange: str
    routing_key: str


@dataclass(frozen=True, slots=True)
class NatsConfig:
    """JetStream publish to `subject` on the server at `url` (nats:// or tls://), waiting for the
    stream's ack; `stream`, when set, is the stream the ack must come from."""

    url: str
    subject: str
    stream: str | None = None


@dataclass(frozen=True, slots=True)
class RedisStreamConfig:
    """XADD to the stream `stream` on the server at `url` (redis[s]://user:pass@host:port/db),
    trimmed to about `max_len` entries when set."""

    url: str
    stream: str
    max_len: int | None = None


BrokerConfig = RabbitMQConfig | NatsConfig | RedisStreamConfig

MAX_URL_LENGTH = 2048  # characters
MAX_NAME_LENGTH = 255  # characters: AMQP short strings, NATS subjects and streams
MAX_REDIS_KEY_LENGTH = 1024  # characters
MAX_STREAM_LENGTH = 1_000_000_000  # entries (maxLen)
MAX_PORT = 65535
MASK = "****"

# scheme → default port, per kind
_SCHEMES: dict[DestinationKind, dict[str, int]] = {
    DestinationKind.RABBITMQ: {"amqp": 5672, "amqps": 5671},
    DestinationKind.NATS: {"nats": 4222, "tls": 4222},
    DestinationKind.REDIS_STREAM: {"redis": 6379, "rediss": 6379},
}
TLS_SCHEMES = frozenset({"amqps", "tls", "rediss"})

_URL_TEXT = re.compile(r"[!-~]+")  # printable ASCII, no space
_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_EXCHANGE = re.compile(r"[A-Za-z0-9_.:-]*")  # RabbitMQ's characters for exchange names
_NATS_TOKEN = re.compile(r"[!-~]+")  # printable ASCII without space; "*" and ">" checked apart
_NATS_STREAM = re.compile(r"[A-Za-z0-9_-]+")
_REDIS_DB = re.compile(r"/[0-9]{1,5}")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")

_FIELDS: dict[DestinationKind, frozenset[str]] = {
    DestinationKind.RABBITMQ: frozenset({"url", "exchange", "routingKey"}),
    DestinationKind.NATS: frozenset({"url", "subject", "stream"}),
    DestinationKind.REDIS_STREAM: frozenset({"url", "stream", "maxLen"}),
}


@dataclass(frozen=True, slots=True)
class BrokerURL:
    """A broker URL taken apart (the text is kept as given; the clients read it themselves)."""

    scheme: str
    username: str  # still %-escaped
    password: str | None  # still %-escaped
    host: str  # lower case; IPv6 without brackets
    port: int
    path: str

    @property
    def tls(self) -> bool:
        return self.scheme in TLS_SCHEMES

    def text(self, *, password: str | None = None, host: str | None = None) -> str:
        """The URL, with another password (e.g. the mask) or host (a checked address)."""
        shown_host = host if host is not None else self.host
        if ":" in shown_host:
            shown_host = f"[{shown_host}]"
        secret = self.password if password is None else password
        userinfo = ""
        if self.username or secret is not None:
            userinfo = self.username + (f":{secret}" if secret is not None else "") + "@"
        return f"{self.scheme}://{userinfo}{shown_host}:{self.port}{self.path}"


def _fail(message: str, name: str) -> InvalidRequestError:
    return InvalidRequestError(message, field=f"config.{name}")


def parse_broker_config(kind: DestinationKind, raw: Mapping[str, object]) -> BrokerConfig:
    """The configuration of a `kind` destination from its JSON object (camelCase keys);
    InvalidRequestError naming the field on any bad input (nothing is connected to)."""
    if kind not in _SCHEMES:
        raise InvalidRequestError(f"a {kind} destination has no broker configuration")
    if not isinstance(raw, Mapping):
        raise InvalidRequestError("config must be an object", field="config")
    allowed = _FIELDS[kind]
    for key in raw:
        if key not in allowed:
            shown = _UNPRINTABLE.sub("\ufffd", key[:40]) if isinstance(key, str) else "?"
            raise InvalidRequestError(
                f"unknown field {shown!r} (a {kind} config has {', '.join(sorted(allowed))})",
                field="config",
            )
    url = _required_text(raw, "url", MAX_URL_LENGTH)
    parse_broker_url(kind, url)
    if kind is DestinationKind.RABBITMQ:
        exchange = _optional_text(raw, "exchange", MAX_NAME_LENGTH) or ""
        if not _EXCHANGE.fullmatch(exchange):
            raise _fail("exchange may hold only letters, digits, '-', '_', '.' and ':'", "exchange")
        routing_key = _optional_text(raw, "routingKey", MAX_NAME_LENGTH) or ""
        if not exchange and not routing_key:
            raise _fail(
                "routingKey (the queue's name) is required with the default exchange", "routingKey"
            )
        return RabbitMQConfig(url, exchange, routing_key)
    if kind is DestinationKind.NATS:
        subject = _required_text(raw, "subject", MAX_NAME_LENGTH)
        tokens = subject.split(".")
        if not all(_NATS_TOKEN.fullmatch(t) and t not in ("*", ">") for t in tokens):
            raise _fail(
                "subject must be dot-separated tokens of printable characters, without"
                " spaces, empty tokens or the wildcards '*' and '>'",
                "subject",
            )
        stream = _optional_text(raw, "stream", MAX_NAME_LENGTH)
        if stream is not None and not _NATS_STREAM.fullmatch(stream):
            raise _fail("stream may hold only letters, digits, '-' and '_'", "stream")
        return NatsConfig(url, subject, stream)
    key = _required_text(raw, "stream", MAX_REDIS_KEY_LENGTH)
    max_len = raw.get("maxLen")
    if max_len is not None and (
        not isinstance(max_len, int)
        or isinstance(max_len, bool)
        or not 1 <= max_len <= MAX_STREAM_LENGTH
    ):
        raise _fail(f"maxLen must be a whole number from 1 to {MAX_STREAM_LENGTH}", "maxLen")
    return RedisStreamConfig(url, key, max_len)


def _optional_text(raw: Mapping[str, object], name: str, limit: int) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(f"{name} must be a string", name)
    if len(value) > limit:
        raise _fail(f"{name} is longer than {limit} characters", name)
    if _UNPRINTABLE.search(value):
        raise _fail(f"{name} must not hold control characters or lone surrogates", name)
    return value


def _required_text(raw: Mapping[str, object], name: str, limit: int) -> str:
    value = _optional_text(raw, name, limit)
    if not value:
        raise _fail(f"{name} is required", name)
    return value


def parse_broker_url(kind: DestinationKind, url: str) -> BrokerURL:
    """`url` taken apart, or InvalidRequestError (field config.url) saying what is wrong."""
    schemes = _SCHEMES[kind]
    expected = " or ".join(f"{s}://" for s in schemes)
    if len(url) > MAX_URL_LENGTH:
        raise _fail(f"url is longer than {MAX_URL_LENGTH} characters", "url")
    if not _URL_TEXT.fullmatch(url):
        raise _fail("url must be printable ASCII without spaces (%-escape other characters)", "url")
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in schemes:
        raise _fail(f"url must start with {expected}", "url")
    if "?" in rest or "#" in rest:
        # Client options in a query can name local files (certificates) or change timeouts.
        raise _fail("url must not have a ?query or #fragment", "url")
    if "\\" in rest:
        raise _fail("url must not contain a backslash", "url")
    authority, slash, path = rest.partition("/")
    path = slash + path
    userinfo, at, hostport = authority.rpartition("@")
    if not at:
        userinfo = ""
    username, colon, password = userinfo.partition(":")
    for part, what in ((username, "user name"), (password, "password")):
        try:
            unquote(part, errors="strict")
        except UnicodeDecodeError:
            raise _fail(f"url {what} has %-escapes that are not UTF-8", "url") from None
    host, port_text = _split_host_port(hostport)
    port = _port(port_text, schemes[scheme])
    _check_path(kind, path)
    return BrokerURL(scheme, username, password if colon else None, host, port, path)


def _split_host_port(hostport: str) -> tuple[str, str]:
    if hostport.startswith("["):
        end = hostport.find("]")
        tail = hostport[end + 1 :] if end > 0 else ""
        if end < 0 or (tail and not tail.startswith(":")) or "%" in hostport[:end]:
            raise _fail("url has a malformed [IPv6] host (no zone id)", "url")
        try:
            address = ipaddress.IPv6Address(hostport[1:end])
        except ValueError:
            raise _fail(f"url host {hostport[: end + 1]} is not an IPv6 address", "url") from None
        return str(address), tail[1:]
    host, _, port_text = hostport.partition(":")
    host = host.lower().removesuffix(".")
    if not host:
        raise _fail("url has no host", "url")
    if "[" in host or "]" in host or ":" in port_text:
        raise _fail("url host is malformed (an IPv6 address must be in brackets)", "url")
    labels = host.split(".")
    if labels[-1].isdigit():
        try:
            return str(ipaddress.IPv4Address(host)), port_text
        except ValueError:
            raise _fail(f"url host {host} is not a valid IPv4 address", "url") from None
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise _fail(
            "url host must be a domain name (ASCII; xn-- for international names) or an IP address",
            "url",
        )
    return host, port_text


def _port(text: str, default: int) -> int:
    if not text:
        return default
    if not (text.isdigit() and len(text) <= 5) or not 1 <= int(text) <= MAX_PORT:
        raise _fail(f"url port must be a number from 1 to {MAX_PORT}", "url")
    return int(text)


def _check_path(kind: DestinationKind, path: str) -> None:
    if path in ("", "/"):
        return
    if kind is DestinationKind.RABBITMQ:
        if "/" in path[1:]:
            raise _fail("url path is the virtual host: one segment (%2F for '/')", "url")
        try:
            unquote(path, errors="strict")
        except UnicodeDecodeError:
            raise _fail("url virtual host has %-escapes that are not UTF-8", "url") from None
        return
    if kind is DestinationKind.REDIS_STREAM:
        if not _REDIS_DB.fullmatch(path):
            raise _fail("url path must be a database number (/0)", "url")
        return
    raise _fail("url must not have a path", "url")


def kind_of(config: BrokerConfig) -> DestinationKind:
    """The destination kind a configuration belongs to."""
    if isinstance(config, RabbitMQConfig):
        return DestinationKind.RABBITMQ
    if isinstance(config, NatsConfig):
        return DestinationKind.NATS
    return DestinationKind.REDIS_STREAM


def broker_config_json(config: BrokerConfig) -> dict[str, object]:
    """The configuration as stored (sealed) and accepted back by parse_broker_config."""
    if isinstance(config, RabbitMQConfig):
        return {"url": config.url, "exchange": config.exchange, "routingKey": config.routing_key}
    if isinstance(config, NatsConfig):
        return {"url": config.url, "subject": config.subject, "stream": config.stream}
    return {"url": config.url, "stream": config.stream, "maxLen": config.max_len}


def redacted(config: BrokerConfig) -> dict[str, object]:
    """broker_config_json with the URL's password replaced by "****" (what users are shown)."""
    shown = broker_config_json(config)
    shown["url"] = redacted_url(config)
    return shown


def redacted_url(config: BrokerConfig) -> str:
    parts = parse_broker_url(kind_of(config), config.url)
    if parts.password is None:
        return config.url
    return parts.text(password=MASK)


def broker_host(config: BrokerConfig) -> tuple[str, int]:
    """The host (lower case; IPv6 without brackets) and port the destination guard checks."""
    parts = parse_broker_url(kind_of(config), config.url)
    return parts.host, parts.port


def guard_url(config: BrokerConfig) -> str:
    """An https URL naming the broker's host and port, the form destinations.decide judges."""
    host, port = broker_host(config)
    shown = f"[{host}]" if ":" in host else host
    return f"https://{quote(shown, safe='[]:.')}:{port}/"
