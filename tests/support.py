"""Test support shared by every test folder: PostgreSQL access, real HTTP receivers, the
service in-process (ASGI) and as a real process. Fixtures live in conftest.py."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from promptha_webhooks import ids
from promptha_webhooks.api import create_app
from promptha_webhooks.clock import Clock
from promptha_webhooks.config import Mode, Settings
from promptha_webhooks.destinations import ResolveFunc, system_resolve
from promptha_webhooks.secret_box import KeyRing
from promptha_webhooks.store.dispatch_statements import AttemptRow, DeliveryUpdate
from promptha_webhooks.store.health import HealthRow

PG_HOST = os.environ.get("PGHOST", "127.0.0.1")


PG_ADMIN_DSN = f"postgresql://postgres@{PG_HOST}:5432/test"


IN_CI = os.environ.get("CI", "").lower() == "true"


FAST_SCHEDULE = (0.0, 0.05, 0.05, 0.05, 0.05, 0.05)


ADMIN_KEY = "pwa_test_admin_key_0123456789"


# The fixed encryption key ring of every Store, app and service process the tests build (a
# base64 of 32 bytes 0x01…: test data, not a secret).
TEST_KEY_ID = "test1"
TEST_ENCRYPTION_KEYS = f"{TEST_KEY_ID}:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
TEST_KEY_RING = KeyRing.parse(TEST_ENCRYPTION_KEYS)


_pg_state: dict[str, str | None] = {}


def _postgres_problem() -> str | None:
    """None when PostgreSQL answers, else why not (checked once per session)."""
    if "problem" not in _pg_state:

        async def probe() -> None:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
            await conn.close()

        try:
            asyncio.run(probe())
            _pg_state["problem"] = None
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            _pg_state["problem"] = f"PostgreSQL at {PG_HOST}:5432 unreachable: {exc}"
    return _pg_state["problem"]


def require_postgres() -> None:
    problem = _postgres_problem()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"{problem} (CI=true: PostgreSQL tests must run)")
    pytest.skip(problem)


def pg_admin(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


class ManualClock:
    """A clock the test moves by hand (starts at the real time, so attempts' wall-clock
    timestamps and the service's notion of now agree until the test advances it)."""

    def __init__(self, start: float | None = None) -> None:
        self.t = time.time() if start is None else start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float


Responder = Callable[[ReceivedRequest], Any]


@dataclass
class Receiver:
    """A real aiohttp server on 127.0.0.1 that records every request.

    `script(path, [500, 503, 200])` answers those statuses in turn on that path (the last one
    repeats); `responders[path]` can instead be an async function returning a web.Response.
    """

    base_url: str = ""
    requests: list[ReceivedRequest] = field(default_factory=list)
    scripts: dict[str, list[int]] = field(default_factory=dict)
    responders: dict[str, Responder] = field(default_factory=dict)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    def url(self, path: str = "/hook") -> str:
        return self.base_url + path

    def script(self, path: str, statuses: list[int]) -> None:
        self.scripts[path] = list(statuses)

    def on(self, path: str) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        received = ReceivedRequest(
            request.path, dict(request.headers), await request.read(), time.time()
        )
        self.requests.append(received)
        async with self._arrived:
            self._arrived.notify_all()
        responder = self.responders.get(request.path)
        if responder is not None:
            response: web.StreamResponse = await responder(received)
            return response
        statuses = self.scripts.get(request.path, [200])
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        return web.Response(status=status, text=f"answer {status}")

    async def wait_for(
        self, count: int, *, path: str | None = None, timeout: float = 15.0
    ) -> list[ReceivedRequest]:
        """Wait until `count` requests arrived (on `path`, if given); fail after `timeout`."""

        def matching() -> list[ReceivedRequest]:
            return self.requests if path is None else self.on(path)

        deadline = time.monotonic() + timeout
        async with self._arrived:
            while len(matching()) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} requests on {path or 'any path'}, got {len(matching())}"
                    )
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except TimeoutError:
                    continue
        return matching()


@dataclass
class Service:
    """The running app (dispatcher included) and an API client with helpers."""

    client: httpx.AsyncClient
    app: Any
    settings: Settings

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_KEY}"}

    async def create_account(self, name: str = "Acme") -> tuple[str, dict[str, str]]:
        response = await self.client.post("/v1/accounts", json={"name": name}, headers=self.admin())
        assert response.status_code == 201, response.text
        body = response.json()
        return body["account"]["id"], {"Authorization": f"Bearer {body['apiKey']['key']}"}

    async def create_webhook(self, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
        fields.setdefault("events", ["fabric.completed"])
        response = await self.client.post("/v1/webhooks", json=fields, headers=auth)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def publish(
        self, account_id: str, event: str, data: dict[str, Any], **headers: str
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/events",
            json={"account": account_id, "event": event, "data": data},
            headers=self.admin() | headers,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_delivery(
        self,
        auth: dict[str, str],
        webhook_id: str,
        *,
        status: str,
        count: int = 1,
        timeout: float = 15.0,
    ) -> list[dict[str, Any]]:
        """Poll the delivery log until `count` deliveries of the webhook have `status`."""
        deadline = time.monotonic() + timeout
        while True:
            response = await self.client.get(
                f"/v1/webhooks/{webhook_id}/deliveries",
                params={"status": status, "limit": 100},
                headers=auth,
            )
            assert response.status_code == 200, response.text
            data: list[dict[str, Any]] = response.json()["data"]
            if len(data) >= count:
                return data
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(data)} deliveries {status}, wanted {count}")
            await asyncio.sleep(0.02)

    async def sql_row(self, sql: str, **params: Any) -> Any:
        """The one row a query returns, read from the service's database."""
        async with self.app.state.services.db.transaction() as conn:
            return (await conn.execute(text(sql), params)).one()

    async def orphan_attempts(self) -> int:
        """Attempts whose delivery is gone (none may be: attempts have no foreign key, and
        whatever deletes deliveries deletes their attempts)."""
        row = await self.sql_row(
            "SELECT count(*) FROM attempts AS a WHERE NOT EXISTS "
            "(SELECT 1 FROM deliveries AS d WHERE d.id = a.delivery_id)"
        )
        return int(row[0])


class ServiceFactory:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._stack: list[tuple[Any, httpx.AsyncClient]] = []

    async def __call__(
        self,
        *,
        mode: Mode = Mode.DEVELOPMENT,
        clock: Clock | None = None,
        resolve: ResolveFunc = system_resolve,
        **overrides: Any,
    ) -> Service:
        values: dict[str, Any] = {
            "database_url": self.database_url,
            "mode": mode,
            "admin_key": ADMIN_KEY,
            "retry_schedule_s": FAST_SCHEDULE,
            "poll_interval_s": 0.02,
            "shutdown_grace_s": 5.0,
            "encryption_keys": TEST_KEY_RING,
        }
        values.update(overrides)
        settings = Settings(**values)
        settings.validate()
        app = create_app(settings, clock=clock, resolve=resolve)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=60
        )
        self._stack.append((lifespan, client))
        return Service(client, app, settings)

    async def close(self) -> None:
        while self._stack:
            lifespan, client = self._stack.pop()
            await client.aclose()
            await lifespan.__aexit__(None, None, None)


@contextmanager
def sync_connection(url: str) -> Iterator[Connection]:
    """A blocking connection to the service's database (SQLite, or PostgreSQL through psycopg),
    for tests that read it outside an event loop."""
    engine = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=NullPool
    )
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def attempt_row(
    delivery_id: str, webhook_id: str, url: str, *, now: int, number: int = 1
) -> AttemptRow:
    """An attempt log row as the dispatcher writes it: answered 200."""
    return AttemptRow(
        id=ids.new_id(ids.ATTEMPT),
        delivery_id=delivery_id,
        number=number,
        trigger="scheduled",
        url=url,
        request_headers="{}",
        response_status=200,
        response_headers=None,
        response_body="ok",
        duration_ms=1.0,
        error=None,
        outcome="delivered",
        started_at=now,
        finished_at=now,
        webhook_id=webhook_id,
    )


def delivered_update(
    delivery_id: str, token: str | None, *, now: int, count: int = 1
) -> DeliveryUpdate:
    """A claimed delivery's outcome as the dispatcher writes it: delivered."""
    return DeliveryUpdate(
        delivery_id=delivery_id,
        token=token,
        status="delivered",
        attempt_count=count,
        next_attempt_at=None,
        last_status_code=200,
        last_error=None,
        updated_at=now,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServiceProcess:
    """`promptha-webhooks serve` (or another subcommand) as a child process."""

    def __init__(self, database_url: str, log_path: Path, *args: str, **env: str) -> None:
        self.args = args or ("serve",)
        self.port = free_port()
        self.log_path = log_path
        self.env = (
            os.environ
            | {
                "PROMPTHA_WEBHOOKS_DATABASE_URL": database_url,
                "PROMPTHA_WEBHOOKS_MODE": "development",
                "PROMPTHA_WEBHOOKS_ADMIN_KEY": ADMIN_KEY,
                # Fixed, so `serve` does not keep a generated one in ./data of the work tree.
                "PROMPTHA_WEBHOOKS_SESSION_SECRET": "test-session-secret-0123456789abcdef",
                "PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
                "PROMPTHA_WEBHOOKS_PORT": str(self.port),
                "PROMPTHA_WEBHOOKS_RETRY_SCHEDULE": "0,0.2,0.2,0.2,0.2,0.2",
                "PROMPTHA_WEBHOOKS_DELIVERY_TIMEOUT": "2",
                "PROMPTHA_WEBHOOKS_LEASE": "3",
                "PROMPTHA_WEBHOOKS_POLL_INTERVAL": "0.05",
            }
            | env
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "promptha_webhooks.cli", *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                assert self.process is not None and self.process.poll() is None, self.log()
                try:
                    if (await client.get(self.url + "/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("service did not start:\n" + self.log())

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait_exit(self, timeout: float = 30) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def healthy_row(webhook_id: str) -> HealthRow:
    """An HTTP webhook's health counters with nothing failed or warned."""
    return HealthRow(
        id=webhook_id,
        account_id="acct_1",
        url="https://example.com/hook",
        kind="http",
        enabled=True,
        disabled_reason=None,
        consecutive_failures=0,
        failed_deliveries=0,
        failing_since=None,
        last_success_at=None,
        last_failure_at=None,
        last_failure_reason=None,
        warned_level=0,
        alerted=False,
        disabled_at=None,
    )


ROTATION_GRACE_S = 3600


async def start_rotation(
    service: Service,
    auth: dict[str, str],
    webhook_id: str,
    new: str,
    *,
    grace_s: int = ROTATION_GRACE_S,
) -> str:
    """Rotate the webhook's secret to `new` through POST /v1/webhooks/{id}/rotate-secret with
    a grace period of `grace_s`: `new` signs as the current secret and the one it replaces
    as the previous one. Returns the previous secret."""
    path = f"/v1/webhooks/{webhook_id}"
    old = (await service.client.get(f"{path}/secret", headers=auth)).json()["secret"]
    rotated = await service.client.post(
        f"{path}/rotate-secret",
        json={"secret": new, "gracePeriodSeconds": grace_s},
        headers=auth,
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] == new
    previous: str = old
    return previous


@asynccontextmanager
async def loopback_receiver(
    handle: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    """An aiohttp app on 127.0.0.1 (a free port) answering every POST with `handle`; yields the
    URL to subscribe (`…/hook`)."""
    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


# A fixed egress list (GET /v1/ips), as set and as published, for the tests of `ips`.
EGRESS_CIDRS = "203.0.113.7, 198.51.100.0/24, 2001:db8:7::/48"
EGRESS_PUBLISHED = ["198.51.100.0/24", "203.0.113.7/32", "2001:db8:7::/48"]
EGRESS_UPDATED_AT = "2026-12-01T09:00:00Z"
EGRESS_READY_TIMEOUT_S = 30.0


@contextmanager
def egress_service(directory: Path) -> Iterator[str]:
    """The URL of a running service whose EGRESS_CIDRS is EGRESS_CIDRS."""
    process = ServiceProcess(
        f"sqlite:///{directory / 'egress.db'}",
        directory / "service.log",
        "serve",
        PROMPTHA_WEBHOOKS_EGRESS_CIDRS=EGRESS_CIDRS,
        PROMPTHA_WEBHOOKS_EGRESS_UPDATED_AT=EGRESS_UPDATED_AT,
    )
    process.start()
    try:
        deadline = time.monotonic() + EGRESS_READY_TIMEOUT_S
        while True:
            assert process.process is not None and process.process.poll() is None, process.log()
            try:
                if httpx.get(process.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "service did not start:\n" + process.log()
            time.sleep(0.05)
        yield process.url
    finally:
        process.stop()
