"""Event queuing: answer 202 at once; a procrastinate worker runs the handlers from PostgreSQL."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import procrastinate
import psycopg
from fastapi import FastAPI

from promptha_webhooks.catalog import FabricCompleted
from promptha_webhooks.receiver import Event, Webhooks
from promptha_webhooks.receiver.adapters.fastapi import webhook_router
from promptha_webhooks.receiver.idempotency.postgres import PostgresIdempotencyStore
from promptha_webhooks.receiver.queue.procrastinate import ProcrastinateQueue

DATABASE_URL = os.environ["DATABASE_URL"]

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=DATABASE_URL))
hooks = Webhooks(
    secret=os.environ["WEBHOOK_SECRET"],
    idempotency=PostgresIdempotencyStore(DATABASE_URL),
    queue=ProcrastinateQueue(app),
)


@hooks.on("fabric.completed")
async def handle_fabric_complete(event: Event[FabricCompleted]) -> None:
    async with await psycopg.AsyncConnection.connect(DATABASE_URL) as db:
        await db.execute(
            "INSERT INTO fabric_results (execution_id, result) VALUES (%s, %s)",
            (event.data.executionId, json.dumps(event.data.result)),
        )


@asynccontextmanager
async def lifespan(api: FastAPI) -> AsyncIterator[None]:
    yield
    await hooks.aclose()


api = FastAPI(lifespan=lifespan)
api.include_router(webhook_router(hooks))  # answers 202 once the job is stored
