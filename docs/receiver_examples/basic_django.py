"""Basic handler (Django): a urls.py with the webhook view (CSRF-exempt, POST only)."""

from __future__ import annotations

import os

from django.urls import path

from promptha_webhooks.catalog import FabricCompleted
from promptha_webhooks.receiver import Event, Webhooks
from promptha_webhooks.receiver.adapters.django import webhook_view

hooks = Webhooks(secret=os.environ["WEBHOOK_SECRET"])


@hooks.on("fabric.completed")
def handle_fabric_complete(event: Event[FabricCompleted]) -> None:
    print(f"Received event: {event.event}", event.data.executionId)


urlpatterns = [
    path("webhooks/promptha", webhook_view(hooks)),
]
