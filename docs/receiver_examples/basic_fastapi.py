"""Basic handler (FastAPI): verify every delivery, route it by event type, answer per the table."""

from __future__ import annotations

import os

from fastapi import FastAPI

from promptha_webhooks.catalog import EventPayload, FabricCompleted
from promptha_webhooks.receiver import Event, Webhooks
from promptha_webhooks.receiver.adapters.fastapi import webhook_router

hooks = Webhooks(secret=os.environ["WEBHOOK_SECRET"])


@hooks.on("fabric.completed")
async def handle_fabric_complete(event: Event[FabricCompleted]) -> None:
    print(f"Received event: {event.event}", event.data.executionId)


@hooks.default
async def handle_other(event: Event[EventPayload]) -> None:
    print("Unhandled event:", event.event)


app = FastAPI()
app.include_router(webhook_router(hooks))  # POST /webhooks/promptha
