"""Settings read from PROMPTHA_WEBHOOKS_* variables, built once by the CLI and passed down."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from promptha_webhooks.egress import parse_egress_cidrs, parse_source_addresses
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.proxy_url import ProxyUrl, parse_proxy_url
from promptha_webhooks.retry import DEFAULT_RETRY_SCHEDULE_S, parse_schedule
from promptha_webhooks.secret_box import KeyRing, KeyRingError, require_key_ring
from promptha_webhooks.special_addresses import IPAddress, IPNetwork

ENV_PREFIX = "PROMPTHA_WEBHOOKS_"

DEFAULT_DATABASE_URL = "sqlite:///./data/promptha-webhooks.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DELIVERY_TIMEOUT_S = 30.0
# A request body, and each event of a batch (its body as delivered), at most this many bytes.
MAX_REQUEST_BODY_BYTES = 256 * 1024
# A batch publish's whole body (up to 1,000 events, each within MAX_REQUEST_BODY_BYTES): room
# for 1,000 events of 16 KiB, ten times a typical event, while a request stays bounded.
MAX_BATCH_BODY_BYTES = 16 * 1024 * 1024
RESPONSE_BODY_LIMIT_BYTES = 64 * 1024
IDEMPOTENCY_TTL_S = 24 * 3600
POLL_INTERVAL_S = 0.2
SHUTDOWN_GRACE_S = 30.0
MAX_IN_FLIGHT = 512
PER_WEBHOOK_CONCURRENCY = 10
# Deliveries per claim: on SQLite claims and result writes share one connection and each trip
# to its thread waits for a turn of the busy event loop, so bigger batches (fewer trips) pay.
CLAIM_BATCH_SIZE = {"postgresql": 256, "sqlite": 1024}
# A claimed delivery becomes due again after this long unless its result was recorded:
# long enough for a full attempt (timeout) plus time waiting for a per-webhook slot.
LEASE_S = 120.0
# Endpoint health: a webhook that has only failed for this long, with at least this many
# finally failed deliveries, is disabled (reason auto_disabled).
AUTO_DISABLE_AFTER_S = 3 * 24 * 3600.0
AUTO_DISABLE_MIN_FAILED_DELIVERIES = 10
# Retention: events (with their deliveries and attempts) older than this are purged.
RETENTION_S = 30 * 24 * 3600.0
RETENTION_INTERVAL_S = 3600.0
RETENTION_BATCH_SIZE = 1000
SMTP_PORT = 25
SMTP_TIMEOUT_S = 10.0


class Mode(StrEnum):
    PRODUCTION = "production"
    DEVELOPMENT = "development"


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class ConfigError(ValueError):
    """A PROMPTHA_WEBHOOKS_* variable has a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    mode: Mode = Mode.PRODUCTION
    admin_key: str | None = field(default=None, repr=False)
    # Where the commands keep generated files (encryption-keys, session-secret): found by the
    # CLI (cli/data_dir.py), never relative to the current directory.
    data_dir: Path | None = None
    # Signs dashboard session cookies; `serve` generates and keeps one in data_dir when unset.
    session_secret: str | None = field(default=None, repr=False)
    # Seals webhook signing secrets at rest (secret_box.py): PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS;
    # when unset, `serve`/`worker` generate one in development and refuse to start in
    # production (cli/environment.py ensure_key_ring).
    encryption_keys: KeyRing | None = field(default=None, repr=False, compare=False)
    retry_schedule_s: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE_S
    delivery_timeout_s: float = DELIVERY_TIMEOUT_S
    max_request_body_bytes: int = MAX_REQUEST_BODY_BYTES
    max_batch_body_bytes: int = MAX_BATCH_BODY_BYTES
    response_body_limit_bytes: int = RESPONSE_BODY_LIMIT_BYTES
    idempotency_ttl_s: float = IDEMPOTENCY_TTL_S
    poll_interval_s: float = POLL_INTERVAL_S
    shutdown_grace_s: float = SHUTDOWN_GRACE_S
    max_in_flight: int = MAX_IN_FLIGHT
    per_webhook_concurrency: int = PER_WEBHOOK_CONCURRENCY
    claim_batch_size: int | None = None  # None: CLAIM_BATCH_SIZE of the database's backend
    lease_s: float = LEASE_S
    run_dispatcher: bool = True
    # `serve` with its dispatcher: new deliveries go to it directly, stored already claimed
    # (handoff.py); false: stored due and claimed like any other.
    handoff: bool = True
    auto_disable_after_s: float = AUTO_DISABLE_AFTER_S
    auto_disable_min_failed_deliveries: int = AUTO_DISABLE_MIN_FAILED_DELIVERIES
    retention_s: float = RETENTION_S  # 0: keep everything
    retention_interval_s: float = RETENTION_INTERVAL_S
    retention_batch_size: int = RETENTION_BATCH_SIZE
    alert_email_to: tuple[str, ...] = ()
    alert_email_from: str = "promptha-webhooks@localhost"
    smtp_host: str | None = None
    smtp_port: int = SMTP_PORT
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    log_format: LogFormat | None = None  # None: json in production, text in development
    metrics_port: int = 0  # `worker`: serve /metrics on this port (0: off)
    # OpenTelemetry spans for publishes and attempts (tracing.py); needs the `otel` extra.
    tracing: bool = False
    # Origins (scheme://host[:port]) that may frame the dashboard: the embeddable customer
    # portal's iframes (CSP frame-ancestors). Empty: no other origin may frame it.
    portal_origins: tuple[str, ...] = ()
    # Fixed egress (egress.py): the published list customers allow-list (GET /v1/ips), the
    # local addresses the dispatcher binds its connections to, and when the list last changed.
    egress_cidrs: tuple[IPNetwork, ...] = ()
    source_addresses: tuple[IPAddress, ...] = ()
    egress_updated_at: datetime | None = None
    # Every delivery goes through this HTTP CONNECT proxy (PROMPTHA_WEBHOOKS_PROXY_URL), unless
    # its webhook names its own; None: straight to the receiver (delivery/transport.py).
    proxy_url: ProxyUrl | None = field(default=None, repr=False)

    @property
    def effective_log_format(self) -> LogFormat:
        if self.log_format is not None:
            return self.log_format
        return LogFormat.JSON if self.mode is Mode.PRODUCTION else LogFormat.TEXT

    @property
    def max_attempts(self) -> int:
        return len(self.retry_schedule_s)

    def key_ring(self) -> KeyRing:
        """The encryption key ring; KeyRingError (one clear line) when there is none."""
        return self.encryption_keys or require_key_ring(None)

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from the environment (or `env`), then `overrides` (CLI flags) on top."""
        source = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = source.get(ENV_PREFIX + name)
            return value if value not in (None, "") else None

        values: dict[str, object] = {}
        try:
            if (v := get("DATABASE_URL")) is not None:
                values["database_url"] = v
            if (v := get("HOST")) is not None:
                values["host"] = v
            if (v := get("PORT")) is not None:
                values["port"] = int(v)
            if (v := get("MODE")) is not None:
                values["mode"] = Mode(v.lower())
            if (v := get("ADMIN_KEY")) is not None:
                values["admin_key"] = v
            if (v := get("SESSION_SECRET")) is not None:
                values["session_secret"] = v
            if (v := get("ENCRYPTION_KEYS")) is not None:
                values["encryption_keys"] = KeyRing.parse(v)
            if (v := get("RETRY_SCHEDULE")) is not None:
                values["retry_schedule_s"] = parse_schedule(v)
            if (v := get("DELIVERY_TIMEOUT")) is not None:
                values["delivery_timeout_s"] = float(v)
            if (v := get("POLL_INTERVAL")) is not None:
                values["poll_interval_s"] = float(v)
            if (v := get("SHUTDOWN_GRACE")) is not None:
                values["shutdown_grace_s"] = float(v)
            if (v := get("MAX_IN_FLIGHT")) is not None:
                values["max_in_flight"] = int(v)
            if (v := get("PER_WEBHOOK_CONCURRENCY")) is not None:
                values["per_webhook_concurrency"] = int(v)
            if (v := get("MAX_BATCH_BODY_BYTES")) is not None:
                values["max_batch_body_bytes"] = int(v)
            if (v := get("LEASE")) is not None:
                values["lease_s"] = float(v)
            if (v := get("AUTO_DISABLE_AFTER")) is not None:
                values["auto_disable_after_s"] = float(v)
            if (v := get("AUTO_DISABLE_MIN_FAILURES")) is not None:
                values["auto_disable_min_failed_deliveries"] = int(v)
            if (v := get("RETENTION_DAYS")) is not None:
                values["retention_s"] = float(v) * 24 * 3600
            if (v := get("RETENTION_INTERVAL")) is not None:
                values["retention_interval_s"] = float(v)
            if (v := get("RETENTION_BATCH_SIZE")) is not None:
                values["retention_batch_size"] = int(v)
            if (v := get("ALERT_EMAIL_TO")) is not None:
                values["alert_email_to"] = tuple(a.strip() for a in v.split(",") if a.strip())
            if (v := get("ALERT_EMAIL_FROM")) is not None:
                values["alert_email_from"] = v
            if (v := get("SMTP_HOST")) is not None:
                values["smtp_host"] = v
            if (v := get("SMTP_PORT")) is not None:
                values["smtp_port"] = int(v)
            if (v := get("SMTP_USERNAME")) is not None:
                values["smtp_username"] = v
            if (v := get("SMTP_PASSWORD")) is not None:
                values["smtp_password"] = v
            if (v := get("SMTP_STARTTLS")) is not None:
                values["smtp_starttls"] = _flag(v, "SMTP_STARTTLS")
            if (v := get("LOG_FORMAT")) is not None:
                values["log_format"] = LogFormat(v.lower())
            if (v := get("METRICS_PORT")) is not None:
                values["metrics_port"] = int(v)
            if (v := get("TRACING")) is not None:
                values["tracing"] = _flag(v, "TRACING")
            if (v := get("HANDOFF")) is not None:
                values["handoff"] = _flag(v, "HANDOFF")
            if (v := get("PORTAL_ORIGINS")) is not None:
                values["portal_origins"] = parse_origins(v)
            if (v := get("EGRESS_CIDRS")) is not None:
                values["egress_cidrs"] = parse_egress_cidrs(v, ENV_PREFIX + "EGRESS_CIDRS")
            if (v := get("SOURCE_ADDRESSES")) is not None:
                values["source_addresses"] = parse_source_addresses(
                    v, ENV_PREFIX + "SOURCE_ADDRESSES"
                )
            if (v := get("EGRESS_UPDATED_AT")) is not None:
                values["egress_updated_at"] = parse_instant(v, ENV_PREFIX + "EGRESS_UPDATED_AT")
            if (v := get("PROXY_URL")) is not None:
                values["proxy_url"] = _proxy(v)
        except (ValueError, KeyRingError) as exc:
            raise ConfigError(str(exc)) from exc
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"{ENV_PREFIX}PORT must be 1-65535, got {self.port}")
        if self.delivery_timeout_s <= 0:
            raise ConfigError(f"{ENV_PREFIX}DELIVERY_TIMEOUT must be positive")
        if self.lease_s <= self.delivery_timeout_s:
            raise ConfigError(f"{ENV_PREFIX}LEASE must exceed the delivery timeout")
        if self.max_in_flight < 1 or self.per_webhook_concurrency < 1:
            raise ConfigError("concurrency limits must be at least 1")
        if self.max_batch_body_bytes < self.max_request_body_bytes:
            raise ConfigError(
                f"{ENV_PREFIX}MAX_BATCH_BODY_BYTES must be at least {self.max_request_body_bytes} "
                "(a batch must hold one event of the largest size)"
            )
        if self.admin_key is not None and len(self.admin_key) < 16:
            raise ConfigError(f"{ENV_PREFIX}ADMIN_KEY must be at least 16 characters")
        if self.session_secret is not None and len(self.session_secret) < 32:
            raise ConfigError(f"{ENV_PREFIX}SESSION_SECRET must be at least 32 characters")
        if self.auto_disable_after_s <= 0 or self.auto_disable_min_failed_deliveries < 1:
            raise ConfigError(
                f"{ENV_PREFIX}AUTO_DISABLE_AFTER must be positive and "
                f"{ENV_PREFIX}AUTO_DISABLE_MIN_FAILURES at least 1"
            )
        if self.retention_s < 0 or self.retention_interval_s <= 0:
            raise ConfigError(
                f"{ENV_PREFIX}RETENTION_DAYS must be >= 0 and RETENTION_INTERVAL positive"
            )
        if self.retention_batch_size < 1:
            raise ConfigError(f"{ENV_PREFIX}RETENTION_BATCH_SIZE must be at least 1")
        if self.alert_email_to and not self.smtp_host:
            raise ConfigError(f"{ENV_PREFIX}ALERT_EMAIL_TO needs {ENV_PREFIX}SMTP_HOST")
        if not 0 <= self.metrics_port < 65536:
            raise ConfigError(f"{ENV_PREFIX}METRICS_PORT must be 0-65535")


MAX_ORIGIN_LENGTH = 300  # scheme, a 253-character host name and a port
_ORIGIN_NETLOC = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def parse_origins(value: str) -> tuple[str, ...]:
    """PORTAL_ORIGINS: comma-separated origins, each `https://host[:port]` (or http to a
    loopback host, for development); no path, query, wildcard nor credentials."""
    origins: list[str] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        origin = item.rstrip("/")
        try:
            parts = urlsplit(origin)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}PORTAL_ORIGINS: {item!r} is not an origin") from None
        host = parts.hostname or ""
        # Only host characters: the origin goes into a CSP header as it is.
        plain = not (parts.path or parts.query or parts.fragment) and bool(
            _ORIGIN_NETLOC.fullmatch(parts.netloc)
        )
        allowed_scheme = parts.scheme == "https" or (
            parts.scheme == "http" and (host == "localhost" or _loopback_ip(host))
        )
        too_long = len(origin) > MAX_ORIGIN_LENGTH
        if not host or "*" in origin or not plain or not allowed_scheme or too_long:
            raise ValueError(
                f"{ENV_PREFIX}PORTAL_ORIGINS: {item!r} is not an origin like "
                "https://app.example.com (http only for a loopback host)"
            )
        origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return tuple(dict.fromkeys(origins))


def parse_instant(value: str, name: str) -> datetime:
    """An RFC 3339 date-time with its offset (`2026-12-01T09:00:00Z`)."""
    text = value.strip()
    try:
        instant = datetime.fromisoformat(text) if text.isascii() and "T" in text.upper() else None
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ValueError(
            f"{name} must be an RFC 3339 date-time with its offset, like 2026-12-01T09:00:00Z; "
            f"got {value[:64]!r}"
        )
    return instant


def _loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _proxy(value: str) -> ProxyUrl | None:
    """PROXY_URL: http://[user:password@]host:port (proxy_url.py's rules)."""
    try:
        return parse_proxy_url(value, field=f"{ENV_PREFIX}PROXY_URL")
    except InvalidRequestError as exc:
        raise ValueError(exc.message) from None


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{ENV_PREFIX}{name} must be true or false, got {value!r}")
