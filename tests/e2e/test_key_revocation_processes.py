"""Two real `serve --no-dispatcher` processes on one PostgreSQL database: a key revoked through
one is refused by the other within 1 s, though the other had just looked it up and cached it
(services/accounts.py: LISTEN/NOTIFY on revocation)."""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from promptha_webhooks.store.database import migrate

from support import ADMIN_KEY, ServiceProcess

pytestmark = pytest.mark.slow

REVOCATION_BOUND_S = 1.0
POLL_INTERVAL_S = 0.02
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


async def test_a_key_revoked_through_one_process_is_refused_by_another_within_1_s(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    await migrate(fresh_postgres_url)
    processes = [
        ServiceProcess(fresh_postgres_url, tmp_path / f"api-{n}.log", "serve", "--no-dispatcher")
        for n in range(2)
    ]
    with ExitStack() as stack:
        for process in processes:
            stack.callback(process.stop)
            process.start()
        for process in processes:
            await process.wait_ready()
        revoking, other = (httpx.AsyncClient(base_url=p.url, timeout=10) for p in processes)
        async with revoking, other:
            account = await revoking.post("/v1/accounts", json={"name": "A"}, headers=ADMIN)
            account_id = account.json()["account"]["id"]
            minted = await revoking.post(f"/v1/accounts/{account_id}/keys", headers=ADMIN)
            auth = {"Authorization": f"Bearer {minted.json()['key']}"}
            assert (await other.get("/v1/webhooks", headers=auth)).status_code == 200  # cached
            revoked = await revoking.delete(
                f"/v1/accounts/{account_id}/keys/{minted.json()['id']}", headers=ADMIN
            )
            assert revoked.status_code == 204
            deadline = time.monotonic() + REVOCATION_BOUND_S
            status = 200
            while status != 401 and time.monotonic() < deadline:
                status = (await other.get("/v1/webhooks", headers=auth)).status_code
                await asyncio.sleep(POLL_INTERVAL_S)
            assert status == 401, processes[1].log()
