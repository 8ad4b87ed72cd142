"""Basic handler (Flask): the same router, mounted as a blueprint."""

from __future__ import annotations

import os

from flask import Flask

from promptha_webhooks.catalog import FabricCompleted
from promptha_webhooks.receiver import Event, Webhooks
from promptha_webhooks.receiver.adapters.flask import webhook_blueprint

hooks = Webhooks(secret=os.environ["WEBHOOK_SECRET"])


@hooks.on("fabric.completed")
def handle_fabric_complete(event: Event[FabricCompleted]) -> None:
    print(f"Received event: {event.event}", event.data.executionId)


app = Flask(__name__)
app.register_blueprint(webhook_blueprint(hooks))  # POST /webhooks/promptha
