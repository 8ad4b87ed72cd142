"""The real `promptha-webhooks serve` process the client tests talk to, and helpers that give
each test an account of its own.

A process takes seconds to start, so one per backend (SQLite, a fresh PostgreSQL database)
serves the whole session: `shared_api`. Tests stay independent because each works in an
account it creates.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from promptha_webhooks.client import AsyncClient, Client, RetryPolicy

from support import ADMIN_KEY, PG_HOST, ServiceProcess, pg_admin, require_postgres

BACKENDS = ["sqlite", "postgresql"]
CLIENTS = ["blocking", "async"]
# Tests expect answers, not patience: retries stay fast.
FAST_RETRIES = RetryPolicy(max_retries=2, initial_delay_s=0.05, max_delay_s=0.2)


@dataclass
class RunningApi:
    url: str
    backend: str
    process: ServiceProcess

    def admin(self) -> Client:
        return Client(ADMIN_KEY, self.url, retry=FAST_RETRIES)

    def new_account(self, name: str = "Acme") -> tuple[str, str]:
        """A fresh account: (account id, its API key)."""
        with self.admin() as admin:
            created = admin.accounts.create(name)
        assert created.api_key.key is not None
        return created.account.id, created.api_key.key

    def client(self, name: str = "Acme") -> Client:
        """A client holding the key of a fresh account."""
        return Client(self.new_account(name)[1], self.url, retry=FAST_RETRIES)


def wait_ready(process: ServiceProcess, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.process is not None and process.process.poll() is None, process.log()
        try:
            if httpx.get(process.url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("service did not start:\n" + process.log())


@contextmanager
def _database(backend: str, directory: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'promptha.db'}"
        return
    require_postgres()
    name = f"pw_client_{secrets.token_hex(6)}"
    pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@{PG_HOST}:5432/{name}"
    finally:
        pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running_api(backend: str, directory: Path) -> Iterator[RunningApi]:
    """`serve` (API and dispatcher, development mode, fast retry schedule) on `backend`."""
    with _database(backend, directory) as database_url:
        process = ServiceProcess(database_url, directory / "service.log")
        process.start()
        try:
            wait_ready(process)
            yield RunningApi(process.url, backend, process)
        finally:
            process.stop()


_shared: dict[str, RunningApi] = {}


def shared_api(request: pytest.FixtureRequest, backend: str) -> RunningApi:
    """The session's service on `backend`, started on first use, stopped when the session ends."""
    if backend not in _shared:
        if backend == "postgresql":
            require_postgres()
        factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
        stack = ExitStack()
        _shared[backend] = stack.enter_context(running_api(backend, factory.mktemp(backend)))
        request.session.addfinalizer(stack.close)
        request.session.addfinalizer(lambda: _shared.pop(backend, None))
    return _shared[backend]


# Runs one use of a client (`lambda client: client.events.publish(...)`) and gives its result.
Run = Callable[[Callable[[Any], Any]], Awaitable[Any]]


@asynccontextmanager
async def either_client(
    kind: str, api_key: str, base_url: str, retry: RetryPolicy | None = None
) -> AsyncIterator[Run]:
    """A `Client` or an `AsyncClient` behind one awaitable `run`, so that one test checks both:
    the blocking client runs in a thread (the test's own servers keep serving meanwhile), the
    async one is awaited."""
    if kind == "blocking":
        with Client(api_key, base_url, retry=retry) as blocking:

            async def run_blocking(use: Callable[[Any], Any]) -> Any:
                return await asyncio.to_thread(use, blocking)

            yield run_blocking
    else:
        async with AsyncClient(api_key, base_url, retry=retry) as awaited:

            async def run_awaited(use: Callable[[Any], Any]) -> Any:
                return await use(awaited)

            yield run_awaited
