"""Endpoint health: per-webhook failure streaks, warnings at 50/75/90 % of the auto-disable
budget, disabling (budget spent, 410 Gone, or the receiver's `x-promptha-delivery: disable`)
and "recovered" notices.

`advance` is pure (one webhook's counters + its results in a batch → new counters + notices);
`HealthRecorder.record` applies it to a whole result batch inside the caller's transaction:
one locking read and one write for all the batch's webhooks, never a query per delivery.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.alerts import Notice
from promptha_webhooks.catalog import OPERATIONAL_EVENT_NAMES
from promptha_webhooks.config import Settings
from promptha_webhooks.delivery.attempt import CONTROL_DISABLE, AttemptOutcome
from promptha_webhooks.records import record
from promptha_webhooks.store.health import HealthQueries, HealthRow

logger = logging.getLogger(__name__)

WARNING_LEVELS = (50, 75, 90)  # percent of the auto-disable budget
REASON_AUTO = "auto_disabled"
REASON_GONE = "gone"
REASON_RECEIVER = "receiver_disabled"
GONE_STATUS = 410


@record
class AttemptResult:
    """What health needs from one recorded attempt."""

    webhook_id: str
    delivery_id: str
    event_id: str
    event_type: str
    delivered: bool
    at: int  # Unix ms when the attempt finished
    final_failure: bool  # the delivery ended `failed` with this attempt
    status_code: int | None
    reason: str | None  # why it failed (None when delivered)
    attempts: int
    control: str | None = None
    is_test: bool = False

    @classmethod
    def from_outcome(cls, outcome: AttemptOutcome) -> AttemptResult:
        """The attempt as health sees it."""
        update, delivery = outcome.update, outcome.delivery
        delivered = update.status == "delivered"
        return cls(
            webhook_id=delivery.webhook_id,
            delivery_id=update.delivery_id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            delivered=delivered,
            at=update.updated_at,
            final_failure=update.status == "failed",
            status_code=update.last_status_code,
            reason=None if delivered else update.last_error,
            attempts=update.attempt_count,
            control=outcome.control,
            is_test=delivery.is_test,
        )


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    disable_after_ms: int
    min_failed_deliveries: int

    @classmethod
    def from_settings(cls, settings: Settings) -> HealthPolicy:
        return cls(
            int(settings.auto_disable_after_s * 1000), settings.auto_disable_min_failed_deliveries
        )


def advance(
    row: HealthRow, results: Sequence[AttemptResult], policy: HealthPolicy
) -> tuple[HealthRow, list[Notice]]:
    """One webhook's counters after `results` (in the order they happened), and the notices
    due. Results of operational (alert) events change the counters but their notices are
    marked `publish=False`: a failing alert endpoint must not alert about itself in a loop."""
    state = row
    notices: list[Notice] = []

    def notice(event: str, result: AttemptResult, **data: Any) -> None:
        notices.append(
            Notice(
                event=event,
                account_id=row.account_id,
                webhook_id=row.id,
                data={"webhookId": row.id, "url": row.url, **data},
                publish=result.event_type not in OPERATIONAL_EVENT_NAMES,
                at=result.at,
            )
        )

    success_at: int | None = None  # a success on a healthy webhook, not yet in `state`
    for result in results:
        if result.delivered and result.control is None and _healthy(state):
            # The common case, one per delivered attempt: only last_success_at moves, so it is
            # written once for the run of them (dataclasses.replace per result cost ~7 µs).
            success_at = result.at
            continue
        if success_at is not None:
            state = dataclasses.replace(state, last_success_at=success_at)
            success_at = None
        if result.delivered:
            if state.alerted:
                notice(
                    "webhook.recovered",
                    result,
                    failingSince=_seconds(state.failing_since),
                    recoveredAt=_seconds(result.at),
                )
            state = dataclasses.replace(
                state,
                consecutive_failures=0,
                failed_deliveries=0,
                failing_since=None,
                last_success_at=result.at,
                warned_level=0,
                alerted=False,
            )
        else:
            state = dataclasses.replace(
                state,
                consecutive_failures=state.consecutive_failures + 1,
                failed_deliveries=state.failed_deliveries + (1 if result.final_failure else 0),
                failing_since=(
                    state.failing_since if state.failing_since is not None else result.at
                ),
                last_failure_at=result.at,
                last_failure_reason=result.reason,
            )
            if result.final_failure and not result.is_test:
                notice(
                    "delivery.failed",
                    result,
                    deliveryId=result.delivery_id,
                    failedEvent=result.event_type,
                    failedEventId=result.event_id,
                    attempts=result.attempts,
                    lastResponseStatus=result.status_code,
                    lastError=result.reason,
                )
        if not state.enabled:
            continue
        reason = _disable_reason(state, result, policy)
        if reason is not None:
            notice(
                "webhook.disabled",
                result,
                reason=reason,
                failingSince=_seconds(state.failing_since),
                consecutiveFailures=state.consecutive_failures,
                lastFailureReason=state.last_failure_reason,
            )
            state = dataclasses.replace(
                state, enabled=False, disabled_reason=reason, disabled_at=result.at, alerted=True
            )
            continue
        if result.delivered or state.failing_since is None:
            continue
        elapsed = result.at - state.failing_since
        level = max(
            (lvl for lvl in WARNING_LEVELS if elapsed * 100 >= lvl * policy.disable_after_ms),
            default=0,
        )
        if level > state.warned_level:
            notice(
                "webhook.failing",
                result,
                percent=level,
                failingSince=_seconds(state.failing_since),
                disableAt=_seconds(state.failing_since + policy.disable_after_ms),
                consecutiveFailures=state.consecutive_failures,
                failedDeliveries=state.failed_deliveries,
                lastFailureReason=state.last_failure_reason,
            )
            state = dataclasses.replace(state, warned_level=level, alerted=True)
    if success_at is not None:
        state = dataclasses.replace(state, last_success_at=success_at)
    return state, notices


def _healthy(state: HealthRow) -> bool:
    """No failure being counted and no alert outstanding: a success changes nothing else."""
    return (
        state.consecutive_failures == 0
        and state.failed_deliveries == 0
        and state.failing_since is None
        and state.warned_level == 0
        and not state.alerted
    )


def _disable_reason(state: HealthRow, result: AttemptResult, policy: HealthPolicy) -> str | None:
    if result.control == CONTROL_DISABLE:
        return REASON_RECEIVER
    if result.status_code == GONE_STATUS:
        return REASON_GONE
    if (
        not result.delivered
        and state.failing_since is not None
        and result.at - state.failing_since >= policy.disable_after_ms
        and state.failed_deliveries >= policy.min_failed_deliveries
    ):
        return REASON_AUTO
    return None


def _seconds(value: int | None) -> int | None:
    return None if value is None else value // 1000


class HealthRecorder:
    """Applies a batch of results to the webhooks' counters in the caller's transaction."""

    def __init__(self, settings: Settings, queries: HealthQueries) -> None:
        self.policy = HealthPolicy.from_settings(settings)
        self.queries = queries

    async def record(
        self, conn: AsyncConnection, results: Sequence[AttemptResult], now: int
    ) -> list[Notice]:
        if not results:
            return []
        by_webhook: dict[str, list[AttemptResult]] = defaultdict(list)
        for result in results:
            by_webhook[result.webhook_id].append(result)
        current = await self.queries.lock_health(conn, list(by_webhook))
        changed: list[HealthRow] = []
        notices: list[Notice] = []
        for webhook_id, items in by_webhook.items():
            row = current.get(webhook_id)
            if row is None or row.kind != "http":
                continue  # deleted meanwhile, or a listen session (a developer's machine)
            items.sort(key=lambda r: r.at)
            try:
                new_row, new_notices = advance(row, items, self.policy)
            except Exception:
                # A bug here must not stop results from being recorded: skip this webhook.
                logger.exception("health update of %s failed; counters left as they were", row.id)
                continue
            if new_row != row:
                changed.append(new_row)
            notices += new_notices
        await self.queries.write_health(conn, changed, now)
        return notices
