"""`promptha-webhooks ips [--json] [--save FILE]`: the published egress list, without an API
key; the saved copy is what `IPAllowList.from_file` reads."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import invoke

from promptha_webhooks.receiver import IPAllowList

from support import EGRESS_PUBLISHED, egress_service


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with egress_service(tmp_path_factory.mktemp("cli-ips")) as url:
        yield url


def test_ips_shows_the_list_without_a_key(service_url: str) -> None:
    result = invoke(["--api-url", service_url, "ips"])
    assert result.exit_code == 0, result.output
    for address in EGRESS_PUBLISHED:
        assert address in result.stdout
    assert "2026-12-01" in result.stdout


@pytest.mark.parametrize("where", ["command", "global"])
def test_ips_json(service_url: str, where: str) -> None:
    args = ["--api-url", service_url, "ips", "--json"]
    if where == "global":
        args = ["--api-url", service_url, "--json", "ips"]
    result = invoke(args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["addresses"] == EGRESS_PUBLISHED
    assert document["updatedAt"] == "2026-12-01T09:00:00Z"
    assert set(document) == {"version", "updatedAt", "addresses"}


def test_ips_save_writes_a_copy_the_receiver_sdk_reads(service_url: str, tmp_path: Path) -> None:
    saved = tmp_path / "promptha-ips.json"
    result = invoke(["--api-url", service_url, "ips", "--save", str(saved)])
    assert result.exit_code == 0, result.output
    allow_list = IPAllowList.from_file(saved)
    assert [str(n) for n in allow_list.allowed] == EGRESS_PUBLISHED
    assert allow_list.check("198.51.100.20")
    assert not allow_list.check("192.0.2.1")


def test_ips_save_to_an_unwritable_place_is_one_line(service_url: str, tmp_path: Path) -> None:
    target = tmp_path / "missing-directory" / "ips.json"
    result = invoke(["--api-url", service_url, "ips", "--save", str(target)])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "Cannot write" in result.stderr


def test_ips_with_the_service_down_is_one_line() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = invoke(["--api-url", f"http://127.0.0.1:{port}", "ips"])
    assert result.exit_code == 1
    assert result.stderr.strip() and result.stderr.strip().count("\n") == 0
