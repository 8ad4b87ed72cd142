"""Fixtures: fresh databases on both backends, real HTTP receivers on 127.0.0.1, and the service
itself (the real app and dispatcher, driven over ASGI by an httpx client). The classes and
helpers they use are in support.py (importable as `support` from any test folder)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from promptha_webhooks.store.database import migrate, migrate_sync

from support import (
    PG_HOST,
    Receiver,
    Service,
    ServiceFactory,
    free_port,
    pg_admin,
    require_postgres,
)

# The guide's Express receiver under Node (fixtures node_installed, node_receiver).
pytest_plugins = ["node_receiver"]


@pytest.fixture(scope="session", autouse=True)
def per_user_data_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The commands' per-user data directory (cli/data_dir.py: $XDG_DATA_HOME/promptha-webhooks)
    in a temporary directory, for this process and the commands the tests start: a command run
    without a SQLite URL or PROMPTHA_WEBHOOKS_DATA_DIR never writes to the real home."""
    directory = tmp_path_factory.mktemp("xdg-data-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(directory))
        yield directory


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    require_postgres()
    name = f"pw_test_{secrets.token_hex(6)}"
    pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@{PG_HOST}:5432/{name}"
    finally:
        pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'promptha.db'}"
        migrate_sync(url)
        yield url
    else:
        pg_url = request.getfixturevalue("fresh_postgres_url")
        migrate_sync(pg_url)
        yield pg_url


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recorder = Receiver()
    app = web.Application(client_max_size=10 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    recorder.base_url = f"http://127.0.0.1:{port}"
    try:
        yield recorder
    finally:
        await runner.cleanup()


@pytest.fixture
async def make_service(database_url: str) -> AsyncIterator[ServiceFactory]:
    factory = ServiceFactory(database_url)
    try:
        yield factory
    finally:
        await factory.close()


@pytest.fixture
async def service(make_service: ServiceFactory) -> Service:
    return await make_service()


@pytest.fixture
async def pg_service(fresh_postgres_url: str) -> AsyncIterator[Service]:
    """The service on a fresh PostgreSQL database only (for what SQLite cannot show)."""
    await migrate(fresh_postgres_url)
    factory = ServiceFactory(fresh_postgres_url)
    try:
        yield await factory()
    finally:
        await factory.close()


@dataclass
class MailSink:
    """Messages received by a real SMTP server (aiosmtpd) on 127.0.0.1."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Message] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, _server: object, _session: object, envelope: object) -> str:
        content: bytes = envelope.original_content  # type: ignore[attr-defined]
        with self._arrived:
            self.messages.append(message_from_bytes(content))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Message]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"expected {count} e-mails, got {len(self.messages)}")
            return list(self.messages)


@pytest.fixture
def smtp_server() -> Iterator[MailSink]:
    sink = MailSink(port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
