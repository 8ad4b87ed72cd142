"""Statistics queries over the attempt log. Each is one aggregate statement over the
`(webhook_id, started_at)` index: latency as a fixed histogram (bucket counts with each
bucket's min and max), so percentiles need no sorting in SQL and work the same on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.store.tables import attempts, webhooks

# Upper edges (ms) of the latency histogram buckets; the last bucket is open-ended.
LATENCY_EDGES_MS: tuple[float, ...] = (
    1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750,
    1000, 1500, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000, 60000,
)  # fmt: skip
HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class HistogramCell:
    """Attempts in one latency bucket, split by window membership and success."""

    bucket: int
    in_1h: bool
    in_24h: bool
    delivered: bool
    count: int
    min_ms: float
    max_ms: float


@dataclass(frozen=True, slots=True)
class SeriesCell:
    """Attempts of one time slot in one latency bucket, delivered or not."""

    slot: int
    bucket: int
    delivered: bool
    count: int
    min_ms: float
    max_ms: float


@dataclass(frozen=True, slots=True)
class FailureCount:
    status: int | None
    category: str
    count: int


def _bucket() -> ColumnElement[int]:
    return case(
        *((attempts.c.duration_ms < edge, index) for index, edge in enumerate(LATENCY_EDGES_MS)),
        else_=len(LATENCY_EDGES_MS),
    )


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _account_webhooks(account_id: str) -> ColumnElement[bool]:
    return attempts.c.webhook_id.in_(
        select(webhooks.c.id).where(webhooks.c.account_id == account_id).scalar_subquery()
    )


class StatsQueries:
    async def webhook_histogram(
        self,
        conn: AsyncConnection,
        webhook_ids: Sequence[str] | None,
        *,
        account_id: str | None = None,
        since: int,
        since_1h: int,
        since_24h: int,
    ) -> list[HistogramCell]:
        """Latency histogram of the attempts since `since`, of these webhooks (or all the
        account's), with each cell flagged for the 1 h and 24 h windows."""
        bucket = _bucket().label("bucket")
        in_1h = _flag(attempts.c.started_at >= since_1h).label("in_1h")
        in_24h = _flag(attempts.c.started_at >= since_24h).label("in_24h")
        ok = _flag(attempts.c.outcome == "delivered").label("ok")
        query = select(
            bucket,
            in_1h,
            in_24h,
            ok,
            func.count().label("n"),
            func.min(attempts.c.duration_ms).label("lo"),
            func.max(attempts.c.duration_ms).label("hi"),
        ).where(attempts.c.started_at >= since)
        if webhook_ids is not None:
            query = query.where(attempts.c.webhook_id.in_(list(webhook_ids)))
        if account_id is not None:
            query = query.where(_account_webhooks(account_id))
        query = query.group_by(bucket, in_1h, in_24h, ok)
        return [
            HistogramCell(
                int(r.bucket), bool(r.in_1h), bool(r.in_24h), bool(r.ok), int(r.n), r.lo, r.hi
            )
            for r in await conn.execute(query)
        ]

    async def failure_reasons(
        self, conn: AsyncConnection, account_id: str, since: int
    ) -> list[FailureCount]:
        """Failed attempts of the account's webhooks since `since`, by HTTP status or error
        category (the prefix the sender writes: "timeout: …", "connection error: …")."""
        error = attempts.c.error
        category = case(
            (attempts.c.response_status.is_not(None), "http"),
            (error.like("timeout%"), "timeout"),
            (error.like("connection error%"), "connection_error"),
            (error.like("dns error%"), "dns_error"),
            (error.like("tls error%"), "tls_error"),
            (error.like("proxy error%"), "proxy_error"),
            (error.like("blocked%"), "blocked"),
            else_="other",
        ).label("category")
        query = (
            select(attempts.c.response_status, category, func.count().label("n"))
            .where(
                attempts.c.started_at >= since,
                attempts.c.outcome != "delivered",
                _account_webhooks(account_id),
            )
            .group_by(attempts.c.response_status, category)
        )
        return [
            FailureCount(r.response_status, str(r.category), int(r.n))
            for r in await conn.execute(query)
        ]

    async def hourly(
        self, conn: AsyncConnection, webhook_id: str, since: int
    ) -> list[tuple[int, int, int]]:
        """(hour number since the epoch, successful attempts, failed attempts) per hour."""
        hour = (attempts.c.started_at // HOUR_MS).label("hour")
        ok = attempts.c.outcome == "delivered"
        query = (
            select(
                hour,
                func.sum(_flag(ok)).label("delivered"),
                func.sum(_flag(~ok)).label("failed"),
            )
            .where(attempts.c.webhook_id == webhook_id, attempts.c.started_at >= since)
            .group_by(hour)
        )
        return [(int(r.hour), int(r.delivered), int(r.failed)) for r in await conn.execute(query)]

    async def series(
        self, conn: AsyncConnection, webhook_id: str, since: int, slot_ms: int
    ) -> list[SeriesCell]:
        """Latency histogram cells of the webhook's attempts since `since`, per time slot of
        `slot_ms` (slot number = started_at // slot_ms) and success."""
        slot = (attempts.c.started_at // slot_ms).label("slot")
        bucket = _bucket().label("bucket")
        ok = _flag(attempts.c.outcome == "delivered").label("ok")
        query = (
            select(
                slot,
                bucket,
                ok,
                func.count().label("n"),
                func.min(attempts.c.duration_ms).label("lo"),
                func.max(attempts.c.duration_ms).label("hi"),
            )
            .where(attempts.c.webhook_id == webhook_id, attempts.c.started_at >= since)
            .group_by(slot, bucket, ok)
        )
        return [
            SeriesCell(int(r.slot), int(r.bucket), bool(r.ok), int(r.n), r.lo, r.hi)
            for r in await conn.execute(query)
        ]
