"""The guide's Express handler (tests/node/server.js) as a real Node process on 127.0.0.1, for
tests that check deliveries against a receiver written exactly like the guide's.

`npm ci` runs once per session (node_modules is kept between sessions while package-lock.json
is unchanged); without node/npm the tests skip with one line, and fail under CI=true. The
receiver holds ONE secret, read from a file on every request: `set_secret` switches it while
the server runs, as the receiver's owner would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import IN_CI

NODE_DIR = Path(__file__).resolve().parent / "node"
NPM_CI_TIMEOUT_S = 300
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
PATH = "/webhooks/promptha"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the Node receiver tests must run)")
    pytest.skip(reason)


def _install() -> None:
    """`npm ci` unless node_modules already matches package-lock.json."""
    stamp = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=NPM_CI_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        _unavailable(f"npm ci failed in {NODE_DIR}: {result.stderr.strip()[-500:]}")


@dataclass
class NodeReceiver:
    """A running tests/node/server.js; `url` is its webhook endpoint."""

    process: subprocess.Popen[bytes]
    port: int
    secret_file: Path
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def set_secret(self, secret: str) -> None:
        """Switch the receiver's one secret (takes effect from its next request)."""
        temporary = self.secret_file.with_suffix(".tmp")
        temporary.write_text(secret)
        temporary.replace(self.secret_file)

    def received(self) -> list[dict[str, Any]]:
        """What the handler accepted, in order: [{"event", "eventId"}, …] (standard_receiver.js:
        [{"eventId", "webhookId", "entries"}, …])."""
        response = httpx.get(f"http://127.0.0.1:{self.port}/received", timeout=5)
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()
        return data

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


def start_node_receiver(
    directory: Path, secret: str, *, script: str = "server.js", secret_variable: str = "SECRET_FILE"
) -> NodeReceiver:
    """`script` under tests/node, reading its secret (or keys) from the file named by the
    environment variable `secret_variable`."""
    secret_file = directory / "webhook-secret"
    secret_file.write_text(secret)
    log_file = directory / "node-receiver.log"
    env = {**os.environ, "PORT": "0", secret_variable: str(secret_file)}
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            ["node", script], cwd=NODE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        for line in log_file.read_text(errors="replace").splitlines():
            if line.startswith("listening "):
                return NodeReceiver(process, int(line.split()[1]), secret_file, log_file)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait(STOP_TIMEOUT_S)
    raise AssertionError(f"the Node receiver did not start:\n{log_file.read_text()}")


@pytest.fixture(scope="session")
def node_installed() -> None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is not installed: the guide's Express receiver cannot run")
    _install()


def _stop(receiver: NodeReceiver) -> None:
    receiver.process.terminate()
    try:
        receiver.process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        receiver.process.kill()
        receiver.process.wait(STOP_TIMEOUT_S)


@pytest.fixture
def node_receiver(node_installed: None, tmp_path: Path) -> Iterator[NodeReceiver]:
    """The guide's handler, holding the secret "whsec_initial" until `set_secret`."""
    receiver = start_node_receiver(tmp_path, "whsec_initial")
    try:
        yield receiver
    finally:
        _stop(receiver)


@pytest.fixture
def node_standard_receiver(node_installed: None, tmp_path: Path) -> Iterator[NodeReceiver]:
    """tests/node/standard_receiver.js: Standard Webhooks v1a (Ed25519) verified with Node's
    crypto.verify under the whpk_ public keys `set_secret` gives it (one a line; none yet)."""
    receiver = start_node_receiver(
        tmp_path, "", script="standard_receiver.js", secret_variable="KEYS_FILE"
    )
    try:
        yield receiver
    finally:
        _stop(receiver)


def ensure_node_modules() -> None:
    """tests/node's npm packages (the Express receiver, axe-core) installed, or skip (fail under
    CI=true) with one line where node or npm is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        _unavailable("node and npm are needed (apt-get install -y nodejs npm)")
    _install()
