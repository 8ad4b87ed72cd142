"""`make run` on a fresh checkout, into a venv of its own: it serves, its environment holds no
development tool, and every module the service may import loads from it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from support import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "promptha_webhooks"
BUILD_TIMEOUT_S = 600
# Need what the runtime does not install (see tests/unit/test_dependency_locks.py).
OPTIONAL_MODULES = {
    "promptha_webhooks.receiver.adapters.flask",
    "promptha_webhooks.receiver.adapters.django",
    "promptha_webhooks.receiver.idempotency.redis",
    "promptha_webhooks.receiver.queue.procrastinate",
}
DEV_TOOLS = {"pytest", "mypy", "ruff", "playwright", "hypothesis", "mini-racer", "django-stubs"}


def package_modules() -> list[str]:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__main__" or "migrations" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name not in OPTIONAL_MODULES:
            modules.append(name)
    return modules


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def test_make_run_installs_the_runtime_only_and_serves_from_it(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.fail("make is not installed: the README's commands need it")
    venv = tmp_path / "venv"
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PROMPTHA_WEBHOOKS_", "VIRTUAL"))
    }
    env |= {
        "PROMPTHA_WEBHOOKS_PORT": str(port),
        "PROMPTHA_WEBHOOKS_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
    }
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        # `make run` itself, into a venv of its own: it builds the environment, then serves.
        make = subprocess.Popen(
            ["make", f"VENV={venv}", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", make, log, BUILD_TIMEOUT_S)
        docs = httpx.get(f"http://127.0.0.1:{port}/docs-static/swagger-ui-bundle.js", timeout=30)
        assert docs.status_code == 200
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(60)
    python = venv / "bin" / "python"

    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    installed = {entry["name"].lower() for entry in json.loads(listed.stdout)}
    assert "fastapi" in installed and "uvicorn" in installed
    assert installed & DEV_TOOLS == set()

    # Every module the service may import loads in that environment.
    modules = package_modules()
    assert "promptha_webhooks.cli.server" in modules and len(modules) > 50
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    imported = subprocess.run(
        [python, "-c", script, *modules], capture_output=True, text=True, timeout=120
    )
    assert imported.returncode == 0, imported.stderr
