"""Table definitions (SQLAlchemy Core). Times are integer Unix milliseconds on both backends."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
)

metadata = MetaData()

ID = String(40)
# A version-00 traceparent is 55 characters; room for later versions' extra fields.
TRACEPARENT_LENGTH = 128

accounts = Table(
    "accounts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Bumped (triggers, both backends) whenever the account's fan-out can change: see publishing.py.
    Column("webhooks_version", BigInteger, nullable=False, server_default="0"),
)

# account_id NULL marks a platform admin key. Only the SHA-256 of a key is stored.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_api_keys_account_id", "account_id"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    # http: the dispatcher POSTs to `url`. listen: a `promptha-webhooks listen` session
    # (url listen://<device>) streams the deliveries to a developer's machine.
    Column("kind", String(16), nullable=False, server_default="http"),
    Column("events", Text, nullable=False),  # JSON array of event type names
    Column("filters", Text, nullable=True),  # JSON object {payload key: [allowed values]}
    Column("secret", Text, nullable=False),
    # A rotation's grace period: the replaced secret still signs until the time given (ms);
    # both NULL when no rotation runs (0010).
    Column("previous_secret", Text, nullable=True),
    Column("previous_secret_expires_at", BigInteger, nullable=True),
    # promptha (the guide's headers) or standard (Standard Webhooks): signature_headers.py
    Column("signature_format", String(16), nullable=False, server_default="promptha"),
    # The key `secret` and `previous_secret` are sealed with (secret_box.py); NULL: a row
    # from before encryption at rest, still plaintext until sealed at start-up (0012).
    Column("secret_key_id", String(32), nullable=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", String(40), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # Requests a worker may have in flight to the webhook; NULL: the worker's default.
    Column("max_concurrency", Integer, nullable=True),
    # Pacing (0013): deliveries started per second (NULL: no limit), 'none' or 'fifo', and the
    # start time (ms) of the next free rate slot, shared by every worker (claim_paced).
    Column("rate_limit", Integer, nullable=True),
    Column("ordering", String(8), nullable=False, server_default="none"),
    Column("rate_next_at", BigInteger, nullable=True),
    # The webhook's delivery settings (delivery_settings.py); each NULL: the server's default.
    # headers: its static custom headers, one JSON object sealed like the secrets (secret_box;
    # the key id travels in the value); retry_schedule: a JSON array of retry delays (s);
    # timeout_seconds: the per-attempt timeout (0014).
    Column("headers", Text, nullable=True),
    Column("retry_schedule", Text, nullable=True),
    Column("timeout_seconds", Integer, nullable=True),
    # The webhook's own HTTP CONNECT proxy, sealed like the secrets (it may carry credentials);
    # NULL: the server's PROMPTHA_WEBHOOKS_PROXY_URL, if any (0018).
    Column("proxy_url", Text, nullable=True),
    # Where deliveries go (0020): http (POST to `url`) or a broker (rabbitmq, nats,
    # redis-stream; `url` is then ""), whose connection settings `destination_config` holds as
    # one JSON object sealed like the secrets (its credentials never stored in the clear).
    Column("destination_type", String(16), nullable=False, server_default="http"),
    Column("destination_config", Text, nullable=True),
    # Endpoint health (health.py), written in the dispatcher's result batches. A failing
    # streak starts at the first failed attempt after a success (failing_since) and counts
    # failed attempts and finally failed deliveries; warned_level is the last budget warning
    # sent (50/75/90 %), alerted whether a failing/disabled notice awaits a "recovered" one.
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("failed_deliveries", Integer, nullable=False, server_default="0"),
    Column("failing_since", BigInteger, nullable=True),
    Column("last_success_at", BigInteger, nullable=True),
    Column("last_failure_at", BigInteger, nullable=True),
    Column("last_failure_reason", Text, nullable=True),
    Column("warned_level", Integer, nullable=False, server_default="0"),
    Column("alerted", Boolean, nullable=False, server_default=false()),
    Column("disabled_at", BigInteger, nullable=True),
    # kind listen: the session (its claim token) holding the stream; a second `listen` on the
    # same device takes it over (listen.py). Not a fan-out column: no webhooks_version bump.
    Column("listen_session", String(64), nullable=True),
    Index("ix_webhooks_account_id_id", "account_id", "id"),
    Index("ix_webhooks_secret_key_id", "secret_key_id"),
)

# body: the canonical JSON bytes sent on every attempt (decoded as UTF-8 text).
events = Table(
    "events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("is_test", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # W3C traceparent of the publish span (tracing on): attempts' spans are its children.
    Column("traceparent", String(TRACEPARENT_LENGTH), nullable=True),
    # The time (ms) the publish asked its deliveries for (`deliverAt`, 0019); NULL: at once.
    Column("deliver_at", BigInteger, nullable=True),
    Index("ix_events_account_id_id", "account_id", "id"),
    Index("ix_events_created_at", "created_at"),  # retention
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("event_id", ID, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# status: pending → delivered | failed | skipped | cancelled. A pending delivery is due when
# next_attempt_at <= now; claiming it pushes next_attempt_at to the lease's end, so a worker
# that dies leaves it due again once the lease runs out. A scheduled delivery (deliverAt) is
# stored pending with next_attempt_at at its time; a cancel ends an unheld pending one.
# No foreign key on event_id (migration 0006): a delivery is inserted only in its event's
# transaction, and whoever deletes events deletes their deliveries (retention; an account's go
# with its webhooks). Each key check cost about 4 µs of PostgreSQL's CPU per published event.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("event_id", ID, nullable=False),
    Column("webhook_id", ID, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", ID, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempt_count", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", BigInteger, nullable=True),
    Column("claim_token", String(64), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("is_test", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # A paced webhook's delivery (rate limit or FIFO, 0013): its publish order; NULL for every
    # other delivery. Paced deliveries are claimed by claim_paced only, in this order.
    Column("pace_order", BigInteger, nullable=True),
    Index(
        "ix_deliveries_due",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
        sqlite_where=text("status = 'pending'"),
    ),
    Index("ix_deliveries_webhook_id_id", "webhook_id", "id"),
    Index("ix_deliveries_event_id", "event_id"),
    # Recovery: a webhook's failed/skipped deliveries in a time window. Partial, so that a
    # delivery's three writes (stored, claimed, delivered) never touch it. Queries must spell
    # the condition with literals (store/recovery.py: RECOVERABLE_CONDITION) for the planners
    # to use it.
    Index(
        "ix_deliveries_recoverable",
        "webhook_id",
        "created_at",
        postgresql_where=text("status IN ('failed', 'skipped')"),
        sqlite_where=text("status IN ('failed', 'skipped')"),
    ),
    # Pending deliveries a receiver rejected with 401/403 during a secret rotation's grace
    # period, woken when it answers 2xx or the secret changes (0011; dispatch_statements.py:
    # wake_rejected spells the condition with the same literals).
    Index(
        "ix_deliveries_signature_rejected",
        "webhook_id",
        postgresql_where=text("status = 'pending' AND last_status_code IN (401, 403)"),
        sqlite_where=text("status = 'pending' AND last_status_code IN (401, 403)"),
    ),
    # A listen webhook's unsent deliveries (never due for the workers).
    Index(
        "ix_deliveries_listen_waiting",
        "webhook_id",
        "id",
        postgresql_where=text("status = 'pending' AND next_attempt_at IS NULL"),
        sqlite_where=text("status = 'pending' AND next_attempt_at IS NULL"),
    ),
    # A paced webhook's pending deliveries, in publish order (claim_paced).
    Index(
        "ix_deliveries_paced",
        "webhook_id",
        "pace_order",
        postgresql_where=text("status = 'pending' AND pace_order IS NOT NULL"),
        sqlite_where=text("status = 'pending' AND pace_order IS NOT NULL"),
    ),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", ID, primary_key=True),
    # No foreign key (migration 0006): an attempt is inserted only while its delivery is
    # locked by the same statement or transaction, and deleting deliveries deletes their
    # attempts explicitly (Store.delete_webhook, Store.delete_account, retention). The key's
    # check locked the delivery row once more per attempt: ≈10 µs of PostgreSQL's CPU.
    Column("delivery_id", ID, nullable=False),
    # Denormalised from the delivery for statistics. No foreign key on purpose: a key-share
    # lock on the webhook per attempt row would contend with the health counters' row lock.
    Column("webhook_id", ID, nullable=True),
    Column("number", Integer, nullable=False),
    Column("trigger", String(16), nullable=False),  # scheduled | manual | test | listen
    Column("url", Text, nullable=False),
    Column("request_headers", Text, nullable=False),  # JSON object
    Column("response_status", Integer, nullable=True),
    Column("response_headers", Text, nullable=True),  # JSON object
    Column("response_body", Text, nullable=True),  # first 64 KiB, UTF-8 with replacement
    Column("duration_ms", Float, nullable=False),
    Column("error", Text, nullable=True),
    Column("outcome", String(16), nullable=False),  # delivered | retry | permanent
    Column("started_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger, nullable=False),
    Index("ix_attempts_delivery_id", "delivery_id", "number"),
    Index("ix_attempts_webhook_id_started_at", "webhook_id", "started_at"),
)

# Dashboard sessions ended by sign-out before their cookie expires (dashboard/sessions.py): the
# SHA-256 of each one's nonce, until the cookie would have expired (then purged at a sign-out).
dashboard_session_revocations = Table(
    "dashboard_session_revocations",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_dashboard_session_revocations_expires_at", "expires_at"),
)

# The embeddable portal's one-time sign-in links and the sessions they open (migration 0016):
# only the SHA-256 of the link's token; `used_at` set once, atomically, when the link is opened.
portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("read_only", Boolean, nullable=False, server_default=false()),
    Column("return_url", Text, nullable=True),
    Column("primary_color", String(7), nullable=True),
    Column("logo_url", Text, nullable=True),
    Column("dark_mode", Boolean, nullable=False, server_default=false()),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
    Index("ix_portal_sessions_account_id", "account_id"),
    Index("ix_portal_sessions_expires_at", "expires_at"),
)

# Each account's alert contacts (0017): e-mail addresses (a JSON array) and its own alert
# webhook (no foreign key: a deleted webhook matches no fan-out target and reads back unset).
alert_contacts = Table(
    "alert_contacts",
    metadata,
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("emails", Text, nullable=False),
    Column("webhook_id", ID, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
)
