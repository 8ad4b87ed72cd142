"""Webhooks: create, read, list, change (URL checked by the destination guard, events and
filters that fit each other), rotate their secret with a grace period, and delete.

Every change of a webhook's secret (rotate, complete, PATCH) also makes the deliveries its
receiver rejected with 401/403 during a grace period due now (docs/design.md, "Secret
rotation"): the secret they will be signed with changed."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks import ids
from promptha_webhooks.destinations import validate_webhook_url
from promptha_webhooks.errors import InvalidRequestError, NotFoundError, SecretUnavailableError
from promptha_webhooks.models import (
    Page,
    SecretRotation,
    Webhook,
    WebhookSecret,
    WebhookWithSecret,
    from_ms,
)
from promptha_webhooks.services.base import UseCases
from promptha_webhooks.services.validation import (
    check_cursor,
    check_filters_fit_events,
    page_limit,
    page_of,
    validate_description,
    validate_events,
    validate_filters,
    validate_grace_period,
    validate_max_concurrency,
    validate_secret,
)
from promptha_webhooks.store import dispatch_statements
from promptha_webhooks.store.webhooks import NewWebhook
from promptha_webhooks.webhook_secrets import UnreadableSecrets

SECRET_PREFIX = "whsec_"


def generate_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


# A rotation keeps the current secret signing: impossible when it does not decrypt.
ROTATE_UNREADABLE = (
    "The webhook's signing secret does not decrypt with this server's encryption keys, so it "
    "cannot keep signing during a rotation: restore the key (the server's log names it), or "
    'replace the secret at once with PATCH {"secret": null}'
)


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
            if "secret" in values:
                await self._wake_rejected(conn, webhook_id)
            if values.get("enabled"):
                # Enabled (again): a fresh failing streak, so it is not disabled at once.
                await self.observer.queries.reset_health(conn, webhook_id)
            webhook = await self.store.webhooks.get(conn, account_id, webhook_id)
        assert webhook is not None
        return webhook

    async def rotate_webhook_secret(
        self,
        account_id: str,
        webhook_id: str,
        *,
        secret: str | None = None,
        grace_period_s: int | None = None,
    ) -> SecretRotation:
        """Make `secret` (generated when None) the webhook's signing secret. The secret it
        replaces keeps signing beside it for `grace_period_s` (default 24 h, at most 7 days,
        0: not at all); a previous secret still in its grace period is dropped. During the
        grace period a 401/403 is retried, not final (webhook_secrets.py)."""
        new_secret = generate_secret() if secret is None else validate_secret(secret)
        grace_s = validate_grace_period(grace_period_s)
        now = self._now()
        async with self.db.transaction() as conn:
            current = await self.store.webhooks.locked_signing(conn, account_id, webhook_id)
            if current is None:
                raise NotFoundError(f"No webhook {webhook_id}")
            if isinstance(current, UnreadableSecrets):
                raise SecretUnavailableError(ROTATE_UNREADABLE)
            if new_secret == current.current:
                raise InvalidRequestError(
                    "secret is the webhook's current secret: give a new one, or none to have "
                    "one generated",
                    field="secret",
                )
            rotated = current.rotated(new_secret, now, grace_s)
            await self.store.webhooks.set_signing(conn, account_id, webhook_id, rotated, now)
            await self._wake_rejected(conn, webhook_id)
        return SecretRotation(
            webhook_id=webhook_id,
            secret=new_secret,
            previous_secret_expires_at=from_ms(rotated.previous_expires_at),
        )

    async def complete_secret_rotation(self, account_id: str, webhook_id: str) -> Webhook:
        """End the webhook's grace period now: the previous secret stops signing, and the
        deliveries its receiver rejected meanwhile are due now (then they follow the normal
        rules: a 401/403 fails). Without a grace period running it changes nothing."""
        now = self._now()
        async with self.db.transaction() as conn:
            current = await self.store.webhooks.locked_signing(conn, account_id, webhook_id)
            if current is None:
                raise NotFoundError(f"No webhook {webhook_id}")
            if isinstance(current, UnreadableSecrets):
                raise SecretUnavailableError(ROTATE_UNREADABLE)
            if current.previous is not None:
                await self.store.webhooks.set_signing(
                    conn, account_id, webhook_id, current.completed(), now
                )
                await self._wake_rejected(conn, webhook_id)
            webhook = await self.store.webhooks.get(conn, account_id, webhook_id)
        assert webhook is not None
        return webhook

    async def _wake_rejected(self, conn: AsyncConnection, webhook_id: str) -> None:
        """The webhook's secret changed: what its receiver rejected with 401/403 during a
        grace period is due now (other processes' workers told on commit)."""
        if await dispatch_statements.wake_rejected(conn, [webhook_id], self._now()):
            await self.db.dialect.notify_due(conn)

    async def delete_webhook(self, account_id: str, webhook_id: str) -> None:
        async with self.db.transaction() as conn:
            if not await self.store.webhooks.delete(conn, account_id, webhook_id):
                raise NotFoundError(f"No webhook {webhook_id}")
