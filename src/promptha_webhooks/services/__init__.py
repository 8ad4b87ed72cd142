"""Use cases, one module each, one transaction per call: accounts.py (accounts, keys, auth,
dashboard sessions), webhooks.py, publishing.py, deliveries.py (test events, resends, the
delivery log, recovery), cancelling.py (cancels of deliveries not sent yet), monitoring.py
(stats), alert_contacts.py (where an account's alerts go), listen.py (listen sessions),
portal.py (the embeddable portal's sessions), validation.py (checks shared with the
dashboard's forms). `Services` is the façade the API, the dashboard and the CLI are given."""

from __future__ import annotations

from collections.abc import Callable

from promptha_webhooks.clock import Clock, SystemClock
from promptha_webhooks.config import Settings
from promptha_webhooks.delivery.attempt import DeliveryContext
from promptha_webhooks.delivery.handoff import DeliveryHandOff
from promptha_webhooks.delivery.observe import Observer
from promptha_webhooks.delivery.record import Recorder
from promptha_webhooks.delivery.transport import Transport
from promptha_webhooks.destinations import ResolveFunc, system_resolve
from promptha_webhooks.services.accounts import AccountUseCases, Principal
from promptha_webhooks.services.alert_contacts import AlertContactUseCases
from promptha_webhooks.services.cancelling import CancelUseCases
from promptha_webhooks.services.deliveries import Recovery
from promptha_webhooks.services.monitoring import Stats
from promptha_webhooks.services.portal import PortalUseCases
from promptha_webhooks.services.publishing import Publisher, PublishingUseCases
from promptha_webhooks.services.webhooks import WebhookUseCases
from promptha_webhooks.store import Database, Store
from promptha_webhooks.tracing import Tracing

__all__ = ["Principal", "Services"]


class Services(
    AccountUseCases, WebhookUseCases, PublishingUseCases, CancelUseCases, PortalUseCases
):
    """The use-cases, over one database. Built once by the app factory."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        transport: Transport,
        *,
        clock: Clock | None = None,
        resolve: ResolveFunc = system_resolve,
        on_publish: Callable[[], None] | None = None,
        observer: Observer | None = None,
        handoff: DeliveryHandOff | None = None,
    ) -> None:
        self.settings = settings
        self.db = database
        self.store = Store(database.backend, database.secrets)
        self.clock = clock or SystemClock()
        self.resolve = resolve
        self.tracing = Tracing(settings.tracing)
        self.context = DeliveryContext.build(settings, transport, self.clock, self.tracing)
        self.publisher = Publisher(
            settings,
            database,
            self.store,
            self.clock,
            on_publish,
            tracing=self.tracing,
            handoff=handoff,
        )
        self.observer = observer or Observer(settings, database)
        self.recorder = Recorder(database, self.observer, self.clock)
        # Monitoring use-cases live in their own modules, reachable from here.
        self.stats = Stats(database, self.clock)
        self.alert_contacts = AlertContactUseCases(database, self.clock)
        self.recovery = Recovery(database, self.clock, on_requeue=on_publish)
        self._start_key_cache()
