"""docs/receiver.md: every code block is an example file (or a command) and runs as written.

Each example is imported from docs/receiver_examples/ and driven with real signed deliveries.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient

from promptha_webhooks.receiver import Webhooks

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLES = DOCS / "receiver_examples"
SECRET = "whsec_receiver_tests_0123456789"
BLOCK_RE = re.compile(
    r"(?:<!-- example: (?P<file>[\w/.]+) -->\n)?```(?P<lang>\w*)\n(?P<code>.*?)```", re.S
)
Sign = Callable[..., Any]
LoadExample = Callable[..., ModuleType]


def doc_blocks() -> list[re.Match[str]]:
    return list(BLOCK_RE.finditer((DOCS / "receiver.md").read_text()))


def shell_commands() -> list[str]:
    return [
        line
        for block in doc_blocks()
        if block["lang"] == "sh"
        for line in block["code"].splitlines()
        if line.strip()
    ]


def test_every_python_block_is_an_example_file_verbatim() -> None:
    shown: set[str] = set()
    for block in doc_blocks():
        assert block["lang"] in {"python", "sh", "text"}, block.group(0)[:80]
        if block["lang"] == "python":
            assert block["file"], f"python block without an example marker: {block['code'][:80]}"
            assert block["code"] == (DOCS / block["file"]).read_text(), block["file"]
            shown.add(Path(block["file"]).name)
        else:
            assert not block["file"]
    assert shown == {path.name for path in EXAMPLES.glob("*.py")}


def test_the_shell_commands_are_the_ones_tested_below() -> None:
    assert shell_commands() == [
        "PYTHONPATH=. procrastinate --app=queue_app.app schema --apply",
        "PYTHONPATH=. procrastinate --app=queue_app.app worker --queues=promptha_webhooks",
    ]


@pytest.fixture
def load_example(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoadExample]:
    """``load_example("basic_fastapi", VAR="…")`` imports a fresh copy with that environment."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    loaded: list[str] = []

    def load(name: str, **env: str) -> ModuleType:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        sys.modules.pop(name, None)
        loaded.append(name)
        return importlib.import_module(name)

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


def test_basic_fastapi(
    load_example: LoadExample, signed: Sign, capsys: pytest.CaptureFixture[str]
) -> None:
    example = load_example("basic_fastapi")
    completed = signed()
    other = signed("ask.message", {"sessionId": "sess_1", "message": "hi"})
    with TestClient(example.app) as client:
        for delivery in (completed, other):
            response = client.post(
                "/webhooks/promptha", content=delivery.body, headers=delivery.headers
            )
            assert response.status_code == 200, response.text
        forged = client.post("/webhooks/promptha", content=completed.body, headers={})
        assert forged.status_code == 401
    out = capsys.readouterr().out
    assert "Received event: fabric.completed exec_9f3a2c71" in out
    assert "Unhandled event: ask.message" in out


def test_basic_flask(
    load_example: LoadExample, signed: Sign, capsys: pytest.CaptureFixture[str]
) -> None:
    example = load_example("basic_flask")
    delivery = signed()
    try:
        response = example.app.test_client().post(
            "/webhooks/promptha", data=delivery.body, headers=delivery.headers
        )
        assert response.status_code == 200, response.text
    finally:
        example.hooks.close()
    assert "Received event: fabric.completed exec_9f3a2c71" in capsys.readouterr().out


def test_basic_django(
    load_example: LoadExample,
    signed: Sign,
    urls: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from django.test import Client

    example = load_example("basic_django")
    urls(example)
    delivery = signed()
    try:
        response = Client().post(
            "/webhooks/promptha",
            data=delivery.body,
            content_type="application/json",
            headers=delivery.headers,
        )
        assert response.status_code == 200, response.content
    finally:
        example.hooks.close()
    assert "Received event: fabric.completed exec_9f3a2c71" in capsys.readouterr().out


async def test_event_handlers(
    load_example: LoadExample, signed: Sign, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlite3

    database = tmp_path / "app.db"
    example = load_example("event_handlers", APP_DATABASE=str(database))
    hooks: Webhooks = example.hooks
    deliveries = [
        signed(),
        signed(
            "fabric.failed",
            {
                "executionId": "exec_2",
                "fabricId": "f",
                "error": {"type": "rate_limit", "message": "slow down"},
            },
        ),
        signed("credits.low", {"remaining": 120, "threshold": 500, "userId": "user_7d2f"}),
    ]
    with caplog.at_level(logging.WARNING, logger="app.webhooks"):
        for delivery in deliveries:
            response = await hooks.handle(delivery.body, delivery.headers)
            assert response.status == 200, response.body
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT id, status, result, tokens_used, error FROM executions ORDER BY id"
        ).fetchall()
    db.close()
    assert rows == [
        ("exec_2", "failed", None, None, "slow down"),
        ("exec_9f3a2c71", "completed", '{"output": "Lightweight trail shoes."}', 246, None),
    ]
    messages = [record.getMessage() for record in caplog.records]
    assert any("Fabric execution failed: exec_2" in m for m in messages)
    assert any("Low credits for user_7d2f: 120" in m for m in messages)


def test_verify_by_hand(load_example: LoadExample, signed: Sign) -> None:
    example = load_example("verify_by_hand", OLD_WEBHOOK_SECRET="whsec_old_one")
    fresh = signed()
    for check in (example.check_raw, example.check_parsed):
        assert check(fresh.body, fresh.headers) == "authentic"
        old = signed(secret="whsec_old_one")
        assert check(old.body, old.headers) == "authentic"
        forged = signed(secret="whsec_forger")
        assert check(forged.body, forged.headers).startswith("rejected: signature does not match")
        assert check(fresh.body, {}).startswith("rejected: missing required header")
    stale = signed(timestamp=int(time.time()) - 3600)
    assert example.check_raw(stale.body, stale.headers).startswith("replay or clock skew")


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def idempotency_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.db'}"
    if request.param == "postgresql":
        url: str = request.getfixturevalue("fresh_postgres_url")
        return url
    request.getfixturevalue("redis_prefix")  # this test's keys are deleted afterwards
    redis_url: str = request.getfixturevalue("redis_url")  # skips (or fails in CI) without it
    return redis_url


async def test_idempotency(load_example: LoadExample, signed: Sign, idempotency_url: str) -> None:
    url = idempotency_url
    backend = url.split(":", 1)[0]
    example = load_example("idempotency", IDEMPOTENCY_URL=url)
    purchase = {"amount": 5000, "newBalance": 5120, "userId": "user_7d2f"}
    event_id = f"evt_docs_{backend}_{time.time_ns()}"
    try:
        statuses = []
        for attempt in (1, 2, 3):
            delivery = signed("credits.purchased", purchase, event_id=event_id, attempt=attempt)
            response = await example.hooks.handle(delivery.body, delivery.headers)
            statuses.append(response.json()["status"])
        assert statuses == ["processed", "duplicate", "duplicate"]
        assert example.balances == {"user_7d2f": 5000}
    finally:
        await example.hooks.aclose()
        if backend == "redis":
            redis.Redis.from_url(url).delete(f"promptha:webhooks:event:{event_id}")


async def test_queue_app_with_a_worker_process(
    load_example: LoadExample, signed: Sign, fresh_postgres_url: str
) -> None:
    env = os.environ | {
        "DATABASE_URL": fresh_postgres_url,
        "WEBHOOK_SECRET": SECRET,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    schema, worker_command = shell_commands()
    subprocess.run(["bash", "-c", schema], cwd=EXAMPLES, env=env, check=True, timeout=60)
    async with await psycopg.AsyncConnection.connect(fresh_postgres_url, autocommit=True) as db:
        await db.execute("CREATE TABLE fabric_results (execution_id text, result text)")

    example = load_example("queue_app", DATABASE_URL=fresh_postgres_url)
    delivery = signed()
    # TestClient runs the app on a loop of its own: off this test's loop.
    response = await asyncio.to_thread(_post_once, example.api, delivery)
    assert response == (202, "queued")

    worker = subprocess.Popen(
        ["bash", "-c", worker_command],
        cwd=EXAMPLES,
        env=env,
        start_new_session=True,  # its own process group: stopped as one below
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        rows: list[Any] = []
        deadline = time.monotonic() + 30
        while not rows and time.monotonic() < deadline:
            assert worker.poll() is None, worker.communicate()[0].decode()
            async with await psycopg.AsyncConnection.connect(fresh_postgres_url) as db:
                rows = await (await db.execute("SELECT * FROM fabric_results")).fetchall()
            await asyncio.sleep(0.1)
        assert rows == [("exec_9f3a2c71", '{"output": "Lightweight trail shoes."}')]
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        assert worker.stdout is not None
        worker.stdout.close()


def _post_once(app: Any, delivery: Any) -> tuple[int, str]:
    with TestClient(app) as client:
        response = client.post(
            "/webhooks/promptha", content=delivery.body, headers=delivery.headers
        )
        return response.status_code, response.json().get("status")


def test_ip_allowlist(load_example: LoadExample, signed: Sign) -> None:
    example = load_example("ip_allowlist")
    delivery = signed()
    via_proxy = {**delivery.headers, "X-Forwarded-For": "192.0.2.11"}
    cases = [
        (("192.0.2.10", 443), delivery.headers, 200),
        (("2001:db8:5::7", 443), delivery.headers, 200),
        (("10.1.2.3", 443), via_proxy, 200),
        (("10.1.2.3", 443), delivery.headers, 403),
        (("203.0.113.5", 443), via_proxy, 403),
    ]
    for peer, headers, status in cases:
        with TestClient(example.app, client=peer) as client:
            response = client.post("/webhooks/promptha", content=delivery.body, headers=headers)
            assert response.status_code == status, (peer, headers)


def test_testing_locally(load_example: LoadExample) -> None:
    example = load_example("test_my_webhooks")
    example.test_fabric_completed_is_processed()
    example.test_a_wrong_secret_is_refused()


def test_readme_python_blocks_are_example_files_verbatim() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    blocks = [b for b in BLOCK_RE.finditer(readme) if b["lang"] == "python"]
    assert blocks, "the README shows the receiver's basic handler"
    for block in blocks:
        assert block["file"], f"README python block without an example marker: {block['code'][:80]}"
        assert block["code"] == (DOCS.parent / block["file"]).read_text(), block["file"]
