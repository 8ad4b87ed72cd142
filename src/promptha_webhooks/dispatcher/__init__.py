"""The dispatcher: claims due deliveries in batches, attempts them, records results in batches."""

from __future__ import annotations

from promptha_webhooks.dispatcher.worker import Dispatcher

__all__ = ["Dispatcher"]
