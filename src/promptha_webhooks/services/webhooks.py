"""Webhooks: create, read, list, change (URL checked by the destination guard, events and
filters that fit each other) and delete."""

from __future__ import annotations

import secrets
from typing import Any

from promptha_webhooks import ids
from promptha_webhooks.destinations import validate_webhook_url
from promptha_webhooks.errors import NotFoundError, SecretUnavailableError
from promptha_webhooks.models import Page, Webhook, WebhookSecret, WebhookWithSecret
from promptha_webhooks.services.base import UseCases
from promptha_webhooks.services.validation import (
    check_cursor,
    check_filters_fit_events,
    page_limit,
    page_of,
    validate_description,
    validate_events,
    validate_filters,
    validate_max_concurrency,
    validate_secret,
)
from promptha_webhooks.store.webhooks import NewWebhook

SECRET_PREFIX = "whsec_"


def generate_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class WebhookUseCases(UseCases):
    # -- webhooks ------------------------------------------------------------------------

    async def create_webhook(
        self,
        account_id: str,
        *,
        url: str,
        events: list[str],
        secret: str | None,
        filters: dict[str, list[Any]] | None,
        description: str,
        enabled: bool = True,
        max_concurrency: int | None = None,
    ) -> WebhookWithSecret:
        await validate_webhook_url(url, self.settings.mode, self.resolve)
        event_names = validate_events(events)
        clean_filters = validate_filters(filters)
        check_filters_fit_events(clean_filters, event_names)
        secret_value = validate_secret(secret) if secret is not None else generate_secret()
        description = validate_description(description)
        cap = validate_max_concurrency(max_concurrency)
        webhook_id = ids.new_id(ids.WEBHOOK)
        async with self.db.transaction() as conn:
            new = NewWebhook(
                id=webhook_id,
                account_id=account_id,
                url=url,
                events=event_names,
                filters=clean_filters,
                secret=secret_value,
                description=description,
                enabled=enabled,
                max_concurrency=cap,
            )
            await self.store.webhooks.insert(conn, new, self._now())
            webhook = await self.store.webhooks.get(conn, account_id, webhook_id)
        assert webhook is not None
        return WebhookWithSecret.model_validate(
            webhook.model_dump(by_alias=False) | {"secret": webhook.secret}
        )

    async def get_webhook(self, account_id: str, webhook_id: str) -> Webhook:
        async with self.db.transaction() as conn:
            webhook = await self.store.webhooks.get(conn, account_id, webhook_id)
        if webhook is None:
            raise NotFoundError(f"No webhook {webhook_id}")
        return webhook

    async def get_webhook_secret(self, account_id: str, webhook_id: str) -> WebhookSecret:
        webhook = await self.get_webhook(account_id, webhook_id)
        if webhook.secret is None:  # stored, but it does not decrypt (the log says why)
            raise SecretUnavailableError()
        return WebhookSecret(webhook_id=webhook.id, secret=webhook.secret_value())

    async def list_webhooks(
        self, account_id: str, limit: int | None, cursor: str | None
    ) -> Page[Webhook]:
        size = page_limit(limit)
        async with self.db.transaction() as conn:
            rows = await self.store.webhooks.list(
                conn, account_id, size + 1, check_cursor(cursor, ids.WEBHOOK)
            )
        return page_of(rows, size)

    async def update_webhook(
        self, account_id: str, webhook_id: str, changes: dict[str, Any]
    ) -> Webhook:
        values: dict[str, Any] = {}
        if "url" in changes:
            await validate_webhook_url(changes["url"], self.settings.mode, self.resolve)
            values["url"] = changes["url"]
        if "events" in changes:
            values["events"] = validate_events(changes["events"])
        if "filters" in changes:
            values["filters"] = validate_filters(changes["filters"])
        if "secret" in changes:
            secret = changes["secret"]
            values["secret"] = generate_secret() if secret is None else validate_secret(secret)
        if "description" in changes:
            values["description"] = validate_description(changes["description"])
        if "max_concurrency" in changes:
            values["max_concurrency"] = validate_max_concurrency(changes["max_concurrency"])
        if "enabled" in changes:
            values["enabled"] = bool(changes["enabled"])
            values["disabled_reason"] = None if changes["enabled"] else "manual"
        async with self.db.transaction() as conn:
            if "events" in values or "filters" in values:
                # The two together must fit, whichever changes: new events can leave the
                # stored filters dropping every event of a type, as new filters can.
                current = await self.store.webhooks.get(conn, account_id, webhook_id)
                if current is None:
                    raise NotFoundError(f"No webhook {webhook_id}")
                check_filters_fit_events(
                    values.get("filters", current.filters),
                    values.get("events", current.events),
                    field=None if "filters" in values else "events",
                )
            if not await self.store.webhooks.update(
                conn, account_id, webhook_id, values, self._now()
            ):
                raise NotFoundError(f"No webhook {webhook_id}")
            if values.get("enabled"):
                # Enabled (again): a fresh failing streak, so it is not disabled at once.
                await self.observer.queries.reset_health(conn, webhook_id)
            webhook = await self.store.webhooks.get(conn, account_id, webhook_id)
        assert webhook is not None
        return webhook

    async def delete_webhook(self, account_id: str, webhook_id: str) -> None:
        async with self.db.transaction() as conn:
            if not await self.store.webhooks.delete(conn, account_id, webhook_id):
                raise NotFoundError(f"No webhook {webhook_id}")
