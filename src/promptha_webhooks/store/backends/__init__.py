"""The database backends: one object each (SQLite, PostgreSQL) that owns every difference
between them, chosen once from the database URL (`dialect_of`)."""

from __future__ import annotations

from promptha_webhooks.store.backends.base import BackendName, Dialect
from promptha_webhooks.store.backends.postgresql import POSTGRESQL
from promptha_webhooks.store.backends.sqlite import SQLITE

DIALECTS: dict[BackendName, Dialect] = {"sqlite": SQLITE, "postgresql": POSTGRESQL}


def dialect_named(name: BackendName) -> Dialect:
    return DIALECTS[name]


__all__ = ["DIALECTS", "POSTGRESQL", "SQLITE", "BackendName", "Dialect", "dialect_named"]
