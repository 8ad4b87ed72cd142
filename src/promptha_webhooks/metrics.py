"""Prometheus metrics of one process (prometheus-client), in a registry of its own (built by
the app factory or the worker command, never at import).

Labels stay bounded: event type (13 values), outcome, reason, HTTP route templates. No
per-account or per-webhook labels: use the statistics API for those.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

LATENCY_BUCKETS_S = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
CLAIM_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.deliveries = Counter(
            "promptha_deliveries",
            "Delivery results recorded by the dispatcher and manual sends, by outcome "
            "(delivered, retry: failed attempt with a retry scheduled, failed: final, "
            "skipped: webhook disabled) and event type",
            ["outcome", "event_type"],
            registry=r,
        )
        self.attempt_duration = Histogram(
            "promptha_attempt_duration_seconds",
            "Duration of delivery attempts (request sent to answer read), by result",
            ["outcome"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.claim_duration = Histogram(
            "promptha_claim_duration_seconds",
            "Time to claim a batch of due deliveries (one transaction)",
            buckets=CLAIM_BUCKETS_S,
            registry=r,
        )
        self.claimed = Counter(
            "promptha_claimed_deliveries", "Deliveries claimed by this process", registry=r
        )
        self.handed_off = Counter(
            "promptha_handed_off_deliveries",
            "New deliveries a publish in this process gave its dispatcher (stored claimed)",
            registry=r,
        )
        self.http_duration = Histogram(
            "promptha_http_request_duration_seconds",
            "Management API latency by method, route template and status code",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.queue_depth = Gauge(
            "promptha_queue_depth", "Pending deliveries due now (read at scrape)", registry=r
        )
        self.oldest_due_age = Gauge(
            "promptha_oldest_due_age_seconds",
            "How long the oldest due delivery has been waiting (0 when none; read at scrape)",
            registry=r,
        )
        self.disabled_webhooks = Gauge(
            "promptha_webhooks_disabled",
            "Disabled webhooks by reason (manual, auto_disabled, gone, receiver_disabled)",
            ["reason"],
            registry=r,
        )
        self.alerts = Counter(
            "promptha_alerts", "Operational alerts raised, by event type", ["event"], registry=r
        )
        self.purged = Counter(
            "promptha_retention_purged_events",
            "Events purged by retention (with their deliveries and attempts)",
            registry=r,
        )
        self.dispatcher_up = Gauge(
            "promptha_dispatcher_loop_age_seconds",
            "Seconds since the dispatcher's claim loop last ran (read at scrape)",
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
