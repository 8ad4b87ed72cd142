"""Operational alerts (`webhook.failing`, `webhook.disabled`, `webhook.recovered`,
`delivery.failed`) about a webhook reach the account that owns it:

- published as events of the account, in the transaction that recorded their cause, to every
  other enabled HTTP endpoint of the account subscribed to them, and to the account's alert
  webhook (its alert contacts, store/alert_contacts.py) whatever that one subscribes to;
- written to the service log;
- e-mailed (SMTP, when a host is configured) to the account's alert addresses, one message
  per account and batch with only that account's alerts, and, as a separate copy of the whole
  batch, to the operators' address when one is configured.

Feedback-loop guard: an alert about webhook W never goes to W itself (nor when W is the
account's alert webhook), and notices caused by the delivery of an alert event are only logged
and e-mailed (`Notice.publish` False), so a failing alert endpoint cannot feed itself alerts.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
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

# Alert e-mails waiting for the SMTP server at most; more are dropped (logged): a server that
# stalls must not grow memory without bound while failures keep raising alerts.
MAX_PENDING_EMAILS = 1000

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
    # The account's alert e-mail addresses, read with its contacts in publish_notices.
    emails: tuple[str, ...] = field(default=(), compare=False)


async def publish_notices(
    store: Store, conn: AsyncConnection, notices: Sequence[Notice], now: int
) -> list[Notice]:
    """Store each publishable notice as an event of its account with one delivery per
    subscribed endpoint and for the account's alert webhook (never the webhook the notice is
    about). Returns the notices with their event ids (log-only notices keep an empty id) and
    their account's alert e-mail addresses."""
    if not notices:
        return []
    contacts = await store.alert_contacts.get_many(
        conn, list(dict.fromkeys(n.account_id for n in notices))
    )
    by_account: dict[str, list[Notice]] = defaultdict(list)
    for notice in notices:
        if notice.publish:
            by_account[notice.account_id].append(notice)
    event_rows: list[EventRow] = []
    delivery_rows: list[DeliveryRow] = []
    event_ids: dict[int, str] = {}
    for account_id, items in by_account.items():
        targets = await store.webhooks.fanout_targets(conn, account_id)
        alert_webhook = contacts[account_id].webhook_id
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
                    and (
                        target.id == alert_webhook
                        or target.route.matches(notice.event, notice.data)
                    )
                ):
                    delivery_rows.append(_delivery_row(event_id, target, notice, now))
            event_ids[id(notice)] = event_id
    if event_rows:
        await store.events.insert(conn, event_rows)
        await store.deliveries.insert(conn, delivery_rows)
    if delivery_rows:
        await store.dialect.notify_due(conn)
    return [
        replace(
            notice,
            event_id=event_ids.get(id(notice), notice.event_id),
            emails=contacts[notice.account_id].emails,
        )
        for notice in notices
    ]


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
    """After commit: every notice to the service log, and e-mails (when an SMTP host is
    configured): one per account with alert addresses, holding only its own notices, and one
    copy of the whole batch to the operators' address. Sent in a thread of the sink's own, one
    message after another, off the event loop: the dispatcher never waits, and a failing SMTP
    server costs a warning in the log, never a delivery."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending = 0  # messages queued or being sent
        # One thread of its own: a slow or silent SMTP server holds this thread only, never
        # the loop's default executor (which resolves the delivery path's host names).
        self._executor: ThreadPoolExecutor | None = None

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
        messages = self.messages(notices)
        if not messages:
            return
        if self._pending + len(messages) > MAX_PENDING_EMAILS:
            logger.warning(
                "%d alert e-mails dropped: %d are still waiting for the SMTP server",
                len(messages),
                self._pending,
            )
            return
        self._pending += len(messages)
        task = asyncio.get_running_loop().create_task(self._mail(messages))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def messages(self, notices: Sequence[Notice]) -> list[EmailMessage]:
        """The e-mails of a batch: each account's own, then the operators' copy."""
        settings = self.settings
        by_account: dict[str, list[Notice]] = defaultdict(list)
        for notice in notices:
            if notice.emails:
                by_account[notice.account_id].append(notice)
        if not settings.smtp_host:
            if by_account:
                logger.warning(
                    "alerts of %d accounts not e-mailed: no SMTP host is configured",
                    len(by_account),
                )
            return []
        messages = [build_email(settings, items, items[0].emails) for items in by_account.values()]
        if settings.alert_email_to:
            messages.append(build_email(settings, notices))
        return messages

    async def _mail(self, messages: list[EmailMessage]) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alert-mail")
        loop = asyncio.get_running_loop()
        left = len(messages)
        try:
            for message in messages:
                try:
                    await loop.run_in_executor(self._executor, send_email, self.settings, message)
                except (OSError, smtplib.SMTPException) as exc:
                    logger.warning("could not e-mail alerts to %s: %s", message["To"], exc)
                left -= 1
                self._pending -= 1
        finally:
            self._pending -= left  # cancelled (shutdown): the rest is not waiting any more

    async def drain(self) -> None:
        """Wait for e-mails being sent (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._executor is not None:  # its idle thread goes; a later e-mail starts another
            self._executor.shutdown(wait=False)
            self._executor = None


def build_email(
    settings: Settings, notices: Sequence[Notice], to: Sequence[str] = ()
) -> EmailMessage:
    """One e-mail about `notices`, to `to` (default: the operators' address)."""
    message = EmailMessage()
    first = notices[0]
    subject = EMAIL_SUBJECTS[first.event].format_map(defaultdict(str, first.data))
    if len(notices) > 1:
        subject += f" (+{len(notices) - 1} more alerts)"
    message["Subject"] = f"[Promptha Webhooks] {subject}"
    message["From"] = settings.alert_email_from
    message["To"] = ", ".join(to or settings.alert_email_to)
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
