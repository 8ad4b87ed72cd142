"""Event handlers: the guide's fabric and credit handlers, storing results in a database."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from contextlib import closing

from promptha_webhooks.catalog import CreditsLow, FabricCompleted, FabricFailed
from promptha_webhooks.receiver import Event, Webhooks

DATABASE = os.environ.get("APP_DATABASE", "app.db")
log = logging.getLogger("app.webhooks")

hooks = Webhooks(secret=os.environ["WEBHOOK_SECRET"])


def save_execution(execution_id: str, **columns: object) -> None:
    names = ", ".join(columns)
    updates = ", ".join(f"{name} = excluded.{name}" for name in columns)
    with closing(sqlite3.connect(DATABASE)) as db, db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS executions (id TEXT PRIMARY KEY, status TEXT,"
            " result TEXT, tokens_used INTEGER, error TEXT)"
        )
        db.execute(
            f"INSERT INTO executions (id, {names}) VALUES (?{', ?' * len(columns)})"
            f" ON CONFLICT (id) DO UPDATE SET {updates}",
            (execution_id, *columns.values()),
        )


@hooks.on("fabric.completed")
def handle_fabric_complete(event: Event[FabricCompleted]) -> None:
    data = event.data
    save_execution(
        data.executionId,
        status="completed",
        result=json.dumps(data.result),
        tokens_used=data.usage.get("totalTokens"),
    )


@hooks.on("fabric.failed")
def handle_fabric_failed(event: Event[FabricFailed]) -> None:
    data = event.data
    save_execution(data.executionId, status="failed", error=data.error.get("message"))
    # Alert on critical failures
    if data.error.get("type") in {"rate_limit", "api_error"}:
        log.error("Fabric execution failed: %s (%s)", data.executionId, data.error)


@hooks.on("credits.low")
async def handle_low_credits(event: Event[CreditsLow]) -> None:
    data = event.data
    log.warning(
        "Low credits for %s: %s left (threshold %s)", data.userId, data.remaining, data.threshold
    )
