"""`Store`: the queries of every aggregate for one backend, composed in one object
(`store.webhooks.get(conn, account_id, id)`). Every query takes an open connection: the
caller owns the transaction (services open one per use case; the dispatcher one per batch)."""

from __future__ import annotations

from promptha_webhooks.store.accounts import AccountQueries, KeyQueries, SessionQueries
from promptha_webhooks.store.alert_contacts import AlertContactQueries
from promptha_webhooks.store.backends import BackendName, Dialect, dialect_named
from promptha_webhooks.store.deliveries import DeliveryQueries
from promptha_webhooks.store.events import EventQueries, IdempotencyQueries
from promptha_webhooks.store.health import HealthQueries
from promptha_webhooks.store.listen import ListenQueries
from promptha_webhooks.store.portal import PortalQueries
from promptha_webhooks.store.queries import DispatchQueries
from promptha_webhooks.store.recovery import RecoveryQueries
from promptha_webhooks.store.retention import RetentionQueries
from promptha_webhooks.store.stats import StatsQueries
from promptha_webhooks.store.webhook_secrets import SecretCodec
from promptha_webhooks.store.webhooks import WebhookQueries


class Store:
    """The queries of one backend, by aggregate; `secrets` seals and opens the webhooks'
    secret columns (`Database.secrets`)."""

    def __init__(self, backend: BackendName, secrets: SecretCodec) -> None:
        self.backend = backend
        self.secrets = secrets
        self.dialect: Dialect = dialect_named(backend)
        self.accounts = AccountQueries()
        self.keys = KeyQueries()
        self.sessions = SessionQueries(self.dialect)
        self.portal = PortalQueries()
        self.webhooks = WebhookQueries(secrets)
        self.events = EventQueries()
        self.idempotency = IdempotencyQueries()
        self.deliveries = DeliveryQueries()
        self.dispatch = DispatchQueries(secrets)
        self.listen = ListenQueries(self.dialect, self.dispatch)
        self.recovery = RecoveryQueries()
        self.retention = RetentionQueries(self.dialect)
        self.stats = StatsQueries()
        self.health = HealthQueries(self.dialect)
        self.alert_contacts = AlertContactQueries()
