"""Running the CLI in tests: a real service process for the session (SQLite), a fresh account
per test, the command invoked through Typer's CliRunner, and a raw capturing receiver."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

import httpx
import pytest
from typer.testing import CliRunner, Result

from promptha_webhooks.cli import app
from promptha_webhooks.client import Client

from support import ADMIN_KEY, ServiceProcess

# Wide enough that tables never wrap ids; colours off.
CLI_ENV: dict[str, str | None] = {
    "COLUMNS": "200",
    "NO_COLOR": "1",
    "PROMPTHA_WEBHOOKS_API_URL": None,
    "PROMPTHA_WEBHOOKS_API_KEY": None,
    "PROMPTHA_WEBHOOKS_SECRET": None,
}


@dataclass
class Cli:
    """The CLI pointed at the service with one account's key."""

    url: str
    key: str

    def client(self) -> Client:
        return Client(self.key, self.url)

    def __call__(self, *args: str, input: str | bytes | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(
            app, ["--api-url", self.url, "--api-key", self.key, *args], input=input, env=CLI_ENV
        )

    async def run(self, *args: str, input: str | bytes | None = None) -> Result:
        """Invoke in a thread, so receivers in this test's event loop can answer meanwhile."""
        return await asyncio.to_thread(self, *args, input=input)


def invoke(
    args: Sequence[str], input: str | bytes | None = None, env: dict[str, str] | None = None
) -> Result:
    """The CLI without the global options filled in."""
    return CliRunner().invoke(app, list(args), input=input, env=CLI_ENV | (env or {}))


def _wait_ready(process: ServiceProcess, timeout: float = 30.0) -> None:
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


_service: list[ServiceProcess] = []


def service_url(request: pytest.FixtureRequest) -> str:
    """The session's service (started on first use: starting takes seconds)."""
    if not _service:
        factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
        directory = factory.mktemp("cli-service")
        process = ServiceProcess(f"sqlite:///{directory / 'cli.db'}", directory / "service.log")
        stack = ExitStack()
        stack.callback(_service.clear)
        stack.callback(process.stop)
        process.start()
        request.session.addfinalizer(stack.close)
        _service.append(process)
        _wait_ready(process)
    return _service[0].url


def new_cli(request: pytest.FixtureRequest) -> Cli:
    """The CLI with the key of a fresh account."""
    url = service_url(request)
    with Client(ADMIN_KEY, url) as admin:
        key = admin.accounts.create("CLI").api_key.key
    assert key is not None
    return Cli(url, key)


@dataclass
class RawCapture:
    """A receiver that keeps each request's exact bytes, like `nc -l` would, and answers 200."""

    url: str = ""
    requests: list[bytes] = field(default_factory=list)
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/capture"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"{len(self.requests)} requests, wanted {count}"
            await asyncio.sleep(0.02)
        return self.requests
