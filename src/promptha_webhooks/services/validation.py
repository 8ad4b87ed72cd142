"""Checks of what callers send, shared by the API and the dashboard's forms: filters, event
types, secrets, descriptions, free text, page sizes and cursors; and the page of a list."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from promptha_webhooks import canonical_json, ids, signing_standard
from promptha_webhooks.catalog import get_event_type
from promptha_webhooks.delivery.brokers import (
    BrokerConfig,
    DestinationKind,
    broker_config_json,
    parse_broker_config,
)
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.models import Page
from promptha_webhooks.pacing import MAX_RATE_LIMIT, Ordering, Pacing
from promptha_webhooks.routing import check_filter_fits, parse_filter, validate_event_selectors
from promptha_webhooks.signature_headers import SignatureAlgorithm, SignatureFormat
from promptha_webhooks.webhook_secrets import (
    DEFAULT_GRACE_PERIOD_S,
    MAX_GRACE_PERIOD_S,
    SigningScheme,
)

SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = 256
# Random bytes of a generated HMAC secret (whsec_<base64>: fits both formats, so a webhook
# can switch formats without a new secret).
GENERATED_SECRET_BYTES = 32
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_DESCRIPTION_LENGTH = 500
# maxConcurrency of a webhook: 1..MAX_WEBHOOK_CONCURRENCY (a worker applies at most its own
# max_in_flight); None: the server's default (per_webhook_concurrency).
MAX_WEBHOOK_CONCURRENCY = 100
# An account's alert e-mail addresses (alerts.py): how many, and the longest address (RFC 5321).
MAX_ALERT_EMAILS = 20
MAX_EMAIL_LENGTH = 254
# A plain address: printable ASCII without spaces, quotes, brackets, commas or semicolons (no
# header injection, no display names); a dotted domain of letters, digits and hyphens.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,63}"
)


def validate_max_concurrency(value: Any, *, field: str = "maxConcurrency") -> int | None:
    """A webhook's maxConcurrency: an integer 1..MAX_WEBHOOK_CONCURRENCY, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{field} must be an integer or null", field=field)
    if not 1 <= value <= MAX_WEBHOOK_CONCURRENCY:
        raise InvalidRequestError(
            f"{field} must be between 1 and {MAX_WEBHOOK_CONCURRENCY}", field=field
        )
    return value


def validate_rate_limit(value: Any, *, field: str = "rateLimit") -> int | None:
    """A webhook's rateLimit (deliveries started per second): an integer 1..MAX_RATE_LIMIT,
    or None (no limit)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{field} must be an integer or null", field=field)
    if not 1 <= value <= MAX_RATE_LIMIT:
        raise InvalidRequestError(f"{field} must be between 1 and {MAX_RATE_LIMIT}", field=field)
    return value


def validate_ordering(value: Any, *, field: str = "ordering") -> Ordering:
    """A webhook's ordering: "none" or "fifo"."""
    try:
        return Ordering(value)
    except ValueError:
        raise InvalidRequestError(
            f"{field} must be one of: {', '.join(o.value for o in Ordering)}", field=field
        ) from None


def validate_pacing(rate_limit: Any, ordering: Any) -> Pacing:
    """rateLimit and ordering of a new webhook (None ordering: "none")."""
    return Pacing(
        validate_rate_limit(rate_limit),
        Ordering.NONE if ordering is None else validate_ordering(ordering),
    )


def validate_filters(filters: Any, *, field: str = "filters") -> dict[str, Any] | None:
    """A webhook's filter document (routing.py says what it may hold), or None for none."""
    if filters is None:
        return None
    parse_filter(filters, field=field)
    try:
        canonical_json.dumps(filters)
    except canonical_json.CanonicalJSONError as exc:
        raise InvalidRequestError(f"filters: {exc}", field=field) from None
    return dict(filters)


def check_filters_fit_events(
    filters: dict[str, Any] | None, events: list[str], *, field: str | None = None
) -> None:
    """A 400 for a filter that does not fit the JSON Schemas of the subscribed event types
    (routing.check_filter_fits: a path a subscribed type lacks on a clause every event must
    pass, an unknown path, an operand the field's type cannot equal). `events` are valid
    types or patterns; `field`: where to point the error (default: the filter's clause)."""
    if filters:
        check_filter_fits(parse_filter(filters), events, field=field)


def validate_subscriptions(events: Any, *, field: str = "events") -> list[str]:
    """A webhook's event types and patterns (`fabric.*`, `*`), stored as given."""
    return validate_event_selectors(events, field=field)


def validate_events(events: Any, *, field: str = "events") -> list[str]:
    if not isinstance(events, list) or not events:
        raise InvalidRequestError("events must be a non-empty list of event types", field=field)
    for index, name in enumerate(events):
        get_event_type(name, field=f"{field}[{index}]")
    return list(dict.fromkeys(events))


def signing_scheme(
    signature_format: Any, algorithm: Any, *, field: str = "signatureAlgorithm"
) -> SigningScheme:
    """signatureFormat and signatureAlgorithm that go together: Ed25519 is Standard Webhooks'
    ``v1a``, so it signs in the standard format only."""
    try:
        chosen_format = SignatureFormat(signature_format)
    except ValueError:
        raise InvalidRequestError(
            f"signatureFormat must be one of {_choices(SignatureFormat)}", field="signatureFormat"
        ) from None
    try:
        chosen_algorithm = SignatureAlgorithm(algorithm)
    except ValueError:
        raise InvalidRequestError(
            f"signatureAlgorithm must be one of {_choices(SignatureAlgorithm)}", field=field
        ) from None
    if chosen_algorithm is SignatureAlgorithm.ED25519 and chosen_format is not (
        SignatureFormat.STANDARD
    ):
        raise InvalidRequestError(
            'signatureAlgorithm "ed25519" signs Standard Webhooks v1a signatures: it needs '
            'signatureFormat "standard"',
            field=field,
        )
    return SigningScheme(chosen_format, chosen_algorithm)


def _choices(values: type[SignatureFormat] | type[SignatureAlgorithm]) -> str:
    return ", ".join(f'"{value.value}"' for value in values)


def secret_for_format(
    signature_format: SignatureFormat,
    secret: Any,
    *,
    algorithm: SignatureAlgorithm = SignatureAlgorithm.HMAC_SHA256,
    field: str = "secret",
) -> str:
    """The secret a webhook of this format and algorithm signs with: `secret` checked, or a new
    one when it is None. The one place that says which secrets fit which scheme:

    * promptha (HMAC-SHA256 over the secret's UTF-8 bytes): printable text of
      SECRET_MIN_LENGTH..SECRET_MAX_LENGTH characters, not a whsk_/whpk_ Ed25519 key;
    * standard, hmac-sha256: ``whsec_`` + standard base64 of 24 to 64 bytes;
    * standard, ed25519: a ``whsk_`` signing key (base64 of a 32-byte Ed25519 seed).

    Generated: ``whsec_`` + base64 of GENERATED_SECRET_BYTES random bytes (it fits both
    formats), or a new ``whsk_`` key for ed25519."""
    scheme = signing_scheme(signature_format, algorithm)
    if scheme.algorithm is SignatureAlgorithm.ED25519:
        if secret is None:
            return signing_standard.generate_signing_key()
        return _standard_key(
            secret, signing_standard.KeyKind.SIGNING, "an Ed25519 signing key", field
        )
    if secret is None:
        return signing_standard.generate_secret(GENERATED_SECRET_BYTES)
    if scheme.format is SignatureFormat.STANDARD:
        return _standard_key(secret, signing_standard.KeyKind.SECRET, "an HMAC secret", field)
    text = validate_secret(secret, field=field)
    if text.startswith((signing_standard.SIGNING_KEY_PREFIX, signing_standard.PUBLIC_KEY_PREFIX)):
        raise InvalidRequestError(
            f"secret: a {signing_standard.SIGNING_KEY_PREFIX}… or "
            f"{signing_standard.PUBLIC_KEY_PREFIX}… Ed25519 key does not sign the promptha "
            'format (HMAC-SHA256): use signatureFormat "standard" with signatureAlgorithm '
            '"ed25519", or an HMAC secret',
            field=field,
        )
    return text


def _standard_key(secret: Any, kind: signing_standard.KeyKind, what: str, field: str) -> str:
    prefix = (
        signing_standard.SIGNING_KEY_PREFIX
        if kind is signing_standard.KeyKind.SIGNING
        else signing_standard.SECRET_PREFIX
    )
    expected = (
        f"{prefix}<base64 of a {signing_standard.ED25519_KEY_BYTES}-byte seed>"
        if kind is signing_standard.KeyKind.SIGNING
        else f"{prefix}<base64 of {signing_standard.MIN_SECRET_BYTES} to "
        f"{signing_standard.MAX_SECRET_BYTES} bytes>"
    )
    if not isinstance(secret, str) or len(secret) > SECRET_MAX_LENGTH:
        raise InvalidRequestError(
            f"secret must be {what}: a string {expected} of at most {SECRET_MAX_LENGTH} characters",
            field=field,
        )
    try:
        key = signing_standard.parse_key(secret)
    except signing_standard.InvalidSecretError as exc:
        raise InvalidRequestError(
            f"secret must be {what}, {expected}: {exc}", field=field
        ) from None
    if key.kind is not kind:
        hint = (
            'to sign with an Ed25519 key, set signatureAlgorithm "ed25519"'
            if key.kind is signing_standard.KeyKind.SIGNING
            else "a public key only verifies"
            if key.kind is signing_standard.KeyKind.PUBLIC
            else 'to sign with an HMAC secret, set signatureAlgorithm "hmac-sha256"'
        )
        raise InvalidRequestError(
            f"secret must be {what}, {expected}, not a {key.kind.value} key ({hint})",
            field=field,
        )
    return secret


def validate_secret(secret: Any, *, field: str = "secret") -> str:
    if not isinstance(secret, str) or not (SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH):
        raise InvalidRequestError(
            f"secret must be a string of {SECRET_MIN_LENGTH}-{SECRET_MAX_LENGTH} characters",
            field=field,
        )
    if not secret.isprintable():
        raise InvalidRequestError("secret must be printable text", field=field)
    return secret


def validate_grace_period(value: Any, *, field: str = "gracePeriodSeconds") -> int:
    """A secret rotation's grace period in seconds: 0..MAX_GRACE_PERIOD_S (0: switch at
    once); None: DEFAULT_GRACE_PERIOD_S."""
    if value is None:
        return DEFAULT_GRACE_PERIOD_S
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{field} must be an integer number of seconds", field=field)
    if not 0 <= value <= MAX_GRACE_PERIOD_S:
        raise InvalidRequestError(
            f"{field} must be between 0 and {MAX_GRACE_PERIOD_S} (7 days)", field=field
        )
    return value


def validate_description(description: Any, *, field: str = "description") -> str:
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidRequestError(
            f"description must be a string of at most {MAX_DESCRIPTION_LENGTH} characters",
            field=field,
        )
    return check_storable_text(description, field=field)


def validate_alert_emails(emails: Any, *, field: str = "emails") -> tuple[str, ...]:
    """An account's alert addresses: at most MAX_ALERT_EMAILS plain addresses
    (local@domain.tld, printable ASCII, no display names), trimmed, in the order given, the
    later copies of an address dropped (compared case-insensitively)."""
    if not isinstance(emails, list | tuple):
        raise InvalidRequestError(f"{field} must be a list of e-mail addresses", field=field)
    kept: list[str] = []
    seen: set[str] = set()
    for index, email in enumerate(emails):
        address = _alert_email(email, field=f"{field}[{index}]")
        if address.lower() not in seen:
            seen.add(address.lower())
            kept.append(address)
            if len(kept) > MAX_ALERT_EMAILS:
                raise InvalidRequestError(
                    f"{field} takes at most {MAX_ALERT_EMAILS} addresses", field=field
                )
    return tuple(kept)


def _alert_email(email: Any, *, field: str) -> str:
    if not isinstance(email, str):
        raise InvalidRequestError(f"{field} must be a string", field=field)
    address = email.strip()
    if len(address) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(address):
        raise InvalidRequestError(
            f"{field} must be an e-mail address like ops@example.com "
            f"(at most {MAX_EMAIL_LENGTH} characters)",
            field=field,
        )
    return address


def check_storable_text(text: str, *, field: str) -> str:
    """Free text both backends store alike: no U+0000 (PostgreSQL text cannot hold it, so
    SQLite does not take it either)."""
    if "\x00" in text:
        raise InvalidRequestError(f"{field} must not contain the NUL character", field=field)
    return text


def page_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidRequestError(f"limit must be 1-{MAX_PAGE_SIZE}", field="limit")
    return limit


def check_cursor(cursor: str | None, prefix: str) -> str | None:
    if cursor is not None and not ids.has_prefix(cursor, prefix):
        raise InvalidRequestError("cursor is not a cursor this list returned", field="cursor")
    return cursor


def page_of(rows: list[Any], size: int) -> Page[Any]:
    has_more = len(rows) > size
    rows = rows[:size]
    return Page(data=rows, has_more=has_more, next_cursor=rows[-1].id if has_more else None)


# Destinations beyond HTTP (docs/design.md, "Broker destinations").
TYPE_CHOICES = ", ".join(kind.value for kind in DestinationKind)


def destination_kind(value: Any, *, field: str = "type") -> DestinationKind:
    """A webhook's `type`: http (the default), rabbitmq, nats or redis-stream."""
    try:
        return DestinationKind(value)
    except ValueError:
        raise InvalidRequestError(f"{field} must be one of: {TYPE_CHOICES}", field=field) from None


def validate_destination(kind: DestinationKind, url: Any, config: Any) -> BrokerConfig | None:
    """The destination of a webhook of `kind`: None for HTTP (its `url` is required, and the
    caller checks it with the destination guard), else the broker config parsed by
    delivery/brokers (a 400 names `config.<field>`). An HTTP webhook takes no config; a broker
    webhook takes no URL (its config's URL says where its broker is)."""
    if kind is DestinationKind.HTTP:
        if config is not None:
            raise InvalidRequestError(
                'config is for broker destinations (type "rabbitmq", "nats" or "redis-stream"):'
                " an http webhook has a url",
                field="config",
            )
        if url is None:
            raise InvalidRequestError("url is required for an http webhook", field="url")
        return None
    if url is not None:
        raise InvalidRequestError(
            f"a {kind.value} webhook has no url: its config says where its broker is",
            field="url",
        )
    if not isinstance(config, Mapping):
        raise InvalidRequestError(
            f"config must be an object: the {kind.value} connection settings", field="config"
        )
    parsed = parse_broker_config(kind, config)
    try:
        orjson.dumps(broker_config_json(parsed))  # stored as JSON: no lone surrogates
    except orjson.JSONEncodeError:
        raise InvalidRequestError("config must be valid UTF-8 text", field="config") from None
    return parsed


def stored_config(config: BrokerConfig) -> str:
    """The config as the `destination_config` column stores it (sealed by the store)."""
    return orjson.dumps(broker_config_json(config)).decode()
