"""health.advance: one webhook's counters through a sequence of results (pure)."""

from __future__ import annotations

import dataclasses

from promptha_webhooks.delivery.health import AttemptResult, HealthPolicy, advance

from support import healthy_row

POLICY = HealthPolicy(disable_after_ms=100_000, min_failed_deliveries=2)
HEALTHY = healthy_row("wh_1")


def result(at: int, *, ok: bool = False, final: bool = True, **changes: object) -> AttemptResult:
    base = AttemptResult(
        webhook_id="wh_1",
        delivery_id=f"dlv_{at}",
        event_id=f"evt_{at}",
        event_type="fabric.completed",
        delivered=ok,
        at=at,
        final_failure=final and not ok,
        status_code=200 if ok else 500,
        reason=None if ok else "HTTP 500",
        attempts=1,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_failures_warn_once_per_level_then_disable() -> None:
    state, notices = advance(
        HEALTHY,
        [result(0), result(49_000), result(50_000), result(60_000), result(75_000)],
        POLICY,
    )
    assert [n.data.get("percent") for n in notices if n.event == "webhook.failing"] == [50, 75]
    assert state.warned_level == 75 and state.enabled
    state, notices = advance(state, [result(100_000)], POLICY)
    assert [n.event for n in notices] == ["delivery.failed", "webhook.disabled"]
    assert not state.enabled and state.disabled_reason == "auto_disabled"
    assert state.disabled_at == 100_000 and state.consecutive_failures == 6


def test_retries_are_not_failed_deliveries() -> None:
    state, notices = advance(
        HEALTHY, [result(0, final=False), result(200_000, final=False)], POLICY
    )
    assert state.enabled  # budget spent, but no delivery failed for good
    assert state.consecutive_failures == 2 and state.failed_deliveries == 0
    assert [n.event for n in notices] == ["webhook.failing"]  # only the highest level, once
    assert notices[0].data["percent"] == 90


def test_success_resets_and_recovers_only_after_an_alert() -> None:
    state, notices = advance(HEALTHY, [result(0), result(1, ok=True)], POLICY)
    assert [n.event for n in notices] == ["delivery.failed"]
    assert state.failing_since is None and state.last_success_at == 1
    warned, _ = advance(HEALTHY, [result(0), result(60_000)], POLICY)
    assert warned.alerted
    state, notices = advance(warned, [result(70_000, ok=True)], POLICY)
    assert [n.event for n in notices] == ["webhook.recovered"]
    assert notices[0].data["failingSince"] == 0 and notices[0].data["recoveredAt"] == 70
    assert not state.alerted and state.warned_level == 0 and state.consecutive_failures == 0


def test_gone_and_receiver_disable() -> None:
    state, notices = advance(HEALTHY, [result(5, status_code=410)], POLICY)
    assert state.disabled_reason == "gone"
    assert notices[-1].data["reason"] == "gone"
    state, _ = advance(HEALTHY, [result(5, ok=True, control="disable")], POLICY)
    assert not state.enabled and state.disabled_reason == "receiver_disabled"


def test_alert_deliveries_do_not_publish_alerts() -> None:
    state, notices = advance(HEALTHY, [result(0, event_type="delivery.failed")], POLICY)
    assert state.failed_deliveries == 1
    assert notices and all(not n.publish for n in notices)


def test_test_deliveries_raise_no_delivery_failed() -> None:
    _state, notices = advance(HEALTHY, [result(0, is_test=True)], POLICY)
    assert notices == []


def test_successes_on_a_healthy_webhook_keep_only_the_latest_success_time() -> None:
    state, notices = advance(HEALTHY, [result(1, ok=True), result(2, ok=True)], POLICY)
    assert notices == [] and state == dataclasses.replace(HEALTHY, last_success_at=2)
    # A failure after a run of successes still sees them: it starts counting from zero.
    state, _ = advance(HEALTHY, [result(3, ok=True), result(4, final=False)], POLICY)
    assert state.last_success_at == 3 and state.consecutive_failures == 1
    assert state.failing_since == 4
    # Successes after a failure reset the counters and keep the last success time.
    state, _ = advance(state, [result(5, ok=True), result(6, ok=True)], POLICY)
    assert state.consecutive_failures == 0 and state.failing_since is None
    assert state.last_success_at == 6 and state.last_failure_at == 4
