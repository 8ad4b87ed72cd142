"""An account's alert contacts (alerts.py sends to them): read and replace, one transaction
per call. Reached as `services.alert_contacts`.

The alert webhook must be a webhook of the same account, HTTP or broker (its alerts are
deliveries like any other), not a `listen` session: another account's id, or one
that does not exist, is answered as not found (404), so ids of other accounts reveal nothing.
A webhook deleted after it was chosen reads back as unset (no foreign key: migration 0017)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks import models
from promptha_webhooks.clock import Clock, ms
from promptha_webhooks.errors import InvalidRequestError, NotFoundError
from promptha_webhooks.models import from_ms
from promptha_webhooks.services.validation import validate_alert_emails
from promptha_webhooks.store import Database, Store
from promptha_webhooks.store.alert_contacts import AlertContacts


@dataclass(frozen=True, slots=True)
class AlertContactsChange:
    """A replacement of an account's contacts, as the caller sent it (checked on use)."""

    emails: Sequence[object]
    webhook_id: str | None = None


class AlertContactUseCases:
    def __init__(self, database: Database, clock: Clock) -> None:
        self.db = database
        self.clock = clock
        self.store = Store(database.backend, database.secrets)
        self.queries = self.store.alert_contacts

    async def get(self, account_id: str) -> models.AlertContacts:
        async with self.db.transaction() as conn:
            await self._check_account(conn, account_id)
            contacts = await self.queries.get(conn, account_id)
            webhook_id = contacts.webhook_id
            if webhook_id and await self.queries.webhook_kind(conn, account_id, webhook_id) is None:
                contacts = AlertContacts(account_id, contacts.emails, None, contacts.updated_at)
        return _model(contacts)

    async def replace(self, account_id: str, change: AlertContactsChange) -> models.AlertContacts:
        emails = validate_alert_emails(list(change.emails))
        webhook_id = change.webhook_id
        if webhook_id is not None and not isinstance(webhook_id, str):
            raise InvalidRequestError("webhookId must be a webhook id or null", field="webhookId")
        async with self.db.transaction() as conn:
            await self._check_account(conn, account_id)
            if webhook_id is not None:
                kind = await self.queries.webhook_kind(conn, account_id, webhook_id)
                if kind is None:
                    raise NotFoundError(f"No webhook {webhook_id}", field="webhookId")
                if kind != "http":
                    raise InvalidRequestError(
                        "webhookId must be a webhook, not a listen session",
                        field="webhookId",
                    )
            contacts = await self.queries.put(
                conn, AlertContacts(account_id, emails, webhook_id), ms(self.clock.now())
            )
        return _model(contacts)

    async def _check_account(self, conn: AsyncConnection, account_id: str) -> None:
        if await self.store.accounts.get(conn, account_id) is None:
            raise NotFoundError(f"No account {account_id}", field="account")


def _model(contacts: AlertContacts) -> models.AlertContacts:
    return models.AlertContacts(
        account_id=contacts.account_id,
        emails=list(contacts.emails),
        webhook_id=contacts.webhook_id,
        updated_at=from_ms(contacts.updated_at),
    )
