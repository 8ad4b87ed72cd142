"""Dashboard pieces without a server: the hourly chart (function and Jinja macro), session
cookies and CSRF tokens, the webhook form's filter parsing, and time cursors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from promptha_webhooks import ids
from promptha_webhooks.cli.environment import ensure_session_secret
from promptha_webhooks.config import ConfigError, Settings
from promptha_webhooks.dashboard.forms import (
    EVENT_PATTERNS,
    WebhookForm,
    form_field,
    parse_payload,
)
from promptha_webhooks.dashboard.rendering import (
    build_environment,
    disabled_because,
    webhook_status,
)
from promptha_webhooks.dashboard.sessions import SessionCodec
from promptha_webhooks.dashboard.stats_view import HourlyBucket, hourly_chart, percent
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.models import Webhook

START = datetime(2026, 1, 1, tzinfo=UTC)


def buckets(*pairs: tuple[int, int]) -> list[HourlyBucket]:
    return [HourlyBucket(START + timedelta(hours=i), d, f) for i, (d, f) in enumerate(pairs)]


def test_chart_scales_to_the_busiest_hour_and_stacks_failed_on_delivered() -> None:
    chart = hourly_chart(buckets((10, 0), (5, 5), (0, 0), (0, 2)), width=40, height=20, gap=0)
    assert (chart.delivered, chart.failed, chart.peak) == (15, 7, 10)
    full, half_half, empty, failed_only = chart.bars
    assert [b.x for b in chart.bars] == [0, 10, 20, 30]
    assert full.delivered_height == 20 and full.failed_height == 0 and full.delivered_y == 0
    assert half_half.delivered_height == 10 and half_half.failed_height == 10
    assert half_half.failed_y == 0 and half_half.delivered_y == 10
    assert empty.delivered_height == 0 and empty.failed_height == 0
    assert failed_only.failed_height == 4 and failed_only.failed_y == 16
    assert full.label == "00:00 UTC: 10 delivered, 0 failed"
    assert chart.summary == "Last 4 hours: 15 delivered, 7 failed (busiest hour: 10)"


def test_chart_keeps_a_tiny_hour_visible_and_handles_no_data() -> None:
    chart = hourly_chart(buckets((1000, 0), (1, 0)), height=28)
    assert chart.bars[1].delivered_height == 1.0
    assert hourly_chart([]).bars == [] and hourly_chart([]).summary == "No deliveries"
    quiet = hourly_chart(buckets((0, 0), (0, 0)))
    assert all(b.delivered_height == b.failed_height == 0 for b in quiet.bars)


def test_chart_macro_draws_one_rect_per_nonzero_part() -> None:
    template = build_environment().from_string(
        '{% from "_macros.html" import hourly_chart_svg %}{{ hourly_chart_svg(b) }}'
    )
    svg = template.render(b=buckets(*[(3, 1)] * 23, (0, 0)))
    assert svg.count('class="bar-delivered"') == 23 and svg.count('class="bar-failed"') == 23
    assert 'role="img"' in svg
    assert 'aria-label="Last 24 hours: 69 delivered, 23 failed (busiest hour: 4)"' in svg
    assert len(re.findall(r"<title>", svg)) == 25  # the chart's and one per hour
    empty = template.render(b=[])
    assert "<rect" not in empty and 'aria-label="No deliveries"' in empty


def test_percent() -> None:
    assert percent(None) == "—" and percent(0.98765) == "98.8 %" and percent(1) == "100.0 %"


def test_session_cookie_round_trip_tamper_and_expiry() -> None:
    codec = SessionCodec("s" * 32, ttl_s=60)
    cookie = codec.issue("acct_1", "key_1", now=1000)
    session = codec.load(cookie, now=1010)
    assert session is not None and (session.account_id, session.key_id) == ("acct_1", "key_1")
    assert codec.load(cookie, now=1060) is None
    assert SessionCodec("t" * 32).load(cookie, now=1010) is None
    payload, signature = cookie.split(".")
    assert codec.load(payload + "." + signature[::-1], now=1010) is None
    assert codec.load(payload[:-2] + "." + signature, now=1010) is None
    for junk in (None, "", "x", "a.b.c", "!!!.???"):
        assert codec.load(junk, now=1010) is None


def test_csrf_token_is_bound_to_the_session() -> None:
    codec = SessionCodec("s" * 32)
    one = codec.load(codec.issue("acct_1", "key_1"))
    two = codec.load(codec.issue("acct_1", "key_1"))
    assert one is not None and two is not None
    assert codec.check_csrf(one, codec.csrf_token(one))
    assert not codec.check_csrf(one, codec.csrf_token(two))
    assert not codec.check_csrf(one, None) and not codec.check_csrf(one, "")


def test_sealed_values_are_bound_to_the_session_and_the_secret() -> None:
    codec = SessionCodec("s" * 32)
    one = codec.load(codec.issue("acct_1", "key_1"))
    two = codec.load(codec.issue("acct_1", "key_1"))
    assert one is not None and two is not None
    sealed = codec.seal(one, b'[["f","webhook","wh_1"]]')
    assert codec.unseal(one, sealed) == b'[["f","webhook","wh_1"]]'
    assert codec.unseal(two, sealed) is None  # another session of the same account
    assert SessionCodec("t" * 32).unseal(one, sealed) is None
    payload, signature = sealed.split(".")
    assert codec.unseal(one, payload[:-1] + "A." + signature) is None
    for junk in (None, "", "x", "a.b.c", "!!!.???", f"{payload}.{signature}\udcff", "é.é"):
        assert codec.unseal(one, junk) is None


def test_form_filters_and_field_names() -> None:
    form = WebhookForm(fabric_ids=" a, b\nc\n\na ")
    assert form.filters() == {"fabricId": ["a", "b", "c"]}
    assert WebhookForm(fabric_ids=" \n ").filters() is None
    assert form_field("filters.fabricId") == "filters" and form_field("events[2]") == "events"
    assert form_field(None) == "form"
    assert parse_payload("") == ({}, None)
    assert parse_payload('{"a": 1}') == ({"a": 1}, None)
    assert parse_payload("[1]")[1] == "The payload must be a JSON object"
    assert (parse_payload("{")[1] or "").startswith("Not valid JSON")


def test_form_payload_filter_merges_with_fabric_ids_and_patterns_are_offered() -> None:
    typed = WebhookForm(fabric_ids="seo", payload_filter='{"data.executionId": {"$prefix": "k"}}')
    assert typed.filters() == {"fabricId": ["seo"], "data.executionId": {"$prefix": "k"}}
    assert WebhookForm(payload_filter=' {"$or": []} ').filters() == {"$or": []}
    for bad in ("{", "[]", '"x"'):
        with pytest.raises(InvalidRequestError) as refused:
            WebhookForm(payload_filter=bad).filters()
        assert refused.value.field == "payload_filter"
    twice = WebhookForm(fabric_ids="a", payload_filter='{"fabricId": ["b"]}')
    with pytest.raises(InvalidRequestError, match="one place only"):
        twice.filters()
    assert [p.pattern for p in EVENT_PATTERNS] == ["fabric.*", "ask.*", "credits.*", "*"]
    # The Try it panel starts on the first type the events cover, with its sample.
    form = WebhookForm(events=["credits.*"])
    assert form.try_event == "credits.low" and '"threshold"' in form.try_payload
    kept = WebhookForm(try_event="ask.message", try_sample_for="ask.message", try_payload="{}")
    assert (kept.try_payload, kept.try_resampled) == ("{}", False)


@pytest.mark.parametrize("at_ms", [0, 1, 1_700_000_000_000, 1_700_000_000_001])
def test_floor_id_sorts_before_every_later_id_and_after_earlier_ones(at_ms: int) -> None:
    floor = ids.floor_id(ids.DELIVERY, at_ms)
    assert ids.has_prefix(floor, ids.DELIVERY)
    assert floor <= ids.new_id(ids.DELIVERY, now_ms=at_ms)
    assert floor < ids.new_id(ids.DELIVERY, now_ms=at_ms + 1)
    if at_ms:
        assert ids.new_id(ids.DELIVERY, now_ms=at_ms - 1) < floor


def test_session_secret_is_generated_once_and_kept_beside_the_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db' / 'x.db'}")
    first = ensure_session_secret(settings)
    path = tmp_path / "db" / "session-secret"
    assert first.session_secret and len(first.session_secret) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert ensure_session_secret(settings).session_secret == first.session_secret
    fixed = settings.replace(session_secret="f" * 32)
    assert ensure_session_secret(fixed).session_secret == "f" * 32
    with pytest.raises(ConfigError):
        Settings.from_env({"PROMPTHA_WEBHOOKS_SESSION_SECRET": "short"})


def test_status_label_shows_auto_disabled() -> None:
    now = datetime.now(UTC)

    def webhook(enabled: bool, reason: str | None) -> Webhook:
        return Webhook(
            id="wh_1",
            url="https://x.example/h",
            events=["fabric.completed"],
            filters=None,
            description="",
            enabled=enabled,
            disabled_reason=reason,
            created_at=now,
            updated_at=now,
        )

    assert webhook_status(webhook(True, None)) == ("enabled", "Enabled")
    assert webhook_status(webhook(False, "manual")) == ("disabled", "Disabled")
    for reason in ("auto_disabled", "gone", "receiver_disabled"):
        assert webhook_status(webhook(False, reason)) == ("auto-disabled", "Auto-disabled")
        assert disabled_because(webhook(False, reason))
    assert disabled_because(webhook(False, "manual")) == ""
