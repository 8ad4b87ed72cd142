"""PostgreSQL: the dispatcher's claim and result statements are planned at every execution.

A prepared statement's cached generic plan is made once, after five executions, for the tables
as they are then. On a new database that is a few rows, and the plan hashes a sequential scan
of deliveries; it stays until autovacuum's first ANALYZE. The dispatcher's connections plan
each execution for the tables as they are (pg_prepared_statements counts the plans made).
"""

from __future__ import annotations

import time

from promptha_webhooks.store import dispatch_statements
from promptha_webhooks.store.database import Database, migrate
from promptha_webhooks.store.dispatch_statements import DeliveryUpdate
from promptha_webhooks.store.webhook_secrets import SecretCodec

from support import TEST_KEY_RING, delivered_update

RUNS = 8  # more than the five custom plans PostgreSQL makes before it may cache a generic one


def _update(now: int) -> DeliveryUpdate:
    return delivered_update("dlv_none", "token", now=now)


async def plans_made(database: Database, *, replan: bool) -> dict[str, tuple[int, int]]:
    """Run the claim and the result statement RUNS times on one connection; their (generic,
    custom) plan counts on it."""
    now = int(time.time() * 1000)
    update = _update(now)
    async with database.driver_connection(replan=replan) as driver:
        for _ in range(RUNS):
            await dispatch_statements.claim_due(
                driver, now, now + 1000, "token", 10, secrets=SecretCodec(TEST_KEY_RING)
            )
            await dispatch_statements.record_results(driver, [], [update], {}, now)
        rows = await driver.fetch(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
        )
    counts = {}
    for row in rows:
        if "FOR UPDATE SKIP LOCKED" in row["statement"]:
            counts["claim"] = (row["generic_plans"], row["custom_plans"])
        elif "INSERT INTO attempts" in row["statement"]:
            counts["record"] = (row["generic_plans"], row["custom_plans"])
    return counts


async def test_dispatcher_statements_get_a_plan_for_the_tables_as_they_are(
    fresh_postgres_url: str,
) -> None:
    await migrate(fresh_postgres_url)
    database = Database(fresh_postgres_url, TEST_KEY_RING)
    try:
        assert await plans_made(database, replan=True) == {
            "claim": (0, RUNS),
            "record": (0, RUNS),
        }
        # The other connections (the publish statement's) keep PostgreSQL's plan cache, which
        # turns to a generic plan here: what the dispatcher's connections must not do.
        cached = await plans_made(database, replan=False)
        assert cached["claim"][0] > 0 and cached["record"][0] > 0
    finally:
        await database.dispose()


async def test_the_result_write_in_a_transaction_is_planned_at_every_execution(
    fresh_postgres_url: str,
) -> None:
    # The path of batches with a failure (endpoint health in the same transaction), on one of
    # SQLAlchemy's connections.
    await migrate(fresh_postgres_url)
    database = Database(fresh_postgres_url, TEST_KEY_RING)
    now = int(time.time() * 1000)
    try:
        async with database.transaction() as conn:
            for _ in range(RUNS):
                await dispatch_statements.record_results(conn, [], [_update(now)])
            rows = (
                await conn.exec_driver_sql(
                    "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
                )
            ).all()
        plans = [(row[1], row[2]) for row in rows if "INSERT INTO attempts" in row[0]]
        assert plans == [(0, RUNS)]
    finally:
        await database.dispose()
