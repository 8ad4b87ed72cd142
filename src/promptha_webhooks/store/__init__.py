"""Persistence: SQLAlchemy Core tables, the queries split by aggregate (composed in `Store`),
one `Dialect` object per backend, driver errors translated in one place, Alembic migrations."""

from __future__ import annotations

from promptha_webhooks.store.database import Database, create_database
from promptha_webhooks.store.store import Store

__all__ = ["Database", "Store", "create_database"]
