"""Jinja2 environment of the dashboard: templates from the package, filters and helpers."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from promptha_webhooks import canonical_json
from promptha_webhooks.catalog import EVENT_TYPES, EVENT_TYPES_BY_NAME
from promptha_webhooks.dashboard.forms import (
    DESTINATION_CHOICES,
    EVENT_GROUPS,
    EVENT_PATTERNS,
    SIGNING_CHOICES,
)
from promptha_webhooks.dashboard.stats_chart import bucket_label
from promptha_webhooks.dashboard.stats_view import hourly_chart, percent
from promptha_webhooks.models import HEALTH_DISABLE_REASONS, Webhook

MOUNT_PATH = "/dashboard"


def security_headers(
    frame_origins: tuple[str, ...] = (),
    *,
    img_origins: tuple[str, ...] = (),
    form_origins: tuple[str, ...] = (),
) -> dict[str, str]:
    """The dashboard's security headers. `frame_origins` (PROMPTHA_WEBHOOKS_PORTAL_ORIGINS) may
    frame it besides itself; with none, nothing may (and X-Frame-Options says DENY too, for old
    browsers). With some, X-Frame-Options is left out: it cannot name origins, and a browser
    that knows CSP obeys frame-ancestors instead. A portal page adds its logo's origin to
    img-src and its return URL's to form-action (Sign out redirects there)."""
    frame = " ".join(("'self'", *frame_origins)) if frame_origins else "'none'"
    img = " ".join(("'self'", "data:", *img_origins))
    form = " ".join(("'self'", *form_origins))
    headers = {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Content-Security-Policy": (
            f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {img}; "
            f"connect-src 'self'; form-action {form}; frame-ancestors {frame}; base-uri 'none'"
        ),
    }
    if not frame_origins:
        headers["X-Frame-Options"] = "DENY"
    return headers


SECURITY_HEADERS = security_headers()


def format_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def format_ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms"


def pretty_json(value: Any) -> str:
    """A value the services read back (canonical_json.loads_stored: text only, at most
    MAX_NESTING_DEPTH deep), indented."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def pretty_body(text: str | None) -> str:
    """A response or request body, indented when it is JSON that shows whole; anything else
    (not JSON, nested deeper than MAX_NESTING_DEPTH, lone surrogates) as it came."""
    if not text:
        return ""
    try:
        value = json.loads(text)  # as a receiver's own parser reads it: big integers kept
    except (ValueError, RecursionError):  # not JSON, or deeper than the parser goes
        return text
    return pretty_json(value) if canonical_json.shows_whole(value) else text


def webhook_status(webhook: Webhook) -> tuple[str, str]:
    """(css class, label): enabled, disabled (by hand) or auto-disabled (by the service)."""
    if webhook.enabled:
        return "enabled", "Enabled"
    if webhook.disabled_reason in HEALTH_DISABLE_REASONS:
        return "auto-disabled", "Auto-disabled"
    return "disabled", "Disabled"


def disabled_because(webhook: Webhook) -> str:
    """Why endpoint health disabled the webhook, in words (empty for a manual disable)."""
    return _HEALTH_REASONS.get(webhook.disabled_reason or "", "")


_HEALTH_REASONS = {
    "auto_disabled": "it kept failing for the whole failure budget",
    "gone": "it answered 410 Gone",
    "receiver_disabled": "it answered with the header x-promptha-delivery: disable",
}


def build_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("promptha_webhooks.dashboard", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dt"] = format_time
    env.filters["ms"] = format_ms
    env.filters["pretty_json"] = pretty_json
    env.filters["pretty_body"] = pretty_body
    env.filters["percent"] = percent
    env.globals.update(
        base=MOUNT_PATH,
        hourly_chart=hourly_chart,
        bucket_label=bucket_label,
        webhook_status=webhook_status,
        disabled_because=disabled_because,
        event_groups=EVENT_GROUPS,
        event_patterns=EVENT_PATTERNS,
        signing_choices=SIGNING_CHOICES,
        destination_choices=DESTINATION_CHOICES,
        event_types=EVENT_TYPES,
        event_types_by_name=EVENT_TYPES_BY_NAME,
    )
    return env


class Renderer:
    """Renders a template into an HTML response with the dashboard's security headers."""

    def __init__(self, frame_origins: tuple[str, ...] = ()) -> None:
        self.env = build_environment()
        self.frame_origins = frame_origins
        self.headers = security_headers(frame_origins)

    def render(
        self,
        name: str,
        context: dict[str, Any],
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        html = self.env.get_template(name).render(**context)
        all_headers = self.headers | (headers or {})
        return HTMLResponse(html, status_code=status_code, headers=all_headers)
