"""Source addresses for real: a receiver host in its own network namespace (10.77.N.2, behind a
veth pair), this host with two addresses on its side (10.77.N.1 and 10.77.N.3), and
`promptha-webhooks serve` with PROMPTHA_WEBHOOKS_SOURCE_ADDRESSES: the receiver sees the
configured source, or both in turn. Also: a source address the host does not have stops the
start in one line.

The namespace and its veth pair have names unique to the test and are always deleted. Where
`ip netns add` fails (not root, no iproute2, a sandbox) the namespace tests skip with the
reason, under CI=true too; once a namespace exists, any failure fails.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from support import ADMIN_KEY, ServiceProcess, free_port

pytestmark = pytest.mark.slow

PAYLOAD = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}
SUBNET_PREFIX = "10.77"
IP_TIMEOUT_S = 20
READY_TIMEOUT_S = 20.0
DELIVERED_TIMEOUT_S = 30.0

# The receiver run inside the namespace: answers every request 200 and appends the peer address
# of each POST to the file it is given.
RECEIVER = """
import http.server, sys
address, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]

class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(log, "a") as out:
            out.write(self.client_address[0] + "\\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer((address, port), Handler).serve_forever()
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=IP_TIMEOUT_S)


def _free_subnet() -> str:
    """A 10.77.N.0/24 no interface of this host uses (another run's, say)."""
    used = subprocess.run(
        ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, timeout=IP_TIMEOUT_S
    ).stdout
    for _ in range(256):
        subnet = f"{SUBNET_PREFIX}.{secrets.randbelow(256)}"
        if f" {subnet}." not in used:
            return subnet
    pytest.fail(f"every {SUBNET_PREFIX}.N.0/24 is in use on this host")


@dataclass(frozen=True)
class NamespaceHost:
    namespace: str
    receiver_address: str  # inside the namespace
    host_addresses: tuple[str, str]  # this host's side of the veth pair


@contextmanager
def namespace_host() -> Iterator[NamespaceHost]:
    suffix = secrets.token_hex(3)
    namespace, host_side, peer_side = f"pwt{suffix}", f"pwh{suffix}", f"pwp{suffix}"
    try:
        ip("netns", "add", namespace)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        reason = detail.decode(errors="replace").strip() or str(exc)
        pytest.skip(f"cannot create a network namespace (needs root and iproute2): {reason}")
    try:
        subnet = _free_subnet()
        host = NamespaceHost(namespace, f"{subnet}.2", (f"{subnet}.1", f"{subnet}.3"))
        ip("link", "add", host_side, "type", "veth", "peer", "name", peer_side)
        ip("link", "set", peer_side, "netns", namespace)
        for address in host.host_addresses:
            ip("addr", "add", f"{address}/24", "dev", host_side)
        ip("link", "set", host_side, "up")
        ip("-n", namespace, "addr", "add", f"{host.receiver_address}/24", "dev", peer_side)
        ip("-n", namespace, "link", "set", peer_side, "up")
        ip("-n", namespace, "link", "set", "lo", "up")
        yield host
    finally:
        # Deleting the namespace deletes its end of the pair, and with it this host's end.
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=20)
        subprocess.run(["ip", "link", "del", host_side], capture_output=True, timeout=20)


@dataclass(frozen=True)
class NamespaceReceiver:
    url: str
    log: Path

    def peers(self) -> list[str]:
        return self.log.read_text().split() if self.log.exists() else []


@pytest.fixture
async def receiver_in_namespace(tmp_path: Path) -> AsyncIterator[NamespaceReceiver]:
    with namespace_host() as host:
        port = free_port()
        log = tmp_path / "peers.txt"
        script = tmp_path / "receiver.py"
        script.write_text(RECEIVER)
        errors = tmp_path / "receiver.err"
        command = ["ip", "netns", "exec", host.namespace, sys.executable, str(script)]
        with errors.open("wb") as stderr:
            process = subprocess.Popen(
                [*command, host.receiver_address, str(port), str(log)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        url = f"http://{host.receiver_address}:{port}"
        try:
            await _wait_answering(url, process, errors)
            yield NamespaceReceiver(f"{url}/hook", log)
        finally:
            process.kill()
            process.wait(10)


async def _wait_answering(url: str, process: subprocess.Popen[bytes], errors: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, errors.read_text(errors="replace")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"the receiver in the namespace did not answer at {url}")


@contextmanager
def running_service(
    tmp_path: Path, sources: str, command: str = "serve"
) -> Iterator[ServiceProcess]:
    service = ServiceProcess(
        f"sqlite:///{tmp_path / 'egress.db'}",
        tmp_path / "service.log",
        command,
        PROMPTHA_WEBHOOKS_SOURCE_ADDRESSES=sources,
    )
    service.start()
    try:
        yield service
    finally:
        service.stop()


async def deliver(service: ServiceProcess, url: str, events: int) -> None:
    """`events` events to one webhook at `url` (development mode: private addresses allowed),
    delivered."""
    await service.wait_ready()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        created = await client.post("/v1/accounts", json={"name": "Netns"}, headers=admin)
        assert created.status_code == 201, created.text
        account = created.json()["account"]["id"]
        auth = {"Authorization": f"Bearer {created.json()['apiKey']['key']}"}
        webhook = await client.post(
            "/v1/webhooks", json={"url": url, "events": ["fabric.completed"]}, headers=auth
        )
        assert webhook.status_code == 201, webhook.text
        webhook_id = webhook.json()["id"]
        for n in range(events):
            body = {"account": account, "event": "fabric.completed", "data": PAYLOAD | {"n": n}}
            published = await client.post("/v1/events", json=body, headers=admin)
            assert published.status_code == 201, published.text
        deadline = time.monotonic() + DELIVERED_TIMEOUT_S
        while True:
            page = await client.get(
                f"/v1/webhooks/{webhook_id}/deliveries",
                params={"status": "delivered", "limit": 100},
                headers=auth,
            )
            if len(page.json()["data"]) >= events:
                return
            assert time.monotonic() < deadline, f"not delivered:\n{service.log()}"
            await asyncio.sleep(0.1)


async def test_the_receiver_sees_the_configured_source_address(
    receiver_in_namespace: NamespaceReceiver, tmp_path: Path
) -> None:
    source = _host_address(receiver_in_namespace, 3)
    with running_service(tmp_path, source) as service:
        await deliver(service, receiver_in_namespace.url, events=3)
    assert receiver_in_namespace.peers() == [source] * 3


async def test_deliveries_spread_over_two_source_addresses(
    receiver_in_namespace: NamespaceReceiver, tmp_path: Path
) -> None:
    first, second = _host_address(receiver_in_namespace, 1), _host_address(receiver_in_namespace, 3)
    with running_service(tmp_path, f"{first},{second}") as service:
        await deliver(service, receiver_in_namespace.url, events=4)
        published = httpx.get(f"{service.url}/v1/ips", timeout=10).json()
    peers = receiver_in_namespace.peers()
    assert sorted(peers) == sorted([first, second] * 2), peers
    # No EGRESS_CIDRS: the source addresses are what the service publishes.
    assert published["addresses"] == sorted(f"{a}/32" for a in (first, second))


def _host_address(receiver: NamespaceReceiver, last: int) -> str:
    """This host's address .`last` in the receiver's subnet."""
    address = ipaddress.ip_address(receiver.url.split("//")[1].split(":")[0])
    return str(ipaddress.ip_address(int(address) - 2 + last))


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_source_address_this_host_does_not_have_stops_the_start(
    tmp_path: Path, command: str
) -> None:
    """192.0.2.0/24 is documentation space: no host has it. One line, exit 2, nothing served."""
    with running_service(tmp_path, "127.0.0.1, 192.0.2.77", command) as service:
        assert service.wait_exit(30) == 2
        log = service.log().strip()
    assert log.splitlines() == [
        "Configuration error: PROMPTHA_WEBHOOKS_SOURCE_ADDRESSES: 192.0.2.77 is not assigned "
        "to this host (no interface has it)"
    ]
