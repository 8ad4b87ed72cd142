"""The dashboard's page groups, one module and one router each; `create_dashboard` mounts
every router in `ROUTERS`. Only `auth` has pages open without a session."""

from __future__ import annotations

from fastapi import APIRouter

from promptha_webhooks.dashboard.pages import alerts, auth, deliveries, monitoring, webhooks

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    webhooks.router,
    deliveries.router,
    monitoring.router,
    alerts.router,
)

__all__ = ["ROUTERS"]
