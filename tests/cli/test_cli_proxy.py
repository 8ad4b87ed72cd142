"""`webhooks create|update --proxy-url` against the real service and a real proxy (proxy.py):
the test delivery goes through it, `show` masks the password, `--no-proxy-url` clears it, and a
bad URL is refused naming proxyUrl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import Cli, new_cli

from proxy_support import running_proxy

from support import Receiver


@pytest.fixture
def cli(request: pytest.FixtureRequest) -> Cli:
    return new_cli(request)


async def test_proxy_url_create_show_update(cli: Cli, receiver: Receiver, tmp_path: Path) -> None:
    port = receiver.base_url.rsplit(":", 1)[1]
    with running_proxy(tmp_path, basic_auth="ops:hunter2") as proxy:
        created = cli(
            "--json",
            "webhooks",
            "create",
            receiver.url("/via"),
            "-e",
            "fabric.completed",
            "--proxy-url",
            f"http://ops:hunter2@127.0.0.1:{proxy.port}",
        )
        assert created.exit_code == 0, created.output
        hook = json.loads(created.stdout)
        assert hook["proxyUrl"] == f"http://ops:****@127.0.0.1:{proxy.port}"
        shown = cli("webhooks", "show", hook["id"])
        assert f"http://ops:****@127.0.0.1:{proxy.port}" in shown.stdout
        assert "hunter2" not in shown.stdout

        sent = await cli.run("webhooks", "test", hook["id"], "-e", "fabric.completed")
        assert sent.exit_code == 0, sent.output
        assert len(receiver.on("/via")) == 1

        cleared = cli("--json", "webhooks", "update", hook["id"], "--no-proxy-url")
        assert cleared.exit_code == 0, cleared.output
        assert json.loads(cleared.stdout)["proxyUrl"] is None
        refused = cli("webhooks", "update", hook["id"], "--proxy-url", "https://127.0.0.1:1")
        assert refused.exit_code == 1 and "proxyUrl" in refused.stderr
        both = cli("webhooks", "update", hook["id"], "--proxy-url", "x", "--no-proxy-url")
        assert both.exit_code == 2
        # (its tunnel stays open in the service's pool: proxy.py's access line comes later)
        assert proxy.upstreams() == [f"127.0.0.1:{port}"], proxy.log()
