"""`make run` keeps its data in the checkout's ./data, as the README promises, even when make
runs from another directory (`make -C`), and prints the URL and the first keys. The commands
themselves no longer default to the current directory (cli/data_dir.py): the Makefile sets
PROMPTHA_WEBHOOKS_DATA_DIR. Run with this environment's venv (no build: its stamp is taken as
current) against a copy of the Makefile in a checkout of its own."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BANNER_TIMEOUT_S = 60


def test_make_run_keeps_its_data_in_the_checkout(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.fail("make is not installed: the README's commands need it")
    venv = Path(sys.executable).parent.parent
    if not (venv / "bin" / "promptha-webhooks").exists():
        pytest.skip("the tests do not run from a venv with the promptha-webhooks command")
    checkout, elsewhere, home = tmp_path / "checkout", tmp_path / "elsewhere", tmp_path / "home"
    for directory in (checkout, elsewhere, home):
        directory.mkdir()
    shutil.copy(ROOT / "Makefile", checkout / "Makefile")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")}
    env |= {"PROMPTHA_WEBHOOKS_PORT": str(port), "HOME": str(home)}
    env.pop("XDG_DATA_HOME", None)
    log = tmp_path / "make-run.log"
    stamp = venv / ".runtime-installed"
    with log.open("wb") as out:
        make = subprocess.Popen(
            ["make", "-C", str(checkout), "-o", str(stamp), f"VENV={venv}", "run"],
            cwd=elsewhere,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + BANNER_TIMEOUT_S
        while "Listening on" not in (text := log.read_text(errors="replace")):
            assert make.poll() is None, text
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(60)
    data = checkout / "data"
    assert f"Data dir:  {data}" in text
    assert f"http://127.0.0.1:{port}/v1" in text
    assert re.search(r"Admin key \(shown once\): pwa_\S+", text), text
    assert re.search(r"API key of account 'Development' \(shown once\): pwk_\S+", text), text
    assert (data / "promptha-webhooks.db").is_file()
    assert (data / "encryption-keys").is_file() and (data / "session-secret").is_file()
    assert list(elsewhere.iterdir()) == [] and list(home.iterdir()) == []
