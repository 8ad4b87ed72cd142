"""Queries of endpoint health: read and lock the counters of the webhooks in a result batch,
write them back in one statement, and what the readiness probe and /metrics ask."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.store.backends import Dialect
from promptha_webhooks.store.tables import deliveries, webhooks

HEALTH_COLUMNS = (
    "enabled",
    "disabled_reason",
    "consecutive_failures",
    "failed_deliveries",
    "failing_since",
    "last_success_at",
    "last_failure_at",
    "last_failure_reason",
    "warned_level",
    "alerted",
    "disabled_at",
)


@dataclass(frozen=True, slots=True)
class HealthRow:
    """A webhook's health counters as stored (times in Unix ms)."""

    id: str
    account_id: str
    url: str
    kind: str
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    failed_deliveries: int
    failing_since: int | None
    last_success_at: int | None
    last_failure_at: int | None
    last_failure_reason: str | None
    warned_level: int
    alerted: bool
    disabled_at: int | None


class HealthQueries:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    async def lock_health(
        self, conn: AsyncConnection, webhook_ids: Sequence[str]
    ) -> dict[str, HealthRow]:
        """Read (and on PostgreSQL lock, in id order) the counters of these webhooks.

        FOR NO KEY UPDATE: it does not conflict with the key-share locks that inserting
        deliveries takes on their webhook, so publishing never waits for it.
        """
        if not webhook_ids:
            return {}
        query = (
            select(
                webhooks.c.id,
                webhooks.c.account_id,
                webhooks.c.url,
                webhooks.c.kind,
                *(webhooks.c[name] for name in HEALTH_COLUMNS),
            )
            .where(webhooks.c.id.in_(sorted(set(webhook_ids))))
            .order_by(webhooks.c.id)
        )
        query = self.dialect.for_no_key_update(query)
        rows = await conn.execute(query)
        return {row.id: HealthRow(**row._asdict()) for row in rows}

    async def write_health(
        self, conn: AsyncConnection, rows: Sequence[HealthRow], now: int
    ) -> None:
        """Write the counters of several webhooks in one (executemany) statement."""
        if not rows:
            return
        values: dict[str, Any] = {name: bindparam(f"h_{name}") for name in HEALTH_COLUMNS}
        statement = (
            update(webhooks)
            .where(webhooks.c.id == bindparam("h_id"))
            .values(**values, updated_at=now)
        )
        params = [
            {"h_id": row.id} | {f"h_{name}": getattr(row, name) for name in HEALTH_COLUMNS}
            for row in rows
        ]
        await conn.execute(statement, params)

    async def reset_health(self, conn: AsyncConnection, webhook_id: str) -> None:
        """A webhook enabled again starts a fresh failing streak (keeps `alerted`, so its
        next success still sends "recovered")."""
        await conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id)
            .values(
                consecutive_failures=0,
                failed_deliveries=0,
                failing_since=None,
                warned_level=0,
                disabled_at=None,
            )
        )

    # -- probes and gauges ---------------------------------------------------------------

    async def ping(self, conn: AsyncConnection) -> None:
        await conn.execute(text("SELECT 1"))

    async def schema_version(self, conn: AsyncConnection) -> str | None:
        row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
        return str(row.version_num) if row else None

    async def queue_gauges(self, conn: AsyncConnection, now: int) -> tuple[int, int | None]:
        """(pending deliveries due now, next_attempt_at of the oldest due one)."""
        query = select(func.count(), func.min(deliveries.c.next_attempt_at)).where(
            deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now
        )
        count, oldest = (await conn.execute(query)).one()
        return int(count), int(oldest) if oldest is not None else None

    async def disabled_webhooks(
        self, conn: AsyncConnection, account_id: str | None = None
    ) -> dict[str, int]:
        """Disabled webhooks by reason (manual, auto_disabled, gone, receiver_disabled)."""
        query = (
            select(webhooks.c.disabled_reason, func.count())
            .where(webhooks.c.enabled.is_(False))
            .group_by(webhooks.c.disabled_reason)
        )
        if account_id is not None:
            query = query.where(webhooks.c.account_id == account_id)
        return {str(reason or "unknown"): int(n) for reason, n in await conn.execute(query)}
