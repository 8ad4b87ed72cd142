"""Database driver errors, translated in one place (store/errors.py): real errors from both
drivers, however the statement ran, become 400 (a value the database refuses), 409, 503 (the
database unreachable or busy) or nothing (a bug of ours: 500 with a trace id)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from promptha_webhooks.errors import (
    ConflictError,
    InvalidRequestError,
    PrompthaError,
    ServiceUnavailableError,
)
from promptha_webhooks.store.database import Database
from promptha_webhooks.store.errors import translate_driver_error

from support import ADMIN_KEY, TEST_KEY_RING, ServiceFactory

REFUSED = InvalidRequestError
CONFLICT = ConflictError
UNAVAILABLE = ServiceUnavailableError

POSTGRES_CASES: list[tuple[str, type[PrompthaError] | None]] = [
    ("SELECT CAST(:nul AS text)", REFUSED),  # NUL in text
    ("SELECT CAST(2147483648 AS integer)", REFUSED),  # out of range
    ("SELECT CAST('x' AS integer)", REFUSED),  # invalid text representation
    ("INSERT INTO accounts (id, name, created_at) VALUES ('acct_a', 'a', 0)", CONFLICT),
    ("SELECT * FROM no_such_table", None),  # our bug
    ("SELEC 1", None),
]


async def test_postgresql_errors_through_sqlalchemy_and_asyncpg(fresh_postgres_url: str) -> None:
    from promptha_webhooks.store.database import migrate

    await migrate(fresh_postgres_url)
    database = Database(fresh_postgres_url, TEST_KEY_RING)
    try:
        async with database.transaction() as conn:
            await conn.execute(
                text("INSERT INTO accounts (id, name, created_at) VALUES ('acct_a', 'a', 0)")
            )
        for statement, expected in POSTGRES_CASES:
            caught: list[BaseException] = []
            try:
                async with database.transaction() as conn:
                    await conn.execute(
                        text(statement), {"nul": "a\x00b"} if ":nul" in statement else {}
                    )
            except Exception as exc:
                caught.append(exc)
            try:
                async with database.driver_connection() as driver:
                    await driver.execute(
                        statement.replace(":nul", "$1"),
                        *(["a\x00b"] if ":nul" in statement else []),
                    )
            except Exception as exc:
                caught.append(exc)
            assert len(caught) == 2, statement
            for exc in caught:
                translated = translate_driver_error(exc)
                if expected is None:
                    assert translated is None, (statement, exc)
                else:
                    assert isinstance(translated, expected), (statement, exc, translated)
    finally:
        await database.dispose()


async def test_an_index_row_postgresql_cannot_hold_is_refused(fresh_postgres_url: str) -> None:
    """SQLSTATE class 54 (program limit exceeded): a value too large for a btree index."""
    database = Database(fresh_postgres_url, TEST_KEY_RING)
    try:
        async with database.transaction() as conn:
            await conn.execute(text("CREATE TABLE t (v text PRIMARY KEY)"))
        with pytest.raises(DBAPIError) as caught:
            async with database.transaction() as conn:
                await conn.execute(
                    text("INSERT INTO t VALUES (:v)"),
                    {"v": "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(20_000))},
                )
        assert isinstance(translate_driver_error(caught.value), REFUSED)
    finally:
        await database.dispose()


async def test_an_unreachable_postgresql_is_503() -> None:
    database = Database("postgresql://postgres@127.0.0.1:1/none", TEST_KEY_RING)
    try:
        with pytest.raises(Exception) as through_sqlalchemy:
            async with database.transaction() as conn:
                await conn.execute(text("SELECT 1"))
        with pytest.raises(Exception) as through_asyncpg:
            async with database.driver_connection() as driver:
                await driver.execute("SELECT 1")
    finally:
        await database.dispose()
    for caught in (through_sqlalchemy, through_asyncpg):
        assert isinstance(translate_driver_error(caught.value), UNAVAILABLE), caught.value


def test_sqlite_errors(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    holder.execute("INSERT INTO t VALUES (1, 'a')")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with engine.connect() as conn:
            with pytest.raises(DBAPIError) as duplicate:
                conn.execute(text("INSERT INTO t VALUES (1, 'b')"))
            conn.rollback()
            with pytest.raises(DBAPIError) as bug:
                conn.execute(text("SELECT * FROM no_such_table"))
            conn.rollback()
        holder.execute("BEGIN IMMEDIATE")
        with engine.connect() as conn, pytest.raises(DBAPIError) as locked:
            conn.execute(text("INSERT INTO t VALUES (2, 'c')"))
        holder.execute("ROLLBACK")
        small = sqlite3.connect(path)
        small.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 100)
        with pytest.raises(sqlite3.Error) as too_big:
            small.execute("INSERT INTO t VALUES (3, ?)", ("x" * 1000,))
        small.close()
    finally:
        engine.dispose()
        holder.close()
    assert isinstance(translate_driver_error(duplicate.value), CONFLICT)
    assert translate_driver_error(bug.value) is None
    assert isinstance(translate_driver_error(locked.value), UNAVAILABLE)
    assert isinstance(translate_driver_error(too_big.value), REFUSED)


async def test_the_api_answers_503_when_the_database_is_unreachable() -> None:
    factory = ServiceFactory("postgresql://postgres@127.0.0.1:1/none")
    try:
        service = await factory(run_dispatcher=False)
        for path, key in (("/v1/accounts", ADMIN_KEY), ("/v1/webhooks", "pwk_someone")):
            response = await service.client.get(path, headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 503, response.text
            assert response.json() == {
                "error": {
                    "type": "service_unavailable",
                    "message": "The database is unavailable; retry shortly",
                }
            }
    finally:
        await factory.close()
