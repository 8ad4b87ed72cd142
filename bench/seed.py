"""Seeding with SQL, much faster than the API, for the backlogs too large to publish in a
benchmark's time (backlog, isolation): an account, webhooks, and a backlog of due deliveries
(events fanned out round-robin over the webhooks), on either backend. The dispatch benchmark
publishes its backlog through the API instead (bench/api.py).

Ids are unique fixed-width strings ('dlv_' + 26 digits); bodies have the exact shape the
service writes for a small "credits.low" event or the typical "fabric.completed" one. Delivery
i belongs to event i // W and webhook i % W, and is due at an increasing time in the past, so
claims take them in that order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench import events
from bench.common import ENCRYPTION_KEYS
from bench.database import ScratchDatabase
from promptha_webhooks.secret_box import KeyRing
from promptha_webhooks.store.webhook_secrets import SecretCodec

ACCOUNT_ID = "acct_" + "0" * 25 + "1"
EVENT_TYPE = "credits.low"
PAYLOAD = {"remaining": 1, "threshold": 2, "userId": "u"}
SECRET = "whsec_bench_0123456789abcdefghijklmnopqrstuvwxyz"
ID_DIGITS = 26


def event_id(i: int) -> str:
    return f"evt_{i:0{ID_DIGITS}d}"


def webhook_id(i: int) -> str:
    return f"wh_{i:0{ID_DIGITS}d}"


def event_body(event: str, timestamp: int) -> str:
    """The canonical body the service stores and sends for PAYLOAD."""
    return (
        '{"event":"credits.low","data":{"remaining":1,"threshold":2,"userId":"u",'
        f'"eventId":"{event}"}},"timestamp":{timestamp}}}'
    )


def sample_body() -> bytes:
    return event_body(event_id(0), int(time.time())).encode()


def _now_ms() -> int:
    return int(time.time() * 1000)


async def seed_account(db: ScratchDatabase) -> str:
    now = _now_ms()
    if db.backend == "postgresql":
        await db.pg.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES ($1, 'bench', $2)", ACCOUNT_ID, now
        )
    else:
        await db.sqlite_script(
            [
                (
                    "INSERT INTO accounts (id, name, created_at) VALUES (?, 'bench', ?)",
                    (ACCOUNT_ID, now),
                )
            ]
        )
    return ACCOUNT_ID


@dataclass(frozen=True)
class Bodies:
    """The events a backlog is made of: their type and the body around each event's id."""

    event_type: str
    head: str  # the body up to the eventId's value
    tail: str  # after it, with `{timestamp}` to fill


SMALL = Bodies(
    EVENT_TYPE,
    '{"event":"credits.low","data":{"remaining":1,"threshold":2,"userId":"u","eventId":"',
    '"},"timestamp":{timestamp}}',
)
_TYPICAL_ID = "evt_" + "0" * ID_DIGITS
_TYPICAL = events.delivered_body(_TYPICAL_ID, 0).decode()
# The typical 1.3 KB fabric.completed of bench/events.py.
TYPICAL = Bodies(
    events.EVENT_TYPE,
    _TYPICAL[: _TYPICAL.index(_TYPICAL_ID)],
    '"},"timestamp":{timestamp}}',
)


async def seed_webhooks(
    db: ScratchDatabase, urls: list[str], event_type: str = EVENT_TYPE
) -> list[str]:
    """One enabled webhook per URL, subscribed to `event_type` (credits.low), no filters."""
    now = _now_ms()
    ids = [webhook_id(i) for i in range(len(urls))]
    codec = SecretCodec(KeyRing.parse(ENCRYPTION_KEYS))  # sealed as the service seals them
    sealed = {wid: codec.secret_columns(wid, SECRET, None, None) for wid in ids}
    rows = [
        (
            wid,
            ACCOUNT_ID,
            url,
            f'["{event_type}"]',
            sealed[wid]["secret"],
            sealed[wid]["secret_key_id"],
            now,
            now,
        )
        for wid, url in zip(ids, urls, strict=True)
    ]
    columns = (
        "id, account_id, url, events, secret, secret_key_id, description, enabled, created_at, "
        "updated_at"
    )
    if db.backend == "postgresql":
        await db.pg.executemany(
            f"INSERT INTO webhooks ({columns}) VALUES ($1, $2, $3, $4, $5, $6, '', true, $7, $8)",
            rows,
        )
    else:
        sql = f"INSERT INTO webhooks ({columns}) VALUES (?, ?, ?, ?, ?, ?, '', 1, ?, ?)"
        await db.sqlite_script([(sql, row) for row in rows])
    return ids


_PG_EVENTS = """
INSERT INTO events (id, account_id, type, body, is_test, created_at)
SELECT 'evt_' || lpad(i::text, 26, '0'), $1, $2,
       $3 || 'evt_' || lpad(i::text, 26, '0') || $4,
       false, $5
FROM generate_series(0, $6 - 1) AS i
"""

_PG_DELIVERIES = """
INSERT INTO deliveries (id, event_id, webhook_id, account_id, event_type, status, attempt_count,
                        next_attempt_at, is_test, created_at, updated_at)
SELECT 'dlv_' || lpad(i::text, 26, '0'), 'evt_' || lpad((i / $1)::text, 26, '0'),
       ($2::text[])[i % $1 + 1], $3, $7, 'pending', 0, $4::bigint + i, false, $5, $5
FROM generate_series(0, $6 - 1) AS i
"""

_SQLITE_EVENTS = """
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?)
INSERT INTO events (id, account_id, type, body, is_test, created_at)
SELECT printf('evt_%026d', i), ?, ?, ? || printf('evt_%026d', i) || ?, 0, ?
FROM s
"""

_SQLITE_DELIVERIES = """
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?)
INSERT INTO deliveries (id, event_id, webhook_id, account_id, event_type, status, attempt_count,
                        next_attempt_at, is_test, created_at, updated_at)
SELECT printf('dlv_%026d', i), printf('evt_%026d', i / ?), w.id, ?, ?, 'pending', 0,
       ? + i, 0, ?, ?
FROM s JOIN bench_webhooks AS w ON w.idx = s.i % ?
"""


async def seed_deliveries(
    db: ScratchDatabase, webhook_ids: list[str], count: int, bodies: Bodies = SMALL
) -> None:
    """`count` due deliveries over the webhooks, from ceil(count / W) events."""
    width = len(webhook_ids)
    event_count = -(-count // width)
    now = _now_ms()
    timestamp = now // 1000
    first_due = now - 2 * count - 60_000  # all in the past, one millisecond apart
    kind, head = bodies.event_type, bodies.head
    tail = bodies.tail.replace("{timestamp}", str(timestamp))
    if db.backend == "postgresql":
        async with db.pg.transaction():
            await db.pg.execute(_PG_EVENTS, ACCOUNT_ID, kind, head, tail, now, event_count)
            await db.pg.execute(
                _PG_DELIVERIES, width, webhook_ids, ACCOUNT_ID, first_due, now, count, kind
            )
        await db.pg.execute("ANALYZE")
        return
    await db.sqlite_script(
        [
            (
                "CREATE TEMP TABLE IF NOT EXISTS bench_webhooks (idx INTEGER PRIMARY KEY, id TEXT)",
                (),
            ),
            ("DELETE FROM bench_webhooks", ()),
            *[
                ("INSERT INTO bench_webhooks (idx, id) VALUES (?, ?)", (i, wid))
                for i, wid in enumerate(webhook_ids)
            ],
            (_SQLITE_EVENTS, (event_count, ACCOUNT_ID, kind, head, tail, now)),
            (_SQLITE_DELIVERIES, (count, width, ACCOUNT_ID, kind, first_due, now, now, width)),
        ]
    )
    await db.sqlite("ANALYZE")


async def seed_backlog(
    db: ScratchDatabase, urls: list[str], count: int, bodies: Bodies = SMALL
) -> list[str]:
    """The account, one webhook per URL and `count` due deliveries over them, each event fanned
    out to every webhook; the webhook ids."""
    await seed_account(db)
    webhook_ids = await seed_webhooks(db, urls, bodies.event_type)
    await seed_deliveries(db, webhook_ids, count, bodies)
    return webhook_ids
