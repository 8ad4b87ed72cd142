"""The dashboard's page groups, one module and one router each; `create_dashboard` mounts
every router in `ROUTERS`. Only `auth` and the portal's
entry (`portal`) have pages open without a session."""

from __future__ import annotations

from fastapi import APIRouter

from promptha_webhooks.dashboard.pages import (
    alerts,
    auth,
    deliveries,
    events,
    keys,
    monitoring,
    portal,
    webhook_stats,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    webhooks.router,
    deliveries.router,
    events.router,
    monitoring.router,
    keys.router,
    webhook_stats.router,
    portal.router,
    alerts.router,
)

__all__ = ["ROUTERS"]
