"""Benchmark 4, fan-out: one event to 1,000 webhooks spread over 100 receiver ports on
127.0.0.1 (one receiver process listening on all of them), `serve` with the dispatcher: time
from just before the publish request to the last arrival. Several rounds on the same service;
the figure is their median (the first round also opens the connections). No target or
baseline in the issue.
"""

from __future__ import annotations

import time

import aiohttp

from bench.common import ADMIN_KEY, Context, Result, log
from bench.database import ScratchDatabase
from bench.receiver import OK, Receiver
from bench.seed import EVENT_TYPE, PAYLOAD, seed_account, seed_webhooks
from bench.service import ServiceProcess
from bench.timing import median

NAME = "fanout"
WEBHOOKS = 1000
PORTS = 100
ROUNDS = 5
QUICK_ROUNDS = 3
ROUND_TIMEOUT_S = 60.0


async def run(ctx: Context) -> list[Result]:
    rounds = QUICK_ROUNDS if ctx.options.quick else ROUNDS
    results: list[Result] = []
    for backend in ctx.backends(("postgresql",)):
        async with Receiver(PORTS) as receiver, ScratchDatabase(ctx, backend) as db:
            account = await seed_account(db)
            urls = [receiver.url(f"/{OK}/f{i}", i % PORTS) for i in range(WEBHOOKS)]
            await seed_webhooks(db, urls)
            service = ServiceProcess(ctx, f"fanout-{backend}", db.url, "serve")
            await service.start()
            times: list[float] = []
            notes: list[str] = []
            try:
                async with aiohttp.ClientSession() as session:
                    for index in range(rounds):
                        await receiver.reset()
                        body = {"account": account, "event": EVENT_TYPE, "data": PAYLOAD}
                        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
                        sent = time.monotonic()
                        async with session.post(
                            f"{service.url}/v1/events", json=body, headers=headers
                        ) as response:
                            answered = time.monotonic()
                            if response.status != 201:
                                raise RuntimeError(f"publish answered {response.status}")
                        stats, reached = await receiver.wait(
                            WEBHOOKS, group=OK, timeout=ROUND_TIMEOUT_S, alive=service
                        )
                        if not reached:
                            raise RuntimeError(
                                f"round {index + 1}: {stats.total} of {WEBHOOKS} arrived "
                                f"in {ROUND_TIMEOUT_S:g} s"
                            )
                        took = (stats.group(OK).last - sent) * 1000
                        first = (stats.group(OK).first - sent) * 1000
                        times.append(took)
                        log(
                            f"fanout/{backend} round {index + 1}: last arrival {took:.0f} ms "
                            f"(publish answered {(answered - sent) * 1000:.0f} ms, "
                            f"first arrival {first:.0f} ms)"
                        )
            finally:
                await service.stop()
        notes.append(
            "rounds (ms): " + ", ".join(f"{t:.0f}" for t in times) + " (first: cold connections)"
        )
        notes.append(f"{WEBHOOKS} webhooks over {PORTS} ports")
        results.append(Result(f"fanout/{backend}", median(times), "ms", notes=notes))
    return results
