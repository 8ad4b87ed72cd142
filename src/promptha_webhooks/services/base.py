"""What every use-case shares: settings, the database, its queries, the clock, and the delivery
path's attempt and record stages (delivery/)."""

from __future__ import annotations

from promptha_webhooks.clock import Clock, ms
from promptha_webhooks.config import Settings
from promptha_webhooks.delivery.attempt import DeliveryContext
from promptha_webhooks.delivery.observe import Observer
from promptha_webhooks.delivery.record import Recorder
from promptha_webhooks.destinations import ResolveFunc
from promptha_webhooks.store import Database, Store
from promptha_webhooks.tracing import Tracing


class UseCases:
    """The state the use-case classes share; `Services` sets it up once."""

    settings: Settings
    db: Database
    store: Store
    clock: Clock
    resolve: ResolveFunc
    tracing: Tracing
    observer: Observer
    context: DeliveryContext
    recorder: Recorder

    def _now(self) -> int:
        return ms(self.clock.now())
