"""`promptha-webhooks listen` and `trigger` end to end against the real service, as a developer
uses them: listen forwards to a local receiver, trigger sends an event, the local receiver
gets a request signed with the secret listen printed, and the delivery log records it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import ADMIN_KEY, Receiver, ServiceProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess(f"sqlite:///{tmp_path / 'listen.db'}", tmp_path / "serve.log")
    try:
        yield process
    finally:
        process.stop()


def cli(api_url: str, api_key: str, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "promptha_webhooks.cli",
        "--api-url",
        api_url,
        "--api-key",
        api_key,
        *args,
    ]


async def test_listen_and_trigger(
    server: ServiceProcess, receiver: Receiver, tmp_path: Path
) -> None:
    server.start()
    await server.wait_ready()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = (await client.post("/v1/accounts", json={"name": "Dev"}, headers=admin)).json()
    key = created["apiKey"]["key"]
    log = tmp_path / "listen.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")}
    with log.open("wb") as out:
        listener = subprocess.Popen(
            cli(
                server.url,
                key,
                "listen",
                "--forward-to",
                receiver.url("/webhooks/promptha"),
                "--events",
                "fabric.completed,credits.low",
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        while "Ready!" not in log.read_text():
            assert listener.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)
        secret_match = re.search(r"signing secret is (whsec_\S+)", log.read_text())
        assert secret_match, log.read_text()
        secret = secret_match.group(1)

        triggered = await asyncio.to_thread(
            subprocess.run,
            cli(server.url, key, "--json", "trigger", "fabric.completed"),
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert triggered.returncode == 0, triggered.stderr
        [request] = await receiver.wait_for(1, path="/webhooks/promptha", timeout=15)
        body = json.loads(request.body)
        assert body["event"] == "fabric.completed"
        timestamp = request.headers["x-promptha-timestamp"]
        expected = hmac.new(
            secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
        ).hexdigest()
        assert request.headers["x-promptha-signature"] == expected
        # The live line with the local answer (the "Ready!" line already names the event
        # type, so wait for the status), then the answer in the delivery log.
        deadline = time.monotonic() + 15
        while "[200]" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)
        assert body["data"]["eventId"] in log.read_text()
        auth = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            hooks = (await client.get("/v1/webhooks", headers=auth)).json()["data"]
            [session] = [w for w in hooks if w["url"] == "listen://default"]
            log_page = (
                await client.get(f"/v1/webhooks/{session['id']}/deliveries", headers=auth)
            ).json()["data"]
            [delivery] = log_page
            assert delivery["status"] == "delivered"
            assert delivery["eventId"] == body["data"]["eventId"]
    finally:
        listener.terminate()
        listener.wait(15)


async def wait_for_text(log: Path, text: str, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 30
    while text not in (content := log.read_text(errors="replace")):
        assert process.poll() is None, content
        assert time.monotonic() < deadline, content
        await asyncio.sleep(0.1)
    return content


async def test_a_second_listen_takes_over_and_the_first_says_so(
    server: ServiceProcess, receiver: Receiver, tmp_path: Path
) -> None:
    server.start()
    await server.wait_ready()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = (await client.post("/v1/accounts", json={"name": "Dev"}, headers=admin)).json()
    key = created["apiKey"]["key"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")}

    def start(name: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"{name}.out"
        with log.open("wb") as out:
            process = subprocess.Popen(
                cli(server.url, key, "listen", "--forward-to", receiver.url(f"/{name}")),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        return process, log

    async def trigger() -> str:
        triggered = await asyncio.to_thread(
            subprocess.run,
            cli(server.url, key, "--json", "trigger", "credits.low"),
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert triggered.returncode == 0, triggered.stderr
        event_id: str = json.loads(triggered.stdout)["id"]
        return event_id

    first, first_log = start("first")
    second: subprocess.Popen[bytes] | None = None
    try:
        await wait_for_text(first_log, "Ready!", first)
        assert "Took the stream over" not in first_log.read_text()
        first_event = await trigger()
        [request] = await receiver.wait_for(1, path="/first", timeout=15)
        assert json.loads(request.body)["data"]["eventId"] == first_event

        second, second_log = start("second")
        said = await wait_for_text(second_log, "Ready!", second)
        assert "Took the stream over from another `promptha-webhooks listen`" in said
        # The first is told: one clear line, and it stops (exit 1) instead of reconnecting.
        returncode = await asyncio.to_thread(first.wait, 30)
        assert returncode == 1, first_log.read_text()
        told = first_log.read_text()
        assert (
            "Stopped listening: another `promptha-webhooks listen` on this account "
            "(device 'default') took the stream over"
        ) in told
        assert "Traceback" not in told

        event_id = await trigger()
        [request] = await receiver.wait_for(1, path="/second", timeout=15)
        assert json.loads(request.body)["data"]["eventId"] == event_id
        assert len(receiver.on("/first")) == 1
        await wait_for_text(second_log, event_id, second)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(15)
