"""Each backend's `Dialect` (store/backends/) is chosen from the URL once, and says in SQL what
differs: row locks only on PostgreSQL, the same conflict-ignoring insert on both. Compiled by
the backend's own SQLAlchemy dialect; the statements themselves run in tests/integration."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.engine.interfaces import Dialect as SqlDialect
from sqlalchemy.sql.expression import ClauseElement, Executable

from promptha_webhooks.store.backends import POSTGRESQL, SQLITE, Dialect
from promptha_webhooks.store.backends.sqlite import sqlite_file
from promptha_webhooks.store.database import async_url, dialect_of
from promptha_webhooks.store.tables import dashboard_session_revocations, deliveries

# SQLAlchemy's dialect classes are not annotated.
PG_SQL: SqlDialect = PGDialect()  # type: ignore[no-untyped-call]
SQLITE_SQL: SqlDialect = SQLiteDialect()


def _sql(statement: Executable, dialect: SqlDialect) -> str:
    assert isinstance(statement, ClauseElement)
    return str(statement.compile(dialect=dialect))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///./data/promptha-webhooks.db", SQLITE),
        ("sqlite:///:memory:", SQLITE),
        ("postgresql://postgres@127.0.0.1/test", POSTGRESQL),
        ("postgres://postgres@127.0.0.1/test", POSTGRESQL),
    ],
)
def test_the_dialect_is_chosen_from_the_url(url: str, expected: Dialect) -> None:
    assert dialect_of(url) is expected
    assert async_url(url).startswith(expected.async_driver + "://")


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        async_url("mysql://root@127.0.0.1/test")


def test_postgresql_skips_locked_rows_and_sqlite_has_no_row_locks() -> None:
    query = select(deliveries.c.id).where(deliveries.c.status == "pending")
    assert "FOR UPDATE SKIP LOCKED" in _sql(POSTGRESQL.skip_locked(query), PG_SQL)
    assert "FOR NO KEY UPDATE" in _sql(POSTGRESQL.for_no_key_update(query), PG_SQL)
    assert SQLITE.skip_locked(query) is query
    assert SQLITE.for_no_key_update(query) is query


@pytest.mark.parametrize(("dialect", "compiler"), [(SQLITE, SQLITE_SQL), (POSTGRESQL, PG_SQL)])
def test_both_insert_ignoring_a_conflict(dialect: Dialect, compiler: SqlDialect) -> None:
    row = {"session_hash": "ab" * 32, "expires_at": 1}
    statement = dialect.insert_ignoring_conflicts(dashboard_session_revocations, row)
    assert "ON CONFLICT DO NOTHING" in _sql(statement, compiler)


def test_only_postgresql_tells_other_processes() -> None:
    assert POSTGRESQL.notifies
    assert not SQLITE.notifies
    assert POSTGRESQL.publishes_in_one_statement
    assert not SQLITE.publishes_in_one_statement
    assert SQLITE.publish_statements == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///./data/x.db", "data/x.db"),
        ("sqlite:///./data/x.db?mode=ro", "data/x.db"),
        ("sqlite:///:memory:", None),
        ("postgresql://postgres@127.0.0.1/test", None),
    ],
)
def test_the_sqlite_file_of_a_url(url: str, expected: str | None) -> None:
    path = sqlite_file(url)
    assert (path.as_posix() if path is not None else None) == expected
