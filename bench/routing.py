"""Routing benchmark: what matching costs per webhook per event (target: well under 10 µs), and
what a publish costs on an account with 1,000 webhooks against one with 10 (target: within 2×),
each event going to one webhook in both.

    PYTHONPATH=$PWD/src .venv/bin/python -m bench.routing [--backend sqlite|postgresql|both]
    PYTHONPATH=$PWD/src .venv/bin/python -m bench --only routing   # in the suite's table

Part 1 is pure Python: 1,000 compiled filters of several shapes (the original form, nested
paths, `$or`/`$not`, `$prefix`), each evaluated against events that pass and events that
fail; and `RouteTable.match` over the same 1,000 webhooks (what the publish path calls).
Part 2 publishes through the service layer (`Services.publish`: validation, fan-out, the
store's statement or transaction, commit; no HTTP, no dispatcher) on a fresh database.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench.common import Context, Result, Target, log
from promptha_webhooks.config import Mode, Settings
from promptha_webhooks.delivery import AiohttpTransport
from promptha_webhooks.routing import RouteTable, route_of
from promptha_webhooks.secret_box import KeyRing, generate_key_entry
from promptha_webhooks.services import Services
from promptha_webhooks.services.webhooks import WebhookDefinition
from promptha_webhooks.store import create_database
from promptha_webhooks.store.database import migrate_sync

NAME = "routing"
WEBHOOKS = 1000
FEW = 10
PUBLISHES = 400
MATCH_TARGET_US = 10.0
RATIO_TARGET = 2.0
ROUNDS = 5
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

SHAPES: list[dict[str, Any]] = [
    {"fabricId": ["product-description", "seo-optimizer"]},
    {"data.usage.totalTokens": {"$gt": 1000}},
    {"usage.totalTokens": {"$gte": 100, "$lt": 100000}, "fabricId": {"$prefix": "product-"}},
    {"$or": [{"fabricId": ["a", "b", "c"]}, {"usage.totalTokens": {"$gt": 5000}}]},
    {"$and": [{"result.score": {"$gte": 0.5}}, {"$not": {"fabricId": {"$in": ["x", "y"]}}}]},
    {"executionId": {"$exists": True}, "result.labels": {"$exists": False}},
]
EVENTS: list[dict[str, Any]] = [
    {
        "executionId": "e1",
        "fabricId": "product-description",
        "result": {"score": 0.9},
        "usage": {"promptTokens": 2000, "completionTokens": 500, "totalTokens": 2500},
    },
    {
        "executionId": "e2",
        "fabricId": "zzz",
        "result": {"score": 0.1, "labels": []},
        "usage": {"totalTokens": 40},
    },
]


def matching_figures(say: Callable[[str], None] = print) -> tuple[float, float]:
    """µs per webhook per event: a compiled filter's evaluation, and RouteTable.match's."""
    routes = [
        route_of('["fabric.*"]', orjson.dumps(SHAPES[i % len(SHAPES)]).decode())
        for i in range(WEBHOOKS)
    ]
    tests = [route.filter.test for route in routes if route.filter is not None]
    per_eval: list[float] = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for data in EVENTS * 50:
            for test in tests:
                test(data)
        per_eval.append((time.perf_counter() - started) / (len(tests) * len(EVENTS) * 50))
    say(f"filter evaluation: {statistics.median(per_eval) * 1e6:.3f} µs per webhook per event")
    say(f"  ({len(tests)} compiled filters of {len(SHAPES)} shapes, median of {ROUNDS} rounds)")

    # The table the publish path uses: 1,000 webhooks, each anchored on its own fabricId, but
    # one in ten with a filter that cannot be anchored (evaluated for every event).
    entries = []
    for i in range(WEBHOOKS):
        document = (
            {"usage.totalTokens": {"$gt": 10**9}} if i % 10 == 0 else {"fabricId": [f"fab_{i}"]}
        )
        entries.append((i, route_of('["fabric.*"]', orjson.dumps(document).decode())))
    table: RouteTable[int] = RouteTable(entries)
    data = EVENTS[0] | {"fabricId": "fab_7"}
    assert table.match("fabric.completed", data) == [7]
    per_event: list[float] = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(2000):
            table.match("fabric.completed", data)
        per_event.append((time.perf_counter() - started) / 2000)
    median = statistics.median(per_event)
    say(
        f"RouteTable.match, {WEBHOOKS} webhooks: {median * 1e6:.1f} µs per event = "
        f"{median * 1e6 / WEBHOOKS:.3f} µs per webhook per event"
    )
    naive: list[float] = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(200):
            [t for t, route in entries if route.matches("fabric.completed", data)]
        naive.append((time.perf_counter() - started) / 200)
    say(f"  (every route evaluated instead: {statistics.median(naive) * 1e6:.1f} µs per event)")
    return statistics.median(per_eval) * 1e6, median * 1e6 / WEBHOOKS


async def seed(services: Services, webhooks: int) -> str:
    """An account with `webhooks` webhooks: nine in ten anchored on their own fabricId (half
    of them by the fabric.* pattern), one in ten with a filter that must be evaluated for
    every fabric.completed event and never matches. An event with fabricId f0 matches one."""
    account = (await services.create_account(f"bench-{webhooks}")).account.id
    for i in range(webhooks):
        scanned = i % 10 == 9
        await services.create_webhook(
            account,
            WebhookDefinition(
                url=f"http://127.0.0.1:9/h{i}",
                events=["fabric.*" if i % 2 and not scanned else "fabric.completed"],
                filters=(
                    {"usage.totalTokens": {"$gt": 10**9}} if scanned else {"fabricId": [f"f{i}"]}
                ),
            ),
        )
    return account


async def publish_costs(url: str, publishes: int = PUBLISHES) -> dict[int, float]:
    """Median µs of a publish on the account with FEW webhooks and on the one with WEBHOOKS,
    in the same database, measured in alternating blocks (the machine's load hits both)."""
    settings = Settings(
        database_url=url,
        mode=Mode.DEVELOPMENT,
        admin_key="bench_admin_key_0123456789",
        encryption_keys=KeyRing.parse(generate_key_entry()),
    )
    await asyncio.to_thread(migrate_sync, url)
    database = create_database(url, settings.key_ring())
    services = Services(settings, database, AiohttpTransport(settings))
    try:
        accounts = {count: await seed(services, count) for count in (FEW, WEBHOOKS)}
        data = EVENTS[0] | {"fabricId": "f0"}
        blocks: dict[int, list[float]] = {count: [] for count in accounts}
        for round_ in range(ROUNDS * 2 + 1):
            for count, account in accounts.items():
                started = time.perf_counter()
                for _ in range(publishes // 4):
                    event, _ = await services.publish(account, "fabric.completed", data)
                    assert event.delivery_count == 1
                if round_:  # the first round warms up
                    blocks[count].append((time.perf_counter() - started) / (publishes // 4))
        return {count: statistics.median(times) * 1e6 for count, times in blocks.items()}
    finally:
        await database.dispose()


async def scratch_postgres() -> tuple[str, str]:
    name = f"bench_routing_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name, f"postgresql://postgres@127.0.0.1:5432/{name}"


async def drop_postgres(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def publish_figures(
    backend: str, publishes: int = PUBLISHES, say: Callable[[str], None] = print
) -> dict[int, float]:
    if backend == "postgresql":
        name, url = await scratch_postgres()
        try:
            costs = await publish_costs(url, publishes)
        finally:
            await drop_postgres(name)
    else:
        with tempfile.TemporaryDirectory() as directory:
            costs = await publish_costs(f"sqlite:///{Path(directory) / 'b.db'}", publishes)
    ratio = costs[WEBHOOKS] / costs[FEW]
    say(
        f"publish on {backend}: {costs[FEW]:.0f} µs with {FEW} webhooks, {costs[WEBHOOKS]:.0f} µs "
        f"with {WEBHOOKS}: {ratio:.2f}× (target ≤ {RATIO_TARGET:g}×)"
    )
    return costs


async def run(ctx: Context) -> list[Result]:
    """The suite's rows (`python -m bench --only routing`): matching per webhook per event, and
    per backend a publish's cost with 1,000 webhooks against the one with 10 as baseline."""
    evaluation, indexed = matching_figures(log)
    results = [
        Result(
            "routing/match",
            evaluation,
            "µs",
            target=Target("<", MATCH_TARGET_US, unit=" µs"),
            notes=[
                f"one compiled filter, per webhook per event ({WEBHOOKS} filters of "
                f"{len(SHAPES)} shapes)",
                f"RouteTable.match over {WEBHOOKS} webhooks: {indexed:.3f} µs per webhook",
            ],
        )
    ]
    publishes = max(40, ctx.scale(PUBLISHES))
    for backend in ctx.backends(("sqlite", "postgresql")):
        log(f"routing/{backend}: seeding {FEW} and {WEBHOOKS} webhooks, then publishing")
        costs = await publish_figures(backend, publishes, log)
        results.append(
            Result(
                f"routing/publish-{WEBHOOKS}/{backend}",
                costs[WEBHOOKS],
                "µs",
                baseline=costs[FEW],
                baseline_label=f"{FEW} webhooks",
                target=Target("<=", RATIO_TARGET, of_baseline=True),
                notes=[
                    f"one publish (service layer, one matching webhook) on an account with "
                    f"{WEBHOOKS} webhooks vs {FEW}; median of {ROUNDS * 2} alternating blocks "
                    f"of {publishes // 4}"
                ],
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    options = parser.parse_args()
    matching_figures()
    for backend in ("sqlite", "postgresql"):
        if options.backend in (backend, "both"):
            asyncio.run(publish_figures(backend))


if __name__ == "__main__":
    main()
