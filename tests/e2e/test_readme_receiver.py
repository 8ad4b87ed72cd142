"""The README's local receiver, run as the README writes it (only the port differs): the quick
start's webhook and test event reach it and it answers 200, and `listen` forwards to it when
it is given the secret `listen` prints."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import ADMIN_KEY, ServiceProcess, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README_PORT = "3000"
README_SECRET = "your_webhook_secret"


def readme_receiver_command() -> tuple[dict[str, str], list[str]]:
    """The receiver line of the README's quick start: its environment and its argv."""
    lines = [
        line
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("WEBHOOK_SECRET=") and "basic_fastapi:app" in line
    ]
    assert len(lines) == 1, lines
    words = shlex.split(lines[0])
    env = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == ".venv/bin/uvicorn", words
    return env, words[1:]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess(f"sqlite:///{tmp_path / 'readme.db'}", tmp_path / "serve.log")
    try:
        yield process
    finally:
        process.stop()


class ReadmeReceiver:
    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, readme_url: str) -> str:
        return readme_url.replace(f":{README_PORT}/", f":{self.port}/")

    async def start(self, secret: str | None = None) -> None:
        env, args = readme_receiver_command()
        assert env == {"WEBHOOK_SECRET": README_SECRET}
        if secret is not None:  # what the README says to do for `listen`
            env["WEBHOOK_SECRET"] = secret
        port_at = args.index("--port")
        assert args[port_at + 1] == README_PORT
        args[port_at + 1] = str(self.port)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", *args],
                cwd=ROOT,
                env=os.environ | env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as client:
            while True:
                assert self.process.poll() is None, self.log.read_text()
                try:
                    await client.get(f"http://127.0.0.1:{self.port}/")
                    return
                except httpx.TransportError:
                    assert time.monotonic() < deadline, self.log.read_text()
                    await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


@pytest.fixture
def readme_receiver(tmp_path: Path) -> Iterator[ReadmeReceiver]:
    receiver = ReadmeReceiver(tmp_path / "receiver.log")
    try:
        yield receiver
    finally:
        receiver.stop()


async def account_key(server: ServiceProcess) -> str:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = await client.post("/v1/accounts", json={"name": "Dev"}, headers=admin)
    assert created.status_code == 201, created.text
    key: str = created.json()["apiKey"]["key"]
    return key


async def test_the_quick_start_receiver_gets_the_guide_calls(
    server: ServiceProcess, readme_receiver: ReadmeReceiver
) -> None:
    server.start()
    await server.wait_ready()
    await readme_receiver.start()
    auth = {"Authorization": f"Bearer {await account_key(server)}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        webhook = await client.post(
            "/v1/webhooks",
            json={
                "url": readme_receiver.url("http://127.0.0.1:3000/webhooks/promptha"),
                "events": ["fabric.completed", "fabric.failed", "ask.message"],
                "secret": README_SECRET,
            },
            headers=auth,
        )
        assert webhook.status_code == 201, webhook.text
        test = await client.post(
            "/v1/webhooks/test",
            json={
                "webhookId": webhook.json()["id"],
                "event": "fabric.completed",
                "data": {"executionId": "test_123", "result": {"output": "Test result"}},
            },
            headers=auth,
        )
    result = test.json()
    assert result["success"] is True, result
    [attempt] = result["delivery"]["attempts"]
    assert attempt["responseStatus"] == 200
    assert "processed" in attempt["responseBody"]


async def test_listen_forwards_to_the_receiver_given_its_secret(
    server: ServiceProcess, readme_receiver: ReadmeReceiver, tmp_path: Path
) -> None:
    server.start()
    await server.wait_ready()
    key = await account_key(server)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")}
    base = [sys.executable, "-m", "promptha_webhooks.cli", "--api-url", server.url]
    log = tmp_path / "listen.out"
    forward_to = readme_receiver.url("http://localhost:3000/webhooks/promptha")
    with log.open("wb") as out:
        listen = subprocess.Popen(
            [*base, "--api-key", key, "listen", "--forward-to", forward_to],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        while not (found := re.search(r"signing secret is (whsec_\S+)", log.read_text())):
            assert listen.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)
        await readme_receiver.start(secret=found.group(1))
        triggered = await asyncio.to_thread(
            subprocess.run,
            [*base, "--api-key", key, "trigger", "fabric.completed"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert triggered.returncode == 0, triggered.stderr
        deadline = time.monotonic() + 15
        while "[200]" not in log.read_text():
            assert "[401]" not in log.read_text(), log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)
    finally:
        listen.terminate()
        listen.wait(15)
