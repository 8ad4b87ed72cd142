"""The receiver SDK's allow-list from the service's published egress list: fetched live from a
running `serve` (blocking and async), or read from a pinned copy; and everything that is not a
usable list refused with EgressListError (never an empty allow-list)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from aiohttp import web

from promptha_webhooks.receiver import EgressListError, IPAllowList

from support import ServiceProcess

EXAMPLE = Path(__file__).parents[2] / "docs" / "receiver_examples" / "ip_allowlist_published.py"
CIDRS = "203.0.113.0/24, 2001:db8::/32"
UPDATED_AT = "2026-12-01T09:00:00Z"


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    process = ServiceProcess(
        f"sqlite:///{tmp_path / 'ips.db'}",
        tmp_path / "service.log",
        "serve",
        PROMPTHA_WEBHOOKS_EGRESS_CIDRS=CIDRS,
        PROMPTHA_WEBHOOKS_EGRESS_UPDATED_AT=UPDATED_AT,
    )
    process.start()
    try:
        await process.wait_ready()
        yield process
    finally:
        process.stop()


def check_list(allow_list: IPAllowList, version: str) -> None:
    assert allow_list.check("203.0.113.9")
    assert allow_list.check("2001:db8::1")
    assert not allow_list.check("198.51.100.1")
    assert allow_list.published is not None
    assert allow_list.published.version == version
    assert allow_list.published.updated_at.isoformat() == "2026-12-01T09:00:00+00:00"


async def test_from_promptha_blocking_and_async(service: ServiceProcess) -> None:
    version = httpx.get(f"{service.url}/v1/ips").json()["version"]
    for url in (service.url, service.url + "/", service.url + "/v1/ips"):
        check_list(await asyncio.to_thread(IPAllowList.from_promptha, url, timeout=10), version)
        check_list(await IPAllowList.from_promptha_async(url, timeout=10), version)
    # Behind the receiver's own proxy, X-Forwarded-For is believed from it only.
    proxied = await IPAllowList.from_promptha_async(service.url, trusted_proxies=["10.0.0.0/8"])
    assert proxied.check("10.1.2.3", "203.0.113.50")
    assert not proxied.check("10.1.2.3", "198.51.100.1")
    assert not proxied.check("198.51.100.1", "203.0.113.50")


async def test_from_file_reads_a_pinned_copy(service: ServiceProcess, tmp_path: Path) -> None:
    answer = httpx.get(f"{service.url}/v1/ips")
    pinned = tmp_path / "promptha-ips.json"
    pinned.write_bytes(answer.content)
    check_list(IPAllowList.from_file(pinned), answer.json()["version"])
    check_list(IPAllowList.from_file(str(pinned)), answer.json()["version"])


VALID = {"version": "abc", "updatedAt": UPDATED_AT, "addresses": ["203.0.113.0/24"]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (b"[]", "must be a JSON object"),
        (json.dumps(VALID | {"addresses": []}).encode(), "holds no address"),
        (json.dumps(VALID | {"addresses": "203.0.113.0/24"}).encode(), "list of strings"),
        (json.dumps(VALID | {"addresses": [1]}).encode(), "list of strings"),
        (json.dumps(VALID | {"addresses": ["203.0.113.1/24"]}).encode(), "not valid"),
        (json.dumps(VALID | {"addresses": ["\ud800"]}).encode(), "not valid"),
        (json.dumps(VALID | {"updatedAt": "yesterday"}).encode(), "updatedAt"),
        (json.dumps(VALID | {"updatedAt": "2026-12-01T09:00:00"}).encode(), "updatedAt"),
        (json.dumps({k: v for k, v in VALID.items() if k != "version"}).encode(), "no version"),
        (b" " * (2 * 1024 * 1024), "larger than"),
    ],
)
def test_from_file_refuses_what_is_not_a_usable_list(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "ips.json"
    path.write_bytes(content)
    with pytest.raises(EgressListError, match=message) as raised:
        IPAllowList.from_file(path)
    assert str(path) in str(raised.value)


def test_from_file_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EgressListError, match="cannot read"):
        IPAllowList.from_file(tmp_path / "absent.json")


async def test_a_service_that_publishes_nothing_gives_no_allow_list(tmp_path: Path) -> None:
    process = ServiceProcess(f"sqlite:///{tmp_path / 'none.db'}", tmp_path / "service.log")
    process.start()
    try:
        await process.wait_ready()
        with pytest.raises(EgressListError, match="holds no address"):
            await IPAllowList.from_promptha_async(process.url)
    finally:
        process.stop()


async def test_an_error_answer_is_refused() -> None:
    async def unavailable(_request: web.Request) -> web.Response:
        return web.Response(status=503)

    app = web.Application()
    app.router.add_get("/v1/ips", unavailable)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        with pytest.raises(EgressListError, match="answered 503"):
            await IPAllowList.from_promptha_async(f"http://127.0.0.1:{port}", timeout=5)
    finally:
        await runner.cleanup()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose connections the kernel accepts and nobody ever answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


async def test_fetching_gives_up_after_its_timeout(silent_port: int) -> None:
    url = f"http://127.0.0.1:{silent_port}"
    with pytest.raises(EgressListError, match="Timeout"):
        await IPAllowList.from_promptha_async(url, timeout=0.3)
    with pytest.raises(EgressListError, match="Timeout"):
        await asyncio.to_thread(IPAllowList.from_promptha, url, timeout=0.3)


async def test_an_unreachable_service_is_named() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(EgressListError, match=f"cannot fetch http://127.0.0.1:{port}/v1/ips"):
        await IPAllowList.from_promptha_async(f"http://127.0.0.1:{port}", timeout=5)


def load_example(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    """docs/receiver_examples/ip_allowlist_published.py, imported afresh with `env`."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("ip_allowlist_published", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_documented_example_loads_the_live_list_and_a_pinned_copy(
    service: ServiceProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PROMPTHA_IPS_FILE", raising=False)
    live = await asyncio.to_thread(
        load_example, monkeypatch, PROMPTHA_URL=service.url, WEBHOOK_SECRET="whsec_x"
    )
    assert live.allow.check("203.0.113.9") and not live.allow.check("198.51.100.1")
    pinned = tmp_path / "promptha-ips.json"
    pinned.write_bytes(httpx.get(f"{service.url}/v1/ips").content)
    service.stop()  # the pinned copy needs no service
    offline = load_example(monkeypatch, PROMPTHA_IPS_FILE=str(pinned), PROMPTHA_URL="http://x")
    assert offline.allow.check("2001:db8::5") and not offline.allow.check("192.0.2.1")
