"""The dispatcher's hot statements: claiming and recording, on PostgreSQL and SQLite.

Claiming a batch is one statement in autocommit on the driver's connection (asyncpg, or the
aiosqlite connection of SQLAlchemy's pool): one round trip, no BEGIN/COMMIT, no SQLAlchemy
machinery. On SQLite each SQLAlchemy statement is about four hops to aiosqlite's thread
(cursor, execute, fetch, close), each waiting for a turn of a busy event loop while the pool's
one connection is held: a claim through SQLAlchemy took 11 hops and 66 ms under load.

Recording a batch of results is one statement too on PostgreSQL (attempts inserted and outcomes
written from two JSON documents, not SQLAlchemy's per-row executemany), run in the caller's
transaction, which also updates endpoint health. On SQLite, recording is two executemany
statements in driver SQL (no SQLAlchemy per-row parameter processing, which cost more than the
statements themselves). Both keep the guarantees of the generic Store.record_attempts: claims
are taken under a lease (FOR UPDATE SKIP LOCKED on PostgreSQL); results are fenced by the claim
token, so a worker whose lease ran out never overwrites a newer claimer's outcome, and attempts
of deliveries deleted meanwhile are dropped.

The records crossing this boundary are typed (`AttemptRow`, `DeliveryUpdate`, `ClaimedDelivery`);
their conversion to the statements' parameters happens here and nowhere else. Every difference
between the backends that the delivery path must know of is here too (`DispatchTraits`,
`claim_batch`, `record_in`, `record_successes`), so delivery/ holds no dialect test.

`wake_rejected` makes a webhook's deliveries a receiver rejected with 401/403 during a secret
rotation's grace period due now (when it answers 2xx again, or the secret changes): through
the partial index ix_deliveries_signature_rejected, which no ordinary delivery write touches.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite
import asyncpg
import orjson
from sqlalchemy import Update, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.config import CLAIM_BATCH_SIZE
from promptha_webhooks.records import record
from promptha_webhooks.store.database import Backend, Database
from promptha_webhooks.store.notify import DueListener
from promptha_webhooks.store.queries import ClaimedDelivery
from promptha_webhooks.store.tables import deliveries
from promptha_webhooks.store.webhook_secrets import SecretCodec
from promptha_webhooks.webhook_secrets import SIGNATURE_REJECTED_STATUSES


@record
class AttemptRow:
    """One row of the attempt log, as the attempt stage describes it (the columns' names)."""

    id: str
    delivery_id: str
    number: int
    trigger: str
    url: str
    request_headers: str
    response_status: int | None
    response_headers: str | None
    response_body: str | None
    duration_ms: float
    error: str | None
    outcome: str
    started_at: int
    finished_at: int
    webhook_id: str | None


@record
class DeliveryUpdate:
    """A delivery's next state after an attempt (or a skip). `token`: the claim the write is
    fenced by (a worker whose lease ran out never overwrites a newer claimer's outcome); None
    for attempts made outside a claim (resends, test events, listen answers): unfenced."""

    delivery_id: str
    token: str | None
    status: str
    attempt_count: int
    next_attempt_at: int | None
    last_status_code: int | None
    last_error: str | None
    updated_at: int


@dataclass(frozen=True, slots=True)
class DispatchTraits:
    """How a worker runs on a backend."""

    # Claim loops: SQLite has one connection, so a second claim would only queue behind it.
    claim_loops: int
    # Results of ended attempts waiting for the writer, at most this many × max_in_flight. It
    # bounds memory when the database is slow, and what a killed worker leaves to be sent
    # again. SQLite's writes share the one connection with claims and take longer.
    waiting_results_factor: int
    # Deliveries per claim statement (unless configured otherwise).
    claim_batch: int
    # A batch of nothing but successes on healthy webhooks is written by one statement in
    # autocommit (record_successes); elsewhere a transaction is as cheap.
    successes_alone: bool


WAITING_RESULTS_FACTOR: dict[Backend, int] = {"postgresql": 2, "sqlite": 4}
_TRAITS: dict[Backend, DispatchTraits] = {
    "postgresql": DispatchTraits(
        2, WAITING_RESULTS_FACTOR["postgresql"], CLAIM_BATCH_SIZE["postgresql"], True
    ),
    "sqlite": DispatchTraits(
        1, WAITING_RESULTS_FACTOR["sqlite"], CLAIM_BATCH_SIZE["sqlite"], False
    ),
}


def traits(backend: Backend) -> DispatchTraits:
    return _TRAITS[backend]


def due_listener(database: Database, wake: Any) -> DueListener | None:
    """PostgreSQL: a LISTEN for deliveries made due by other processes (`wake()` on each);
    SQLite is one process and needs none."""
    return DueListener(database.url, wake) if database.backend == "postgresql" else None


async def claim_batch(
    database: Database,
    now: int,
    lease_until: int,
    token: str,
    limit: int,
    exclude_webhooks: Sequence[str] = (),
) -> list[ClaimedDelivery]:
    """`claim_due` on the backend's driver connection (planned at each execution on
    PostgreSQL)."""
    connection = (
        database.driver_connection(replan=True)
        if database.backend == "postgresql"
        else database.sqlite_driver_connection()
    )
    async with connection as driver:
        return await claim_due(
            driver, now, lease_until, token, limit, exclude_webhooks, secrets=database.secrets
        )


_CLAIM = """
WITH due AS (
    SELECT id FROM deliveries
    WHERE status = 'pending' AND next_attempt_at <= $1 AND pace_order IS NULL
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
       e.body, e.traceparent, w.url, w.secret, w.enabled, w.max_concurrency,
       w.previous_secret, w.previous_secret_expires_at, w.signature_format, w.secret_key_id,
       w.headers, w.retry_schedule, w.timeout_seconds, w.proxy_url, w.destination_type,
       w.destination_config
FROM claimed AS c
JOIN events AS e ON e.id = c.event_id
JOIN webhooks AS w ON w.id = c.webhook_id
"""

# The batch travels as two JSON documents (attempts, outcomes), orjson-encoded in C: asyncpg's
# encoding of the same rows as 22 arrays cost 12–16 µs of the worker's CPU per row, JSON 2 µs
# (bench figures in docs/performance.md); PostgreSQL unpacks them with json_to_recordset.
# Attempts of deliveries deleted meanwhile (their webhook was deleted) are dropped, not left
# without their delivery nor failing the whole batch again and again.
# LIMIT $5 (the batch's length, which no document exceeds) tells the planner how many rows
# each document holds: json_to_recordset is otherwise estimated at 100 rows, and against a
# table of a few thousand deliveries (a new database) the planner then hashed a sequential
# scan of deliveries instead of looking the batch's few rows up by key. Run on a connection
# that plans at each execution (Database.driver_connection(replan=True)).
_RECORD = """
WITH successes AS (
    SELECT s.webhook_id, s.at FROM json_to_recordset($3::json) AS s(webhook_id varchar, at bigint)
), healthy AS (
    -- Locked in id order, as HealthQueries.lock_health does (no deadlock between writers).
    SELECT w.id FROM webhooks AS w
    WHERE w.id IN (SELECT webhook_id FROM successes) AND w.kind = 'http'
      AND w.consecutive_failures = 0 AND w.failed_deliveries = 0
      AND w.failing_since IS NULL AND w.warned_level = 0 AND NOT w.alerted
    ORDER BY w.id
    FOR NO KEY UPDATE
), go AS (
    SELECT 1 WHERE (SELECT count(*) FROM healthy) = (SELECT count(*) FROM successes)
), docs AS (
    SELECT * FROM json_to_recordset($1::json) AS r(
        id varchar, delivery_id varchar, number int, trigger varchar, url text,
        request_headers text, response_status int, response_headers text, response_body text,
        duration_ms float8, error text, outcome varchar, started_at bigint,
        finished_at bigint, webhook_id varchar) LIMIT $5
), outcomes AS (
    UPDATE deliveries AS d
    SET status = u.status, attempt_count = u.attempt_count,
        next_attempt_at = u.next_attempt_at, claim_token = NULL,
        last_status_code = u.last_status_code, last_error = u.last_error,
        updated_at = u.updated_at
    FROM (SELECT * FROM json_to_recordset($2::json) AS r(
        delivery_id varchar, token varchar, status varchar, attempt_count int,
        next_attempt_at bigint, last_status_code int, last_error text, updated_at bigint)
        LIMIT $5) AS u
    WHERE d.id = u.delivery_id AND (u.token IS NULL OR d.claim_token = u.token)
      AND EXISTS (SELECT 1 FROM go)
    RETURNING d.id
), taken_over AS (
    -- Deliveries whose outcome another claimer owns now: their attempt happened and is
    -- logged too, under a key-share lock (a delete waits for this statement).
    -- (Usually none: the deliveries are looked up only for attempts not in outcomes.)
    SELECT d.id FROM deliveries AS d
    WHERE d.id IN (SELECT delivery_id FROM docs
                   WHERE delivery_id NOT IN (SELECT id FROM outcomes))
      AND EXISTS (SELECT 1 FROM go)
    FOR KEY SHARE
), new_attempts AS (
    -- Only attempts of deliveries this statement holds locked (updated or key-share locked):
    -- a delivery deleted meanwhile (its webhook deleted) loses its attempt rather than leave
    -- an attempt without a delivery; attempts have no foreign key (migration 0006).
    INSERT INTO attempts (id, delivery_id, number, trigger, url, request_headers,
                          response_status, response_headers, response_body, duration_ms,
                          error, outcome, started_at, finished_at, webhook_id)
    SELECT a.id, a.delivery_id, a.number, a.trigger, a.url, a.request_headers,
           a.response_status, a.response_headers, a.response_body, a.duration_ms,
           a.error, a.outcome, a.started_at, a.finished_at, a.webhook_id
    FROM docs AS a
    WHERE (a.delivery_id IN (SELECT id FROM outcomes)
           OR a.delivery_id IN (SELECT id FROM taken_over))
      AND EXISTS (SELECT 1 FROM go)
    -- A batch written again after its commit's answer was lost records each attempt once.
    ON CONFLICT (id) DO NOTHING
), succeeded AS (
    UPDATE webhooks AS w
    SET last_success_at = GREATEST(COALESCE(w.last_success_at, s.at), s.at), updated_at = $4
    FROM successes AS s
    WHERE w.id = s.webhook_id AND EXISTS (SELECT 1 FROM go)
)
SELECT EXISTS (SELECT 1 FROM go)
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


# SQLite: one UPDATE … RETURNING, in autocommit (a DML statement takes the write lock from its
# start, like BEGIN IMMEDIATE). RETURNING can read only the updated table, so the event's and
# webhook's columns come from scalar subqueries on their primary keys.
_SQLITE_CLAIM = """
UPDATE deliveries SET next_attempt_at = ?, claim_token = ?
WHERE id IN (
    SELECT id FROM deliveries
    WHERE status = 'pending' AND next_attempt_at <= ? AND pace_order IS NULL{exclude}
    ORDER BY next_attempt_at
    LIMIT ?
)
RETURNING id, event_id, event_type, webhook_id, attempt_count, is_test,
    (SELECT body FROM events WHERE events.id = deliveries.event_id),
    (SELECT traceparent FROM events WHERE events.id = deliveries.event_id),
    (SELECT url FROM webhooks WHERE webhooks.id = deliveries.webhook_id),
    (SELECT secret FROM webhooks WHERE webhooks.id = deliveries.webhook_id),
    (SELECT enabled FROM webhooks WHERE webhooks.id = deliveries.webhook_id),
    (SELECT max_concurrency FROM webhooks WHERE webhooks.id = deliveries.webhook_id),
    (SELECT previous_secret FROM webhooks WHERE webhooks.id = deliveries.webhook_id),
    (SELECT previous_secret_expires_at FROM webhooks WHERE webhooks.id = deliveries.webhook_id),
    (SELECT signature_format FROM webhooks WHERE webhooks.id = deliveries.webhook_id),
    (SELECT secret_key_id FROM webhooks WHERE webhooks.id = deliveries.webhook_id),
    (SELECT headers FROM webhooks WHERE webhooks.id = deliveries.webhook_id),
    (SELECT retry_schedule FROM webhooks WHERE webhooks.id = deliveries.webhook_id),
    (SELECT timeout_seconds FROM webhooks WHERE webhooks.id = deliveries.webhook_id),
    (SELECT proxy_url FROM webhooks WHERE webhooks.id = deliveries.webhook_id),
    (SELECT destination_type FROM webhooks WHERE webhooks.id = deliveries.webhook_id),
    (SELECT destination_config FROM webhooks WHERE webhooks.id = deliveries.webhook_id)
"""


async def claim_due(
    driver: asyncpg.Connection | aiosqlite.Connection,
    now: int,
    lease_until: int,
    token: str,
    limit: int,
    exclude_webhooks: Sequence[str] = (),
    *,
    secrets: SecretCodec,
) -> list[ClaimedDelivery]:
    """Take up to `limit` due deliveries under a lease, with what attempting them needs (the
    webhooks' secrets opened by `secrets`), in one statement on the backend's driver
    connection."""
    rows: Iterable[Sequence[Any]]
    if isinstance(driver, aiosqlite.Connection):
        exclude = ""
        if exclude_webhooks:
            exclude = f" AND webhook_id NOT IN ({', '.join('?' for _ in exclude_webhooks)})"
        rows = await driver.execute_fetchall(
            _SQLITE_CLAIM.format(exclude=exclude),
            (lease_until, token, now, *exclude_webhooks, limit),
        )
    else:
        rows = await driver.fetch(_CLAIM, now, lease_until, token, limit, list(exclude_webhooks))
    # Both statements return the same columns in the same order.
    return [
        ClaimedDelivery(
            id=r[0],
            event_id=r[1],
            event_type=r[2],
            webhook_id=r[3],
            attempt_count=r[4],
            is_test=bool(r[5]),
            body=r[6].encode(),
            traceparent=r[7],
            url=r[8],
            signing=secrets.signing_secrets(r[3], (r[9], r[12], r[13], r[14], r[15])),
            webhook_enabled=bool(r[10]),
            max_concurrency=r[11],
            settings=secrets.delivery_settings(r[3], (r[16], r[17], r[18], r[19], r[20], r[21])),
        )
        for r in rows
    ]


async def record_results(
    executor: AsyncConnection | asyncpg.Connection,
    attempt_rows: Sequence[AttemptRow],
    delivery_updates: Sequence[DeliveryUpdate],
    successes: dict[str, int] | None = None,
    now: int = 0,
) -> bool:
    """Insert the attempts and write the deliveries' outcomes (fenced by claim token), in one
    statement: inside a SQLAlchemy transaction, or alone in autocommit on asyncpg.

    `successes` (webhook id → time of its latest delivered attempt in the batch): the endpoint
    health of a batch of nothing but successes, in the same statement. A success on a webhook
    with no failure counted and no alert outstanding moves only its `last_success_at`; if
    every webhook of the batch is such, the statement writes everything and returns True.
    Otherwise it writes nothing and returns False: the batch needs HealthRecorder (a failure
    streak or an alert to end). Without `successes` it always writes (True)."""
    if not delivery_updates:
        return True
    # No U+0000 reaches here (delivery/transport.py replaces it): PostgreSQL text cannot hold
    # it. orjson encodes the records (slotted dataclasses) in C, by their fields' names.
    arguments = (
        orjson.dumps(attempt_rows).decode(),
        orjson.dumps(delivery_updates).decode(),
        orjson.dumps(
            [{"webhook_id": key, "at": at} for key, at in (successes or {}).items()]
        ).decode(),
        now,
        max(len(attempt_rows), len(delivery_updates)),
    )
    if isinstance(executor, AsyncConnection):
        # The transaction's statements are planned at each execution too, as on the replan
        # pool (Database.driver_connection): SQLAlchemy's connections keep the plan cache.
        await executor.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
        written = (await executor.exec_driver_sql(_RECORD, arguments)).scalar()
    else:
        written = await executor.fetchval(_RECORD, *arguments)
    return bool(written)


_SQLITE_INSERT_ATTEMPTS = f"""
INSERT INTO attempts ({", ".join(_ATTEMPT_COLUMNS)})
SELECT {", ".join("?" for _ in _ATTEMPT_COLUMNS)}
WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = ?)
"""
_SQLITE_UPDATE_DELIVERIES = """
UPDATE deliveries
SET status = ?, attempt_count = ?, next_attempt_at = ?, claim_token = NULL,
    last_status_code = ?, last_error = ?, updated_at = ?
WHERE id = ? AND (? IS NULL OR claim_token = ?)
"""


async def record_results_sqlite(
    conn: AsyncConnection,
    attempt_rows: Sequence[AttemptRow],
    delivery_updates: Sequence[DeliveryUpdate],
) -> None:
    """SQLite's record_results: the same rows and fencing, in the caller's transaction."""
    if attempt_rows:
        await conn.exec_driver_sql(
            _SQLITE_INSERT_ATTEMPTS,
            [
                (*(getattr(row, c) for c in _ATTEMPT_COLUMNS), row.delivery_id)
                for row in attempt_rows
            ],
        )
    if delivery_updates:
        await conn.exec_driver_sql(
            _SQLITE_UPDATE_DELIVERIES,
            [
                (
                    u.status,
                    u.attempt_count,
                    u.next_attempt_at,
                    u.last_status_code,
                    u.last_error,
                    u.updated_at,
                    u.delivery_id,
                    u.token,
                    u.token,
                )
                for u in delivery_updates
            ],
        )


async def record_in(
    conn: AsyncConnection,
    attempt_rows: Sequence[AttemptRow],
    delivery_updates: Sequence[DeliveryUpdate],
) -> None:
    """Insert the attempts and write the outcomes in the caller's transaction, on either
    backend: one statement on PostgreSQL (not SQLAlchemy's per-row executemany), two
    executemany statements in driver SQL on SQLite."""
    if conn.dialect.name == "postgresql":
        await record_results(conn, attempt_rows, delivery_updates)
    else:
        await record_results_sqlite(conn, attempt_rows, delivery_updates)


async def record_successes(
    database: Database,
    attempt_rows: Sequence[AttemptRow],
    delivery_updates: Sequence[DeliveryUpdate],
    successes: dict[str, int],
    now: int,
) -> bool:
    """PostgreSQL, a batch of nothing but successes (the common case): attempts, outcomes and
    the webhooks' last success in one statement in autocommit on asyncpg (one round trip
    instead of BEGIN, the health read, the statement, the health write and COMMIT through
    SQLAlchemy), provided every webhook of the batch was healthy. False: nothing was written,
    the batch needs the health recorder (always on SQLite, where a transaction is cheap)."""
    if database.backend != "postgresql":
        return False
    async with database.driver_connection(replan=True) as driver:
        return await record_results(driver, attempt_rows, delivery_updates, successes, now)


# Spelt with literals, as the condition of the partial index ix_deliveries_signature_rejected
# is (migration 0011): with bound parameters the planners could not use it.
SIGNATURE_REJECTED_CONDITION = text(
    "status = 'pending' AND last_status_code IN "
    f"({', '.join(str(code) for code in SIGNATURE_REJECTED_STATUSES)})"
)


async def wake_rejected(conn: AsyncConnection, webhook_ids: Collection[str], now: int) -> int:
    """Make these webhooks' pending deliveries whose last answer was a 401/403 (rejected
    during a rotation's grace period: the only time such a delivery stays pending) due at
    `now`, in the caller's transaction; how many. A claimed one (its attempt under way) is
    left as it is."""
    if not webhook_ids:
        return 0
    result = await conn.execute(wake_statement(webhook_ids, now))
    return int(result.rowcount)


def wake_statement(webhook_ids: Collection[str], now: int) -> Update:
    """`wake_rejected`'s statement (its plan is checked in tests)."""
    return (
        update(deliveries)
        .where(
            deliveries.c.webhook_id.in_(sorted(set(webhook_ids))),
            SIGNATURE_REJECTED_CONDITION,
            deliveries.c.claim_token.is_(None),
            # Not a listen session's delivery (never due for the workers).
            deliveries.c.next_attempt_at.is_not(None),
        )
        .values(next_attempt_at=now, updated_at=now)
    )
