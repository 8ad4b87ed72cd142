"""Queries of an account's alert contacts (migration 0017): its alert e-mail addresses and its
own alert webhook, one row per account (no row: no contacts)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.store.tables import alert_contacts, webhooks


@dataclass(frozen=True, slots=True)
class AlertContacts:
    """Where an account's alerts go besides the operators' copy (alerts.py)."""

    account_id: str
    emails: tuple[str, ...] = ()
    webhook_id: str | None = None
    updated_at: int | None = None  # Unix ms; None: never set


class AlertContactQueries:
    async def get(self, conn: AsyncConnection, account_id: str) -> AlertContacts:
        query = select(alert_contacts).where(alert_contacts.c.account_id == account_id)
        row = (await conn.execute(query)).first()
        if row is None:
            return AlertContacts(account_id)
        return AlertContacts(
            account_id=account_id,
            emails=tuple(json.loads(row.emails)),
            webhook_id=row.webhook_id,
            updated_at=row.updated_at,
        )

    async def get_many(
        self, conn: AsyncConnection, account_ids: list[str]
    ) -> dict[str, AlertContacts]:
        """The contacts of each account given (an account without a row: no contacts)."""
        query = select(alert_contacts).where(alert_contacts.c.account_id.in_(account_ids))
        found = {
            row.account_id: AlertContacts(
                account_id=row.account_id,
                emails=tuple(json.loads(row.emails)),
                webhook_id=row.webhook_id,
                updated_at=row.updated_at,
            )
            for row in await conn.execute(query)
        }
        return {
            account_id: found.get(account_id, AlertContacts(account_id))
            for account_id in account_ids
        }

    async def put(self, conn: AsyncConnection, contacts: AlertContacts, now: int) -> AlertContacts:
        """Replace the account's contacts (the caller's transaction makes it one change)."""
        await conn.execute(
            delete(alert_contacts).where(alert_contacts.c.account_id == contacts.account_id)
        )
        await conn.execute(
            insert(alert_contacts).values(
                account_id=contacts.account_id,
                emails=json.dumps(list(contacts.emails)),
                webhook_id=contacts.webhook_id,
                updated_at=now,
            )
        )
        return AlertContacts(contacts.account_id, contacts.emails, contacts.webhook_id, now)

    async def webhook_kind(
        self, conn: AsyncConnection, account_id: str, webhook_id: str
    ) -> str | None:
        """The kind (http, listen) of the account's webhook, or None if it has no such one."""
        query = select(webhooks.c.kind).where(
            webhooks.c.id == webhook_id, webhooks.c.account_id == account_id
        )
        kind = (await conn.execute(query)).scalar_one_or_none()
        return None if kind is None else str(kind)
