"""Operational alerts (`webhook.failing`, `webhook.disabled`, `webhook.recovered`,
`delivery.failed`): published as events of the account, in the transaction that recorded
their cause, to every other enabled endpoint subscribed to them; written to the service log;
and e-mailed (SMTP) to the operators' address when one is configured.

Feedback-loop guard: an alert about webhook W never goes to W itself, and notices caused by
the delivery of an alert event are only logged (`Notice.publish` False), so a failing alert
endpoint cannot feed itself alerts.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks import canonical_json, ids
from promptha_webhooks.config import SMTP_TIMEOUT_S, Settings
from promptha_webhooks.pacing import PACE_ORDER_PER_MS
from promptha_webhooks.store import Store
from promptha_webhooks.store.deliveries import DeliveryRow
from promptha_webhooks.store.events import EventRow
from promptha_webhooks.store.webhooks import FanoutTarget

logger = logging.getLogger("promptha_webhooks.alerts")

EMAIL_SUBJECTS = {
    "webhook.failing": "Webhook {webhookId} is failing ({percent}% of its disable budget used)",
    "webhook.disabled": "Webhook {webhookId} was disabled ({reason})",
    "webhook.recovered": "Webhook {webhookId} recovered",
    "delivery.failed": "Delivery {deliveryId} to webhook {webhookId} failed",
}


@dataclass(frozen=True, slots=True)
class Notice:
    """One operational event about one webhook of an account."""

    event: str
    account_id: str
    webhook_id: str
    data: dict[str, Any]
    publish: bool = True  # False: caused by an alert's own delivery, log only
    at: int = 0  # Unix ms
    event_id: str = field(default="", compare=False)


async def publish_notices(
    store: Store, conn: AsyncConnection, notices: Sequence[Notice], now: int
) -> list[Notice]:
    """Store each publishable notice as an event of its account with one delivery per
    subscribed endpoint (never the webhook the notice is about). Returns the notices with
    their event ids (log-only notices keep an empty id)."""
    by_account: dict[str, list[Notice]] = defaultdict(list)
    for notice in notices:
        if notice.publish:
            by_account[notice.account_id].append(notice)
    if not by_account:
        return list(notices)
    event_rows: list[EventRow] = []
    delivery_rows: list[DeliveryRow] = []
    published: dict[int, Notice] = {}
    for account_id, items in by_account.items():
        targets = await store.webhooks.fanout_targets(conn, account_id)
        for notice in items:
            event_id = ids.new_id(ids.EVENT, now_ms=now)
            body = canonical_json.dumps(
                {
                    "event": notice.event,
                    "data": {**notice.data, "eventId": event_id},
                    "timestamp": now // 1000,
                }
            )
            event_rows.append(
                EventRow(
                    id=event_id,
                    account_id=account_id,
                    type=notice.event,
                    body=body.decode(),
                    is_test=False,
                    created_at=now,
                )
            )
            for target in targets:
                if (
                    target.kind == "http"
                    and target.enabled
                    and target.id != notice.webhook_id
                    and target.route.matches(notice.event, notice.data)
                ):
                    delivery_rows.append(_delivery_row(event_id, target, notice, now))
            published[id(notice)] = Notice(
                notice.event,
                notice.account_id,
                notice.webhook_id,
                notice.data,
                notice.publish,
                notice.at,
                event_id,
            )
    await store.events.insert(conn, event_rows)
    await store.deliveries.insert(conn, delivery_rows)
    if delivery_rows:
        await store.dialect.notify_due(conn)
    return [published.get(id(n), n) for n in notices]


def _delivery_row(event_id: str, target: FanoutTarget, notice: Notice, now: int) -> DeliveryRow:
    return DeliveryRow(
        id=ids.new_id(ids.DELIVERY, now_ms=now),
        event_id=event_id,
        webhook_id=target.id,
        account_id=notice.account_id,
        event_type=notice.event,
        status="pending",
        next_attempt_at=now,
        claim_token=None,
        is_test=False,
        created_at=now,
        # A paced webhook takes its alerts in its order and rate too (pacing.py).
        pace_order=now * PACE_ORDER_PER_MS if target.paced else None,
    )


class AlertSink:
    """After commit: every notice to the service log, and (when configured) one e-mail per
    batch of notices to the operators, sent in a thread so the dispatcher never waits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._tasks: set[asyncio.Task[None]] = set()

    def emit(self, notices: Sequence[Notice]) -> None:
        if not notices:
            return
        for notice in notices:
            level = logging.INFO if notice.event == "webhook.recovered" else logging.WARNING
            logger.log(
                level,
                "%s webhook %s",
                notice.event,
                notice.webhook_id,
                extra={
                    "alert": notice.event,
                    "account_id": notice.account_id,
                    "webhook_id": notice.webhook_id,
                    "alert_event_id": notice.event_id or None,
                    "data": notice.data,
                },
            )
        if self.settings.alert_email_to and self.settings.smtp_host:
            task = asyncio.get_running_loop().create_task(self._mail(list(notices)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _mail(self, notices: list[Notice]) -> None:
        message = build_email(self.settings, notices)
        try:
            await asyncio.to_thread(send_email, self.settings, message)
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning("could not e-mail %d alerts: %s", len(notices), exc)

    async def drain(self) -> None:
        """Wait for e-mails being sent (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def build_email(settings: Settings, notices: Sequence[Notice]) -> EmailMessage:
    message = EmailMessage()
    first = notices[0]
    subject = EMAIL_SUBJECTS[first.event].format_map(defaultdict(str, first.data))
    if len(notices) > 1:
        subject += f" (+{len(notices) - 1} more alerts)"
    message["Subject"] = f"[Promptha Webhooks] {subject}"
    message["From"] = settings.alert_email_from
    message["To"] = ", ".join(settings.alert_email_to)
    lines: list[str] = []
    for notice in notices:
        lines.append(f"{notice.event} (account {notice.account_id})")
        lines += [f"  {key}: {value}" for key, value in notice.data.items()]
        lines.append("")
    message.set_content("\n".join(lines))
    return message


def send_email(settings: Settings, message: EmailMessage) -> None:
    """Blocking SMTP send (stdlib smtplib); run it in a thread."""
    assert settings.smtp_host is not None
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)
