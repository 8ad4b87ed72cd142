"""Migration 0006 (lean delivery writes) on a database that holds data: nothing is lost on the
way up or down, the partial indexes keep their conditions, and the dropped foreign keys are
gone (SQLite copies the two tables to drop them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from promptha_webhooks.store.database import alembic_config, migrate_sync

from support import sync_connection

ROWS = [
    "INSERT INTO accounts (id, name, created_at, webhooks_version) VALUES ('acct_1', 'a', 1, 0)",
    "INSERT INTO webhooks (id, account_id, url, events, secret, enabled, created_at, updated_at,"
    " kind) VALUES ('wh_1', 'acct_1', 'http://127.0.0.1:9/x', '[]', 's', true, 1, 1, 'http')",
    "INSERT INTO events (id, account_id, type, body, is_test, created_at)"
    " VALUES ('evt_1', 'acct_1', 'fabric.completed', '{}', false, 1)",
    "INSERT INTO deliveries (id, event_id, webhook_id, account_id, event_type, status,"
    " attempt_count, next_attempt_at, is_test, created_at, updated_at) VALUES"
    " ('dlv_1', 'evt_1', 'wh_1', 'acct_1', 'fabric.completed', 'failed', 1, NULL, false, 1, 1),"
    " ('dlv_2', 'evt_1', 'wh_1', 'acct_1', 'fabric.completed', 'pending', 0, 5, false, 1, 1)",
    # An attempt from before migration 0003 tagged it with its webhook.
    "INSERT INTO attempts (id, delivery_id, number, trigger, url, request_headers, duration_ms,"
    " outcome, started_at, finished_at, webhook_id) VALUES ('att_1', 'dlv_1', 1, 'scheduled',"
    " 'http://127.0.0.1:9/x', '{}', 1.0, 'retry', 1, 1, NULL)",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def url_at_0005(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'promptha.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    migrate_sync(url, "0005")
    with sync_connection(url) as conn:
        for statement in ROWS:
            conn.execute(text(statement))
        conn.commit()
    yield url


def _contents(conn: Connection) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: [
            tuple(row) for row in conn.execute(text(f"SELECT {columns} FROM {table} ORDER BY id"))
        ]
        for table, columns in (
            ("events", "id, account_id"),
            ("deliveries", "id, event_id, webhook_id, status"),
            ("attempts", "id, delivery_id, webhook_id"),
        )
    }


def _foreign_keys(conn: Connection, table: str) -> set[str]:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(
                "SELECT a.attname FROM pg_constraint AS c JOIN pg_attribute AS a"
                " ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
                " WHERE c.contype = 'f' AND c.conrelid = CAST(:table AS regclass)"
            ),
            {"table": table},
        )
    else:
        rows = conn.execute(text(f"SELECT \"from\" FROM pragma_foreign_key_list('{table}')"))
    return {row[0] for row in rows}


def _index_definitions(conn: Connection) -> dict[str, str]:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'deliveries'")
        )
    else:
        rows = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                " AND tbl_name = 'deliveries' AND sql IS NOT NULL"
            )
        )
    return {name: _condition(definition) for name, definition in rows}


def _condition(definition: str) -> str:
    """A partial index's WHERE, without PostgreSQL's casts and parentheses ("" if none)."""
    _, _, where = " ".join(definition.split()).partition(" WHERE ")
    for noise in ("::text", "::character varying", "[]", "(", ")"):
        where = where.replace(noise, "")
    return where or "(whole table)"


def test_upgrade_keeps_every_row_and_drops_the_two_keys(url_at_0005: str) -> None:
    with sync_connection(url_at_0005) as conn:
        before = _contents(conn)
    migrate_sync(url_at_0005)
    with sync_connection(url_at_0005) as conn:
        after = _contents(conn)
        assert after["events"] == before["events"]
        assert after["deliveries"] == before["deliveries"]
        # the untagged attempt learnt its webhook from its delivery
        assert after["attempts"] == [("att_1", "dlv_1", "wh_1")]
        assert _foreign_keys(conn, "deliveries") == {"webhook_id"}
        assert _foreign_keys(conn, "attempts") == set()
        indexes = _index_definitions(conn)
    assert "ix_deliveries_webhook_id_status_created_at" not in indexes
    assert indexes["ix_deliveries_due"] == "status = 'pending'"
    assert "'failed'" in indexes["ix_deliveries_recoverable"]
    assert "'skipped'" in indexes["ix_deliveries_recoverable"]
    assert indexes["ix_deliveries_listen_waiting"] == (
        "status = 'pending' AND next_attempt_at IS NULL"
    )
    assert indexes["ix_deliveries_event_id"] == "(whole table)"
    assert indexes["ix_deliveries_webhook_id_id"] == "(whole table)"


def test_downgrade_restores_the_keys_and_upgrade_runs_again(url_at_0005: str) -> None:
    migrate_sync(url_at_0005)
    with sync_connection(url_at_0005) as conn:
        before = _contents(conn)
    command.downgrade(alembic_config(url_at_0005), "0005")
    with sync_connection(url_at_0005) as conn:
        assert _contents(conn) == before
        assert _foreign_keys(conn, "deliveries") == {"event_id", "webhook_id"}
        assert _foreign_keys(conn, "attempts") == {"delivery_id"}
        indexes = _index_definitions(conn)
        assert indexes["ix_deliveries_webhook_id_status_created_at"] == "(whole table)"
        assert indexes["ix_deliveries_due"] == "status = 'pending'"
    migrate_sync(url_at_0005)
    with sync_connection(url_at_0005) as conn:
        assert _contents(conn) == before
