"""Debian's Chromium for the browser tests and the screenshot script (never a downloaded
browser: `playwright install` needs the internet). Under CI=true a missing Chromium fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support import IN_CI

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def find_chromium() -> str | None:
    for path in CHROMIUM_PATHS:
        if Path(path).exists():
            return path
    return shutil.which("chromium")


def require_chromium() -> str:
    """Chromium's path, or skip (fail under CI=true) with a one-line reason."""
    path = find_chromium()
    if path is not None:
        return path
    reason = "Chromium not found at /usr/bin/chromium (apt-get install -y chromium)"
    if IN_CI:
        pytest.fail(f"{reason}; CI=true: browser tests must run")
    pytest.skip(reason)
