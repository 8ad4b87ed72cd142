"""Starting and stopping the real process as a newcomer does: a port someone else holds is one
clear line and a non-zero exit (nothing set up, no banner), and a second Ctrl-C ends a
graceful shutdown that is waiting for an attempt in flight."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from support import ADMIN_KEY, ReceivedRequest, Receiver, ServiceProcess

pytestmark = pytest.mark.slow

# Long enough that only a forced exit can end the test's waits in time.
LONG_GRACE_S = 120
EXIT_WAIT_S = 15


def test_a_taken_port_is_one_clear_line_and_a_failed_exit(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")}
        # As `make run` sets it: the checkout's ./data (the default is the per-user directory).
        env |= {
            "PROMPTHA_WEBHOOKS_MODE": "development",
            "PROMPTHA_WEBHOOKS_PORT": str(port),
            "PROMPTHA_WEBHOOKS_DATA_DIR": str(tmp_path / "data"),
        }
        result = subprocess.run(
            [sys.executable, "-m", "promptha_webhooks.cli", "serve"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 1, output
    [line] = output.splitlines()
    assert f"Port {port} is already in use on 127.0.0.1" in line
    assert "--port" in line
    # Nothing was set up before the port was known to be free: no database, no keys.
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("holder", ["serve", "worker"])
async def test_a_second_ctrl_c_exits_at_once(
    holder: str, tmp_path: Path, receiver: Receiver
) -> None:
    """The attempt in flight hangs; the first Ctrl-C starts the graceful shutdown, which waits
    for it (up to the grace); the second one ends the process at once."""
    release = asyncio.Event()

    async def hang(_request: ReceivedRequest) -> web.Response:
        await release.wait()
        return web.Response(text="late")

    receiver.responders["/slow"] = hang
    database_url = f"sqlite:///{tmp_path / 'stop.db'}"
    slow = {
        "PROMPTHA_WEBHOOKS_SHUTDOWN_GRACE": str(LONG_GRACE_S),
        "PROMPTHA_WEBHOOKS_DELIVERY_TIMEOUT": str(LONG_GRACE_S),
        "PROMPTHA_WEBHOOKS_LEASE": str(LONG_GRACE_S * 2),
    }
    if holder == "serve":
        api = ServiceProcess(database_url, tmp_path / "serve.log", **slow)
        stopped = api
    else:
        api = ServiceProcess(database_url, tmp_path / "api.log", "serve", "--no-dispatcher")
        stopped = ServiceProcess(database_url, tmp_path / "worker.log", "worker", **slow)
    processes = [api] if stopped is api else [api, stopped]
    try:
        api.start()
        await api.wait_ready()
        if stopped is not api:
            stopped.start()
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            created = await client.post("/v1/accounts", json={"name": "Stop"}, headers=admin)
            account = created.json()["account"]["id"]
            auth = {"Authorization": f"Bearer {created.json()['apiKey']['key']}"}
            webhook = await client.post(
                "/v1/webhooks",
                json={"url": receiver.url("/slow"), "events": ["credits.low"]},
                headers=auth,
            )
            assert webhook.status_code == 201, webhook.text
            published = await client.post(
                "/v1/events",
                json={
                    "account": account,
                    "event": "credits.low",
                    "data": {"remaining": 1, "threshold": 2, "userId": "u"},
                },
                headers=admin,
            )
            assert published.status_code == 201, published.text
        await receiver.wait_for(1, path="/slow", timeout=30)
        assert stopped.process is not None

        stopped.kill(signal.SIGINT)
        # Graceful: it waits for the attempt in flight, and says how to stop waiting.
        deadline = time.monotonic() + EXIT_WAIT_S
        while "Ctrl-C again" not in stopped.log_path.read_text(errors="replace"):
            assert stopped.process.poll() is None, stopped.log()
            assert time.monotonic() < deadline, stopped.log()
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        assert stopped.process.poll() is None, "the first Ctrl-C must not cut the attempt off"

        stopped.kill(signal.SIGINT)
        returncode = await asyncio.to_thread(stopped.wait_exit, EXIT_WAIT_S)
        assert returncode == 130, stopped.log()
        assert "Second Ctrl-C: exiting now" in stopped.log_path.read_text(errors="replace")
    finally:
        release.set()
        for process in processes:
            process.stop()
