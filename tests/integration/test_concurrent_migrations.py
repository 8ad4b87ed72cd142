"""PostgreSQL: `serve` and `worker` migrate on start, so several processes may upgrade one
database at the same moment (a deploy starting its API nodes and workers together). Each takes
an advisory lock for its migration transaction; the ones that waited find the schema current.
Without the lock, all but one failed on PostgreSQL's catalog (duplicate type names)."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from queue import Queue

from sqlalchemy import text

from promptha_webhooks.store.database import schema_head

from support import sync_connection

PROCESSES = 4


def _migrate_at_once(url: str, barrier: Barrier, outcomes: Queue[str]) -> None:
    from promptha_webhooks.store.database import migrate_sync

    barrier.wait(timeout=60)
    try:
        migrate_sync(url)
        outcomes.put("ok")
    except Exception as exc:  # reported to the test, which shows it
        outcomes.put(repr(exc)[:300])


def test_processes_that_upgrade_one_database_at_once_all_succeed(
    fresh_postgres_url: str,
) -> None:
    spawn = multiprocessing.get_context("spawn")  # new interpreters, as separate services are
    barrier = spawn.Barrier(PROCESSES)
    outcomes: Queue[str] = spawn.Queue()
    processes = [
        spawn.Process(target=_migrate_at_once, args=(fresh_postgres_url, barrier, outcomes))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    results = [outcomes.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert results == ["ok"] * PROCESSES
    with sync_connection(fresh_postgres_url) as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == schema_head(fresh_postgres_url)
