"""Debian's Chromium for the browser tests and the screenshot script (never a downloaded
browser: `playwright install` needs the internet). Under CI=true a missing Chromium fails."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from support import IN_CI

# How long a web-first assertion (`expect(...)`) waits for the page to reach the state it
# asserts: Playwright's 5 s default is short on a shared 2-core machine running the service,
# its worker, Chromium and axe-core at once. The assertions are unchanged; only the wait.
EXPECT_TIMEOUT_MS = 20_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)

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


NODE_MODULES = Path(__file__).resolve().parent.parent / "node" / "node_modules"
AXE_SCRIPT = NODE_MODULES / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def require_axe() -> Path:
    """axe-core's browser build from the npm package (tests/node, `npm ci` once per session);
    skip (fail under CI=true) with one line where node/npm are missing."""
    from node_receiver import ensure_node_modules

    ensure_node_modules()
    if not AXE_SCRIPT.exists():
        reason = f"axe-core is not installed at {AXE_SCRIPT} (npm ci in tests/node)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE_SCRIPT


async def axe_violations(page: Any, tags: Sequence[str] = AXE_TAGS) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2 A and AA, or the rules of `tags`) on the page as it is now; the
    violations, each with its rule id, impact and the offending nodes' selectors."""
    script = require_axe()
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, not as a <script> tag: the dashboard's CSP
        # (script-src 'self') refuses inline scripts, and must stay as it is while audited.
        await page.evaluate(script.read_text(encoding="utf-8") + "\n;undefined")
    result = await page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))}))",
        list(tags),
    )
    return list(result)


async def assert_accessible(page: Any, label: str) -> None:
    """Fail with a readable list when axe-core finds any WCAG 2 A/AA violation on the page."""
    violations = await axe_violations(page)
    assert violations == [], f"axe-core on {label}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][:5]}" for v in violations
    )


SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"


async def save_screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """The page as the test left it, as docs/screenshots/NAME.png (docs/dashboard.md shows them;
    every browser test run refreshes them); `full_page=False`: the viewport only."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path
