"""PostgreSQL's publish in one statement, on the asyncpg connection itself.

One round trip per publish (or per batch of up to 1,000 events): no BEGIN, no COMMIT, no
SQLAlchemy statement machinery. A single statement is atomic, its data-modifying CTEs see the
same snapshot, and the NOTIFY it sends is delivered when it commits. It stores nothing unless:
- the account's `webhooks_version` is the one the caller's fan-out was computed from (a
  trigger bumps it whenever a webhook is created, deleted, enabled/disabled or re-targeted);
- every idempotency key is new. A key that exists makes the statement store nothing (all
  keys in conflict) or fail on the key's foreign key to its missing event (some in conflict);
  either way the caller takes the transactional path, which replays or answers 409.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
import orjson

from promptha_webhooks.models import HEALTH_DISABLE_REASONS
from promptha_webhooks.pacing import is_paced
from promptha_webhooks.routing import RouteTable, route_of
from promptha_webhooks.store.backends.postgresql import CHANNEL
from promptha_webhooks.store.deliveries import DeliveryRow, delivery_binds
from promptha_webhooks.store.events import EventRow, IdempotencyKeyRow, event_binds, key_binds
from promptha_webhooks.store.webhook_secrets import SecretCodec
from promptha_webhooks.store.webhooks import FanoutTarget, HandOffEndpoint


@dataclass(frozen=True, slots=True)
class FanoutSnapshot:
    """The account's enabled webhooks as of `version`, indexed for routing (built once per
    load, then cached by the publisher)."""

    version: int
    table: RouteTable[FanoutTarget]


@dataclass(slots=True)
class PublishRows:
    """Rows to insert: by this statement (as the JSON objects json_to_recordset reads, which
    ignores the keys it does not name) or by the Core inserts (store/events.py,
    deliveries.py)."""

    events: list[EventRow] = field(default_factory=list)
    deliveries: list[DeliveryRow] = field(default_factory=list)
    keys: list[IdempotencyKeyRow] = field(default_factory=list)
    # The concurrency cap of each webhook the deliveries go to (None: the worker's default),
    # for the hand-off's reservations (delivery/handoff.py); not stored.
    caps: dict[str, int | None] = field(default_factory=dict)

    def extend(self, other: PublishRows) -> None:
        self.events += other.events
        self.deliveries += other.deliveries
        self.keys += other.keys
        self.caps |= other.caps


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    stored: bool
    version: int | None  # the account's current version; None: no such account
    conflict: bool = False  # an idempotency key exists
    # url and secrets of the webhooks asked for (handed over deliveries'), when stored
    endpoints: dict[str, HandOffEndpoint] = field(default_factory=dict)


# The same webhooks as Store.fanout_targets: enabled ones, and those disabled by their health
# (their deliveries are stored as skipped, for recovery).
_LOAD_FANOUT = """
SELECT a.webhooks_version, w.id, w.events, w.filters, w.kind, w.enabled, w.max_concurrency,
       w.rate_limit, w.ordering
FROM accounts AS a
LEFT JOIN webhooks AS w
  ON w.account_id = a.id AND (w.enabled OR w.disabled_reason = ANY($2::varchar[]))
WHERE a.id = $1
"""

# The rows travel as three JSON documents (orjson-encoded in C, unpacked by json_to_recordset,
# which reads the columns it names and ignores the rest of each row's keys): asyncpg's encoding
# of the same rows as 13 arrays cost about 45 µs more of the API's CPU per publish. Every row
# carries its own created_at: one statement may hold several requests' events.
_PUBLISH = f"""
WITH account AS (
    SELECT webhooks_version FROM accounts WHERE id = $1
), current AS (
    SELECT 1 FROM account WHERE webhooks_version = $2
), new_keys AS (
    INSERT INTO idempotency_keys (account_id, key, event_id, request_hash, created_at)
    SELECT $1, k.key, k.event_id, k.request_hash, k.created_at
    FROM json_to_recordset($3::json)
         AS k(key varchar, event_id varchar, request_hash varchar, created_at bigint)
    WHERE EXISTS (SELECT 1 FROM current)
    ON CONFLICT DO NOTHING
    RETURNING 1
), go AS (
    SELECT 1 FROM current WHERE (SELECT count(*) FROM new_keys) = json_array_length($3::json)
), new_events AS (
    INSERT INTO events (id, account_id, type, body, is_test, created_at, traceparent,
                        deliver_at)
    SELECT e.id, $1, e.type, e.body, false, e.created_at, e.traceparent, e.deliver_at
    FROM json_to_recordset($4::json)
         AS e(id varchar, type varchar, body text, created_at bigint, traceparent varchar,
              deliver_at bigint)
    WHERE EXISTS (SELECT 1 FROM go)
    RETURNING 1
), new_deliveries AS (
    INSERT INTO deliveries (id, event_id, webhook_id, account_id, event_type, status,
                            attempt_count, next_attempt_at, claim_token, is_test, created_at,
                            updated_at, pace_order)
    SELECT d.id, d.event_id, d.webhook_id, $1, d.event_type, d.status, 0, d.next_attempt_at,
           d.claim_token, false, d.created_at, d.created_at, d.pace_order
    FROM json_to_recordset($5::json)
         AS d(id varchar, event_id varchar, webhook_id varchar, event_type varchar,
              status varchar, next_attempt_at bigint, claim_token varchar, created_at bigint,
              pace_order bigint)
    WHERE EXISTS (SELECT 1 FROM go)
    RETURNING claim_token
)
SELECT (SELECT webhooks_version FROM account) AS version,
       EXISTS (SELECT 1 FROM go) AS stored,
       (SELECT count(*) FROM new_keys) AS keys,
       (SELECT count(*) FROM new_events) AS events,
       CASE WHEN EXISTS (SELECT 1 FROM new_deliveries WHERE claim_token IS NULL)
            THEN pg_notify('{CHANNEL}', '') END AS notified,
       (SELECT json_agg(json_build_array(w.id, w.url, w.secret, w.previous_secret,
                                         w.previous_secret_expires_at, w.signature_format,
                                         w.secret_key_id, w.headers, w.retry_schedule,
                                         w.timeout_seconds, w.proxy_url, w.destination_type,
                                         w.destination_config))
        FROM webhooks AS w
        WHERE w.id = ANY($6::varchar[]) AND EXISTS (SELECT 1 FROM go)) AS endpoints
"""


def fanout_table(targets: list[FanoutTarget]) -> RouteTable[FanoutTarget]:
    """The targets indexed by event type and filter anchors (routing.RouteTable)."""
    return RouteTable([(target, target.route) for target in targets])


async def load_fanout(driver: asyncpg.Connection, account_id: str) -> FanoutSnapshot | None:
    """The account's enabled webhooks and their version; None if there is no such account."""
    rows = await driver.fetch(_LOAD_FANOUT, account_id, list(HEALTH_DISABLE_REASONS))
    if not rows:
        return None
    targets = [
        FanoutTarget(
            row["id"],
            route_of(row["events"], row["filters"]),
            row["kind"],
            bool(row["enabled"]),
            row["max_concurrency"],
            row["kind"] == "http" and is_paced(row["rate_limit"], row["ordering"]),
        )
        for row in rows
        if row["id"] is not None
    ]
    return FanoutSnapshot(int(rows[0]["webhooks_version"]), fanout_table(targets))


async def store_publish(
    driver: asyncpg.Connection,
    account_id: str,
    version: int,
    rows: PublishRows,
    endpoints_of: list[str] | None = None,
    *,
    secrets: SecretCodec,
) -> PublishOutcome:
    """Store the rows if the fan-out is current and every key new; `endpoints_of`: webhooks
    whose url and secrets to read in the same statement (for deliveries handed over)."""
    try:
        row = await driver.fetchrow(
            _PUBLISH,
            account_id,
            version,
            orjson.dumps([key_binds(row) for row in rows.keys]).decode(),
            orjson.dumps([event_binds(row) for row in rows.events]).decode(),
            orjson.dumps([delivery_binds(row) for row in rows.deliveries]).decode(),
            endpoints_of or [],
        )
    except asyncpg.IntegrityConstraintViolationError:
        # Some keys inserted, others not: their foreign key to the events not stored fails.
        return PublishOutcome(stored=False, version=version, conflict=True)
    assert row is not None
    current = row["version"]
    if current is None:
        return PublishOutcome(stored=False, version=None)
    stored = bool(row["stored"])
    conflict = not stored and current == version
    endpoints = (
        {
            webhook_id: HandOffEndpoint(
                url,
                secrets.signing_secrets(webhook_id, (secret, previous, expires, format_, key_id)),
                secrets.delivery_settings(
                    webhook_id, (headers, schedule, timeout, proxy, kind, config)
                ),
            )
            for (
                webhook_id,
                url,
                secret,
                previous,
                expires,
                format_,
                key_id,
                headers,
                schedule,
                timeout,
                proxy,
                kind,
                config,
            ) in orjson.loads(row["endpoints"])
        }
        if row["endpoints"]
        else {}
    )
    return PublishOutcome(
        stored=stored, version=int(current), conflict=conflict, endpoints=endpoints
    )
