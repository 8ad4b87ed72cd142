"""Recovery: re-queue a webhook's failed or skipped deliveries in a time window (with a dry run
that only counts them), and list the events an account never received.

Reached as `services.recovery`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from promptha_webhooks import ids
from promptha_webhooks.clock import Clock, ms
from promptha_webhooks.errors import ConflictError, InvalidRequestError, NotFoundError
from promptha_webhooks.models import Event, Page, RecoveryResult
from promptha_webhooks.store import Database, Store

DEFAULT_EVENTS_WINDOW_S = 24 * 3600
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class Recovery:
    def __init__(
        self, database: Database, clock: Clock, *, on_requeue: Callable[[], None] | None = None
    ) -> None:
        self.db = database
        self.clock = clock
        self.store = Store(database.backend)
        self.queries = self.store.recovery
        self.on_requeue = on_requeue

    async def recover(
        self,
        account_id: str,
        webhook_id: str,
        *,
        since: datetime,
        until: datetime | None = None,
        dry_run: bool = False,
    ) -> RecoveryResult:
        """Re-queue every failed or skipped (non-test) delivery of the webhook created in
        [since, until): due now, with a fresh retry schedule. A dry run only counts them."""
        start = ms(since.timestamp())
        end = ms(until.timestamp()) if until is not None else None
        if end is not None and end <= start:
            raise InvalidRequestError("until must be after since", field="until")
        now = ms(self.clock.now())
        if start > now:
            raise InvalidRequestError("since is in the future", field="since")
        async with self.db.transaction() as conn:
            webhook = await self.store.webhooks.get(conn, account_id, webhook_id)
            if webhook is None:
                raise NotFoundError(f"No webhook {webhook_id}")
            if dry_run:
                count = await self.queries.count_recoverable(conn, webhook_id, start, end)
            else:
                if not webhook.enabled:
                    raise ConflictError(
                        f"webhook {webhook_id} is disabled ({webhook.disabled_reason}): "
                        'enable it first (PATCH {"enabled": true}), then recover'
                    )
                count = await self.queries.requeue(conn, webhook_id, start, end, now)
                if count:
                    await self.db.dialect.notify_due(conn)
        if count and not dry_run and self.on_requeue is not None:
            self.on_requeue()
        return RecoveryResult(
            webhook_id=webhook_id, since=since, until=until, dry_run=dry_run, count=count
        )

    async def list_events(
        self,
        account_id: str,
        *,
        since: datetime | None,
        undelivered: bool,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Event]:
        """The account's events since `since` (default: the last 24 h), newest first; with
        `undelivered`, only those some endpoint never received (a delivery failed or
        skipped)."""
        size = DEFAULT_PAGE_SIZE if limit is None else limit
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidRequestError(f"limit must be 1-{MAX_PAGE_SIZE}", field="limit")
        if cursor is not None and not ids.has_prefix(cursor, ids.EVENT):
            raise InvalidRequestError("cursor is not a cursor this list returned", field="cursor")
        start = (
            ms(since.timestamp())
            if since is not None
            else ms(self.clock.now() - DEFAULT_EVENTS_WINDOW_S)
        )
        async with self.db.transaction() as conn:
            rows = await self.queries.list_events(
                conn,
                account_id,
                since=start,
                undelivered=undelivered,
                limit=size + 1,
                before=cursor,
            )
        has_more = len(rows) > size
        rows = rows[:size]
        return Page(data=rows, has_more=has_more, next_cursor=rows[-1].id if has_more else None)
