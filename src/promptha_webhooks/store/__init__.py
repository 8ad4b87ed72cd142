"""Persistence: SQLAlchemy Core tables, every query the service runs, Alembic migrations."""

from __future__ import annotations

from promptha_webhooks.store.database import Database, create_database
from promptha_webhooks.store.queries import Store

__all__ = ["Database", "Store", "create_database"]
