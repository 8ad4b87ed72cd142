"""What `make run` does on a fresh machine: migrate ./data, print the URL and first keys, and
serve the guide's calls with them (the README's quick start, as HTTP calls)."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support import Receiver, free_port

pytestmark = pytest.mark.slow


async def _wait_for_banner(log: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "Listening on" in text:
            return text
        assert process.poll() is None, text
        await asyncio.sleep(0.1)
    raise AssertionError("no banner:\n" + log.read_text(errors="replace"))


async def test_first_start_prints_keys_and_serves_the_quick_start(
    tmp_path: Path, receiver: Receiver
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")}
    # As `make run` sets it: the checkout's ./data (the default is the per-user directory).
    env |= {
        "PROMPTHA_WEBHOOKS_MODE": "development",
        "PROMPTHA_WEBHOOKS_PORT": str(port),
        "PROMPTHA_WEBHOOKS_DATA_DIR": str(tmp_path / "data"),
    }
    log = tmp_path / "out.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "promptha_webhooks.cli", "serve"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        banner = await _wait_for_banner(log, process)
        assert f"http://127.0.0.1:{port}" in banner
        assert (tmp_path / "data" / "promptha-webhooks.db").exists()
        admin_match = re.search(r"Admin key \(shown once\): (pwa_\S+)", banner)
        account_match = re.search(
            r"API key of account 'Development' \(shown once\): (pwk_\S+)", banner
        )
        assert admin_match and account_match, banner
        api = f"http://127.0.0.1:{port}"
        admin = {"Authorization": f"Bearer {admin_match.group(1)}"}
        auth = {"Authorization": f"Bearer {account_match.group(1)}"}
        async with httpx.AsyncClient(base_url=api, timeout=30) as client:
            for _ in range(100):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            webhook = await client.post(
                "/v1/webhooks",
                json={
                    "url": receiver.url("/webhooks/promptha"),
                    "events": [
                        "fabric.completed",
                        "fabric.failed",
                        "ask.message",
                        "credits.low",
                        "credits.depleted",
                    ],
                    "secret": "your_webhook_secret",
                },
                headers=auth,
            )
            assert webhook.status_code == 201, webhook.text
            webhook_id = webhook.json()["id"]
            test = await client.post(
                "/v1/webhooks/test",
                json={
                    "webhookId": webhook_id,
                    "event": "fabric.completed",
                    "data": {"executionId": "test_123", "result": {"output": "Test result"}},
                },
                headers=auth,
            )
            assert test.json()["success"] is True
            accounts = (await client.get("/v1/accounts", headers=admin)).json()["data"]
            [account] = [a for a in accounts if a["name"] == "Development"]
            published = await client.post(
                "/v1/events",
                json={
                    "account": account["id"],
                    "event": "credits.low",
                    "data": {"remaining": 120, "threshold": 500, "userId": "user_7d2f"},
                },
                headers=admin,
            )
            assert published.status_code == 201
            await receiver.wait_for(2, path="/webhooks/promptha")
    finally:
        process.terminate()
        process.wait(30)

    # A second start keeps the data and does not mint new keys; it names the account and the
    # command that mints a new key for it (keys are stored only as hashes), which works.
    with log.open("wb") as out:
        again = subprocess.Popen(
            [sys.executable, "-m", "promptha_webhooks.cli", "serve"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        banner = await _wait_for_banner(log, again)
        assert "shown once" not in banner
        assert "pwk_" not in banner and "pwa_" not in banner
        command = re.search(
            rf"Account 'Development': {account['id']} \(a new API key: "
            r"(promptha-webhooks keys create --account acct_\w+)\)",
            banner,
        )
        assert command, banner
        minted = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "promptha_webhooks.cli", *shlex.split(command.group(1))[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert minted.returncode == 0, minted.stderr
        new_key = minted.stdout.strip()
        assert new_key.startswith("pwk_")
        async with httpx.AsyncClient(base_url=api, timeout=30) as client:
            hooks = await client.get("/v1/webhooks", headers={"Authorization": f"Bearer {new_key}"})
            assert hooks.status_code == 200, hooks.text
            assert [h["id"] for h in hooks.json()["data"]] == [webhook_id]
    finally:
        again.terminate()
        again.wait(30)
