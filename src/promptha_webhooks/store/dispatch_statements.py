"""The dispatcher's hot statements: claiming and recording on PostgreSQL, recording on SQLite.

Claiming a batch is one statement in autocommit on an asyncpg connection: one round trip, no
BEGIN/COMMIT, no SQLAlchemy machinery. Recording a batch of results is one statement too
(attempts inserted and outcomes written from arrays with unnest, not SQLAlchemy's per-row
executemany), run in the caller's transaction, which also updates endpoint health. They keep
the guarantees of the generic versions in queries.py (which SQLite uses): claims are taken with
FOR UPDATE SKIP LOCKED under a lease; results are fenced by the claim token, so a worker whose
lease ran out never overwrites a newer claimer's outcome.

On SQLite, recording is two executemany statements in driver SQL (no SQLAlchemy per-row
parameter processing, which cost more than the statements themselves).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.store.queries import ClaimedDelivery

_CLAIM = """
WITH due AS (
    SELECT id FROM deliveries
    WHERE status = 'pending' AND next_attempt_at <= $1
      AND webhook_id <> ALL($5::varchar[])
    ORDER BY next_attempt_at
    LIMIT $4
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE deliveries AS d
    SET next_attempt_at = $2, claim_token = $3
    FROM due WHERE d.id = due.id
    RETURNING d.id, d.event_id, d.event_type, d.webhook_id, d.attempt_count, d.is_test
)
SELECT c.id, c.event_id, c.event_type, c.webhook_id, c.attempt_count, c.is_test,
       e.body, e.traceparent, w.url, w.secret, w.enabled
FROM claimed AS c
JOIN events AS e ON e.id = c.event_id
JOIN webhooks AS w ON w.id = c.webhook_id
"""

# Attempts of deliveries deleted meanwhile (their webhook was deleted) are dropped: their
# foreign key would otherwise fail the whole batch, again and again.
_RECORD = """
WITH new_attempts AS (
    INSERT INTO attempts (id, delivery_id, number, trigger, url, request_headers,
                          response_status, response_headers, response_body, duration_ms,
                          error, outcome, started_at, finished_at, webhook_id)
    SELECT a.* FROM unnest(
        $1::varchar[], $2::varchar[], $3::int[], $4::varchar[], $5::text[], $6::text[],
        $7::int[], $8::text[], $9::text[], $10::float8[], $11::text[], $12::varchar[],
        $13::bigint[], $14::bigint[], $15::varchar[]
    ) AS a(id, delivery_id, number, trigger, url, request_headers, response_status,
           response_headers, response_body, duration_ms, error, outcome, started_at,
           finished_at, webhook_id)
    WHERE EXISTS (SELECT 1 FROM deliveries AS d WHERE d.id = a.delivery_id)
)
UPDATE deliveries AS d
SET status = u.status, attempt_count = u.count, next_attempt_at = u.next_at,
    claim_token = NULL, last_status_code = u.code, last_error = u.error, updated_at = $23
FROM unnest(
    $16::varchar[], $17::varchar[], $18::varchar[], $19::int[], $20::bigint[], $21::int[],
    $22::text[]
) AS u(id, token, status, count, next_at, code, error)
WHERE d.id = u.id AND d.claim_token = u.token
"""

_ATTEMPT_COLUMNS = (
    "id",
    "delivery_id",
    "number",
    "trigger",
    "url",
    "request_headers",
    "response_status",
    "response_headers",
    "response_body",
    "duration_ms",
    "error",
    "outcome",
    "started_at",
    "finished_at",
    "webhook_id",
)
_UPDATE_COLUMNS = ("b_id", "b_token", "b_status", "b_count", "b_next", "b_code", "b_error")


async def claim_due(
    driver: asyncpg.Connection,
    now: int,
    lease_until: int,
    token: str,
    limit: int,
    exclude_webhooks: Sequence[str] = (),
) -> list[ClaimedDelivery]:
    rows = await driver.fetch(_CLAIM, now, lease_until, token, limit, list(exclude_webhooks))
    return [
        ClaimedDelivery(
            id=r["id"],
            event_id=r["event_id"],
            event_type=r["event_type"],
            webhook_id=r["webhook_id"],
            attempt_count=r["attempt_count"],
            is_test=r["is_test"],
            body=r["body"].encode(),
            url=r["url"],
            secret=r["secret"],
            webhook_enabled=r["enabled"],
            traceparent=r["traceparent"],
        )
        for r in rows
    ]


async def record_results(
    conn: AsyncConnection,
    attempt_rows: list[dict[str, Any]],
    delivery_updates: list[dict[str, Any]],
) -> None:
    """Insert the attempts and write the deliveries' outcomes (fenced by claim token)."""
    if not delivery_updates:
        return
    arguments: list[Any] = [[row.get(c) for row in attempt_rows] for c in _ATTEMPT_COLUMNS]
    arguments += [[u[c] for u in delivery_updates] for c in _UPDATE_COLUMNS]
    arguments.append(delivery_updates[0]["b_now"])
    await conn.exec_driver_sql(_RECORD, tuple(arguments))


_SQLITE_INSERT_ATTEMPTS = f"""
INSERT INTO attempts ({", ".join(_ATTEMPT_COLUMNS)})
SELECT {", ".join("?" for _ in _ATTEMPT_COLUMNS)}
WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = ?)
"""
_SQLITE_UPDATE_DELIVERIES = """
UPDATE deliveries
SET status = ?, attempt_count = ?, next_attempt_at = ?, claim_token = NULL,
    last_status_code = ?, last_error = ?, updated_at = ?
WHERE id = ? AND claim_token = ?
"""


async def record_results_sqlite(
    conn: AsyncConnection,
    attempt_rows: list[dict[str, Any]],
    delivery_updates: list[dict[str, Any]],
) -> None:
    """SQLite's record_results: the same rows and fencing, in the caller's transaction."""
    if attempt_rows:
        await conn.exec_driver_sql(
            _SQLITE_INSERT_ATTEMPTS,
            [(*(row.get(c) for c in _ATTEMPT_COLUMNS), row["delivery_id"]) for row in attempt_rows],
        )
    if delivery_updates:
        await conn.exec_driver_sql(
            _SQLITE_UPDATE_DELIVERIES,
            [
                (
                    u["b_status"],
                    u["b_count"],
                    u["b_next"],
                    u["b_code"],
                    u["b_error"],
                    u["b_now"],
                    u["b_id"],
                    u["b_token"],
                )
                for u in delivery_updates
            ],
        )
