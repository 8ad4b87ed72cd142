"""Form handling: URL-encoded bodies, and the webhook form checked with the API's own rules.

Every field is checked (not only the first bad one) with the validators the services use, so
the page can show each error next to its field; the service then checks again when saving.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl

from starlette.requests import Request

from promptha_webhooks import canonical_json
from promptha_webhooks.catalog import EVENT_TYPES, EVENT_TYPES_BY_NAME, sample_payload
from promptha_webhooks.delivery_settings import (
    PASSWORD_MASK,
    DeliveryOptions,
    check_headers,
    check_proxy_url,
    check_retry_schedule,
    check_timeout,
    format_delays,
    parse_delays,
    parse_header_lines,
)
from promptha_webhooks.destinations import validate_webhook_url
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.models import FilterTest, Webhook
from promptha_webhooks.pacing import Ordering, Pacing
from promptha_webhooks.routing import covered_types
from promptha_webhooks.services import Services
from promptha_webhooks.services import validation as service_rules
from promptha_webhooks.services.webhooks import FilterProbe, WebhookDefinition
from promptha_webhooks.signature_headers import SignatureAlgorithm, SignatureFormat
from promptha_webhooks.webhook_secrets import SigningScheme

MAX_FORM_BYTES = 256 * 1024
T = TypeVar("T")
EVENT_GROUPS: tuple[tuple[str, list[tuple[str, str]]], ...] = tuple(
    (group, [(t.name, t.description) for t in EVENT_TYPES if t.group == group])
    for group in dict.fromkeys(t.group for t in EVENT_TYPES)
)


@dataclass(frozen=True, slots=True)
class EventPattern:
    """A pattern the form offers: every event of a group, also types added later."""

    pattern: str
    label: str


def _group_patterns() -> tuple[EventPattern, ...]:
    """`<prefix>.*` for each group whose types share one first name (Fabric, Ask, Credits)."""
    chosen = []
    for group, items in EVENT_GROUPS:
        prefixes = {name.split(".", 1)[0] for name, _ in items}
        if len(prefixes) == 1:
            pattern = f"{prefixes.pop()}.*"
            chosen.append(EventPattern(pattern, f"All {group} events, also future ones"))
    return (*chosen, EventPattern("*", "Every event, also future ones"))


EVENT_PATTERNS: Final = _group_patterns()
DEFAULT_TRY_EVENT: Final = "fabric.completed"


def sample_text(event: str) -> str:
    """The editable sample payload of an event type, pretty-printed ("{}" for an unknown one)."""
    event_type = EVENT_TYPES_BY_NAME.get(event)
    return (
        json.dumps(sample_payload(event_type), indent=2, ensure_ascii=False) if event_type else "{}"
    )


@dataclass(frozen=True, slots=True)
class SigningChoice:
    """One option of the form's Signing select: a signing scheme and what it means."""

    value: str
    scheme: SigningScheme
    label: str


SIGNING_CHOICES: Final = (
    SigningChoice(
        "promptha",
        SigningScheme(),
        "Promptha headers (x-promptha-signature), HMAC-SHA256: the guide's",
    ),
    SigningChoice(
        "standard",
        SigningScheme(SignatureFormat.STANDARD),
        "Standard Webhooks (webhook-signature v1), HMAC-SHA256",
    ),
    SigningChoice(
        "standard-ed25519",
        SigningScheme(SignatureFormat.STANDARD, SignatureAlgorithm.ED25519),
        "Standard Webhooks, Ed25519 (v1a): receivers hold only a public key",
    ),
)
SIGNING_BY_VALUE: Final = {choice.value: choice for choice in SIGNING_CHOICES}
# The API fields a refusal of the signing scheme names, shown next to the Signing select.
SIGNING_FIELDS: Final = frozenset({"secret", "signatureFormat", "signatureAlgorithm"})
# The delivery settings' API fields and the form fields they are typed in.
DELIVERY_FIELDS: Final = {"maxConcurrency": "max_concurrency", "rateLimit": "rate_limit"}
# The Destination select: the API's `type` values and their labels.
DESTINATION_CHOICES: Final = (
    ("http", "HTTPS endpoint"),
    ("rabbitmq", "RabbitMQ exchange"),
    ("nats", "NATS JetStream subject"),
    ("redis-stream", "Redis stream"),
)
# The API's broker config fields (the service's error fields) → the form's fields.
BROKER_FIELDS: Final = {
    "type": "destination_type",
    "config": "broker_url",
    "config.url": "broker_url",
    "config.exchange": "exchange",
    "config.routingKey": "routing_key",
    "config.subject": "subject",
    "config.stream": "stream",
    "config.maxLen": "max_len",
}


def signing_value(scheme: SigningScheme) -> str:
    """The Signing select's value for a scheme."""
    return next((c.value for c in SIGNING_CHOICES if c.scheme == scheme), "promptha")


class FormData:
    """A parsed application/x-www-form-urlencoded body (repeated names keep every value)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        for key, value in self._pairs:
            if key == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]


async def read_form(request: Request) -> FormData:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidRequestError("The form is too large")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise InvalidRequestError("The form is not UTF-8") from None
    return FormData(parse_qsl(text, keep_blank_values=True))


def form_field(api_field: str | None) -> str:
    """The form field an API error field belongs to: "filters.fabricId" → "filters"."""
    if not api_field:
        return "form"
    return re.split(r"[.\[]", api_field, maxsplit=1)[0]


@dataclass
class WebhookForm:
    """What the Add/Edit form holds, as typed, plus an error message per field."""

    url: str = ""
    # Where deliveries go: a DESTINATION_CHOICES value; a broker's settings as typed (on
    # edit the URL is shown with its password as ****, which keeps the stored one)
    destination_type: str = "http"
    broker_url: str = ""
    exchange: str = ""
    routing_key: str = ""
    subject: str = ""
    stream: str = ""
    max_len: str = ""
    events: list[str] = field(default_factory=list)
    fabric_ids: str = ""
    description: str = ""
    signing: str = "promptha"  # a SIGNING_CHOICES value
    new_secret: bool = False  # edit only: replace the secret at once (a scheme it must fit)
    # Delivery settings, as typed: empty for the default (the server's cap; no rate limit)
    max_concurrency: str = ""
    rate_limit: str = ""
    ordering: str = Ordering.NONE.value
    # Delivery settings: static headers one "Name: value" a line (on edit, empty keeps the
    # current ones: their values are never put in the page), retry delays ("5s, 30s, 5m";
    # empty: the server's), the timeout in seconds (empty: the server's).
    headers: str = ""
    clear_headers: bool = False  # edit only: remove every static header
    retry_schedule: str = ""
    timeout: str = ""
    # The proxy URL as typed (on edit, empty keeps the current one: its password is never put
    # in the page), and, on edit, whether to go back to the server's proxy.
    proxy_url: str = ""
    clear_proxy: bool = False
    # The payload filter as typed (a JSON object; merged with fabric_ids into `filters`)
    payload_filter: str = ""
    # The "Try it" panel: an event type, its payload as typed, the type that payload is the
    # sample of (a changed type brings its own sample), and the last try's outcome.
    try_event: str = ""
    try_payload: str = ""
    try_sample_for: str = ""
    try_result: FilterTest | None = None
    try_error: str = ""
    try_resampled: bool = False  # the payload was replaced by the sample of a new type
    errors: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.try_event not in EVENT_TYPES_BY_NAME:
            covered = covered_types(self.events)
            self.try_event = covered[0] if covered else DEFAULT_TRY_EVENT
        if self.try_event != self.try_sample_for:
            self.try_payload = sample_text(self.try_event)
            self.try_sample_for = self.try_event
            self.try_resampled = True

    @classmethod
    def from_form(cls, form: FormData) -> WebhookForm:
        return cls(
            url=form.get("url").strip(),
            destination_type=form.get("destination_type", "http"),
            broker_url=form.get("broker_url").strip(),
            exchange=form.get("exchange").strip(),
            routing_key=form.get("routing_key").strip(),
            subject=form.get("subject").strip(),
            stream=form.get("stream").strip(),
            max_len=form.get("max_len").strip(),
            events=form.get_all("events"),
            fabric_ids=form.get("fabric_ids"),
            description=form.get("description"),
            signing=form.get("signing", "promptha"),
            new_secret=form.get("new_secret") == "on",
            max_concurrency=form.get("max_concurrency").strip(),
            rate_limit=form.get("rate_limit").strip(),
            ordering=form.get("ordering", Ordering.NONE.value),
            headers=form.get("headers"),
            clear_headers=form.get("clear_headers") == "on",
            retry_schedule=form.get("retry_schedule"),
            timeout=form.get("timeout").strip(),
            proxy_url=form.get("proxy_url").strip(),
            clear_proxy=form.get("clear_proxy") == "on",
            payload_filter=form.get("payload_filter"),
            try_event=form.get("try_event"),
            try_payload=form.get("try_payload"),
            try_sample_for=form.get("try_sample_for"),
        )

    @classmethod
    def from_webhook(cls, webhook: Webhook) -> WebhookForm:
        fabric_ids = ""
        rest = dict(webhook.filters or {})
        ids = rest.get("fabricId")
        if isinstance(ids, list) and all(isinstance(v, str) for v in ids):
            fabric_ids = "\n".join(ids)
            del rest["fabricId"]
        algorithm = webhook.signature_algorithm or SignatureAlgorithm.HMAC_SHA256
        config = webhook.config or {}
        return cls(
            url=webhook.url or "",
            destination_type=webhook.type,
            broker_url=_shown(config.get("url")),
            exchange=_shown(config.get("exchange")),
            routing_key=_shown(config.get("routingKey")),
            subject=_shown(config.get("subject")),
            stream=_shown(config.get("stream")),
            max_len=_shown(config.get("maxLen")),
            events=list(webhook.events),
            fabric_ids=fabric_ids,
            payload_filter=json.dumps(rest, indent=2, ensure_ascii=False) if rest else "",
            description=webhook.description,
            signing=signing_value(SigningScheme(webhook.signature_format, algorithm)),
            max_concurrency=_text(webhook.max_concurrency),
            rate_limit=_text(webhook.rate_limit),
            ordering=webhook.ordering.value,
            retry_schedule=format_delays(webhook.retry_schedule),
            timeout="" if webhook.timeout_seconds is None else str(webhook.timeout_seconds),
        )

    def cap(self) -> int | None:
        """maxConcurrency (None: the server's default)."""
        return service_rules.validate_max_concurrency(
            _whole_number(self.max_concurrency, "maxConcurrency")
        )

    def pacing(self) -> Pacing:
        """rateLimit and ordering."""
        return service_rules.validate_pacing(
            _whole_number(self.rate_limit, "rateLimit"), self.ordering
        )

    def delivery(self) -> DeliveryOptions:
        """The static headers, retry delays, timeout and proxy as typed (checked by
        `validate`)."""
        timeout: Any = None
        if self.timeout:
            if not self.timeout.isascii() or not self.timeout.isdigit():
                raise InvalidRequestError(
                    "The timeout is a whole number of seconds, 1-30", field="timeoutSeconds"
                )
            timeout = int(self.timeout)
        return DeliveryOptions(
            parse_header_lines(self.headers),
            parse_delays(self.retry_schedule),
            timeout,
            self.proxy_url or None,
        )

    def _check_delivery(self) -> None:
        delivery = self.delivery()
        check_headers(delivery.headers)
        check_retry_schedule(delivery.retry_schedule)
        check_timeout(delivery.timeout_seconds)
        check_proxy_url(delivery.proxy_url)

    @property
    def is_http(self) -> bool:
        return self.destination_type == "http"

    def broker_config(self) -> dict[str, Any] | None:
        """The broker settings as the API's `config` (None for an HTTP destination)."""
        kind = self.destination_type
        if kind == "rabbitmq":
            return {
                "url": self.broker_url,
                "exchange": self.exchange,
                "routingKey": self.routing_key,
            }
        if kind == "nats":
            return {"url": self.broker_url, "subject": self.subject, "stream": self.stream or None}
        if kind == "redis-stream":
            return {
                "url": self.broker_url,
                "stream": self.stream,
                "maxLen": _whole_number(self.max_len, "config.maxLen"),
            }
        return None

    def definition(self) -> WebhookDefinition:
        """The webhook the Add form describes (checked by `validate` first)."""
        return WebhookDefinition(
            url=self.url if self.is_http else None,
            type=self.destination_type,
            config=self.broker_config(),
            events=self.events,
            filters=self.filters(),
            description=self.description,
            max_concurrency=self.cap(),
            scheme=self.scheme(),
            pacing=self.pacing(),
            delivery=self.delivery(),
        )

    def scheme(self) -> SigningScheme:
        """The chosen signing scheme."""
        choice = SIGNING_BY_VALUE.get(self.signing)
        if choice is None:
            raise InvalidRequestError("Choose a signing scheme", field="signing")
        return choice.scheme

    def filters(self) -> dict[str, Any] | None:
        """The fabricId values (one per line or comma-separated) and the payload filter's
        clauses, in one filter document; neither → no filter."""
        values = [v.strip() for v in re.split(r"[,\n]", self.fabric_ids) if v.strip()]
        document: dict[str, Any] = {"fabricId": list(dict.fromkeys(values))} if values else {}
        clauses = self.payload_clauses()
        if values and "fabricId" in clauses:
            raise InvalidRequestError(
                "The payload filter has a fabricId clause too: give fabricId values in one "
                "place only",
                field="payload_filter",
            )
        document.update(clauses)
        return document or None

    def payload_clauses(self) -> dict[str, Any]:
        """The payload filter as typed: a JSON object (empty: none)."""
        if not self.payload_filter.strip():
            return {}
        value, error = parse_payload(self.payload_filter, what="payload filter")
        if value is None:
            raise InvalidRequestError(error or "Not a JSON object", field="payload_filter")
        return value

    def try_filter(self, services: Services) -> None:
        """Try the panel's event against the events and filters as typed: fills `try_result`
        or `try_error` (a filter or payload the service refuses, named with its field)."""
        try:
            payload, error = parse_payload(self.try_payload)
            if payload is None:
                raise InvalidRequestError(error or "Not a JSON object", field="data")
            probe = FilterProbe(
                events=self.events or None,
                filters=self.filters(),
                event=self.try_event,
                data=payload,
            )
            self.try_result = services.test_filter(probe)
        except InvalidRequestError as exc:
            self.try_error = described(exc)

    async def validate(self, services: Services) -> bool:
        """Check every field with the API's rules; fill `errors`; True when all are valid."""
        checks: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("url", self._check_destination(services)),
            ("events", self._sync(lambda: service_rules.validate_subscriptions(self.events))),
            ("filters", self._sync(self._check_filters)),
            (
                "description",
                self._sync(lambda: service_rules.validate_description(self.description)),
            ),
            ("signing", self._sync(self.scheme)),
            ("max_concurrency", self._sync(self.cap)),
            ("rate_limit", self._sync(lambda: self.pacing().rate_limit)),
            ("ordering", self._sync(lambda: service_rules.validate_ordering(self.ordering))),
            ("delivery", self._sync(self._check_delivery)),
        ]
        for name, check in checks:
            try:
                await check()
            except InvalidRequestError as exc:
                key = form_field(exc.field) if name == "delivery" else name
                if name == "url":
                    key = BROKER_FIELDS.get(exc.field or "", "url")
                if name == "filters":
                    key = self._filter_field(exc)
                self.errors.setdefault(key, described(exc) if name == "filters" else exc.message)
        if not self.events:
            self.errors["events"] = "Select at least one event"
        return not self.errors

    def _check_filters(self) -> None:
        filters = service_rules.validate_filters(self.filters())
        known = [
            name for name in self.events if name in EVENT_TYPES_BY_NAME or covered_types([name])
        ]
        service_rules.check_filters_fit_events(filters, known)

    def _filter_field(self, exc: InvalidRequestError) -> str:
        """Where a refused filter is shown: next to the payload filter when one is typed
        (or the error is its own), else next to the fabricId values."""
        if exc.field == "payload_filter" or self.payload_filter.strip():
            return "payload_filter"
        return "filters"

    def _check_destination(self, services: Services) -> Callable[[], Awaitable[object]]:
        """The URL (HTTP) or the broker settings, as the service checks them on save. On edit
        a broker URL shown with **** stands for the stored one: the service resolves it."""

        async def check() -> object:
            service_rules.destination_kind(self.destination_type)
            if self.is_http:
                if not self.url:
                    raise InvalidRequestError("Enter the URL of your endpoint", field="url")
                await validate_webhook_url(self.url, services.settings.mode, services.resolve)
                return None
            if not self.broker_url:
                raise InvalidRequestError("Enter the broker's URL", field="config.url")
            if PASSWORD_MASK in self.broker_url:
                return None  # the stored URL's password: checked by the service on save
            await services.check_destination(self.destination_type, None, self.broker_config())
            return None

        return check

    @staticmethod
    def _sync(function: Callable[[], object]) -> Callable[[], Awaitable[object]]:
        async def check() -> object:
            return function()

        return check

    def add_error(self, exc: InvalidRequestError) -> None:
        if form_field(exc.field) in ("filters", "payload_filter"):
            self.errors[self._filter_field(exc)] = described(exc)
            return
        name = (
            "signing"
            if exc.field in SIGNING_FIELDS
            else DELIVERY_FIELDS.get(exc.field or "")
            or BROKER_FIELDS.get(exc.field or "")
            or form_field(exc.field)
        )
        self.errors[name] = exc.message

    async def submit(self, services: Services, save: Callable[[], Awaitable[T]]) -> T | None:
        """Check every field, then `save`: what it returns, or None with `errors` filled in
        (a refusal of the service when saving lands next to its field too)."""
        if not await self.validate(services):
            return None
        try:
            return await save()
        except InvalidRequestError as exc:
            self.add_error(exc)
            return None

    def changes(self, current: Webhook) -> dict[str, Any]:
        """The form's fields as the changes `Services.update_webhook` takes. The signing
        scheme only when it changes (a change ends any rotation) or comes with `secret: None`
        (a new generated secret, at once), which only when asked for."""
        changes: dict[str, Any] = {
            "events": self.events,
            "filters": self.filters(),
            "description": self.description,
            "max_concurrency": self.cap(),
            "rate_limit": self.pacing().rate_limit,
            "ordering": self.pacing().ordering,
        }
        if self.is_http:
            changes["url"] = self.url
        else:
            changes["config"] = self.broker_config()
        if self.destination_type != current.type:
            changes["type"] = self.destination_type
        scheme = self.scheme()
        # With a new secret, always the scheme it is made for: the one shown is not known to be
        # the stored one when the stored secret does not decrypt (its algorithm is unknown).
        if self.new_secret or self.signing != WebhookForm.from_webhook(current).signing:
            changes["signature_format"] = scheme.format
            changes["signature_algorithm"] = scheme.algorithm
        if self.new_secret:
            changes["secret"] = None
        delivery = self.delivery()
        if self.clear_headers:
            changes["headers"] = None
        elif delivery.headers:
            changes["headers"] = delivery.headers
        changes["retry_schedule"] = delivery.retry_schedule
        changes["timeout_seconds"] = delivery.timeout_seconds
        if self.clear_proxy:
            changes["proxy_url"] = None
        elif delivery.proxy_url is not None:
            changes["proxy_url"] = delivery.proxy_url
        return changes


def described(exc: InvalidRequestError) -> str:
    """An error's message, naming its field when the message does not already."""
    if exc.field and exc.field not in exc.message and exc.field != "payload_filter":
        return f"{exc.message} ({exc.field})"
    return exc.message


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


def _shown(value: object) -> str:
    """A broker config value as the form shows it (empty for none)."""
    return "" if value is None else str(value)


def _whole_number(text: str, api_field: str) -> int | None:
    """A number field as typed: empty → None; else a whole number (checked for its range by
    the service's rule)."""
    if not text:
        return None
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 9:
        raise InvalidRequestError("Enter a whole number, or leave it empty", field=api_field)
    return int(text)


def parse_payload(text: str, what: str = "payload") -> tuple[dict[str, Any] | None, str | None]:
    """The test form's JSON payload: (object, None) or (None, why it is not one). Parsed as
    the API parses a body (canonical_json.loads_input), so it refuses what the API refuses."""
    if not text.strip():
        return {}, None
    try:
        value = canonical_json.loads_input(text)
    except canonical_json.CanonicalJSONError as exc:
        where = "" if exc.path == "$" else f" at {exc.path}"
        reason = exc.reason.removeprefix("invalid JSON: ")
        return None, f"Not valid JSON{where}: {reason}"
    if not isinstance(value, dict):
        return None, f"The {what} must be a JSON object"
    return value, None
