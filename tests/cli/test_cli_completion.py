"""Shell completion: `--show-completion` prints a script for the shell it is run from, which,
loaded into that shell, completes commands and option values; `--install-completion` installs
it. Run in a real bash, as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RUN_TIMEOUT_S = 60


def bash(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    """`script` in a bash where `promptha-webhooks` is this checkout's command."""
    if shutil.which("bash") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("bash is not installed")
        pytest.skip("bash is not installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    command = bin_dir / "promptha-webhooks"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m promptha_webhooks.cli "$@"\n')
    command.chmod(0o755)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")}
    env = clean | {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path)}
    return subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


COMPLETE = """
complete_words() {{
  COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()
  _promptha_webhooks_completion promptha-webhooks
  printf '%s\\n' "${{COMPREPLY[@]}}"
}}
{load}
complete -p promptha-webhooks
echo '--- groups'
complete_words promptha-webhooks ke
echo '--- keys'
complete_words promptha-webhooks keys ''
echo '--- window'
complete_words promptha-webhooks stats --window ''
"""


def sections(output: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = "head"
    for line in output.splitlines():
        if line.startswith("--- "):
            current = line[4:]
        else:
            found.setdefault(current, []).append(line.split(":", 1)[0].strip())
    return found


def test_show_completion_script_completes_in_bash(tmp_path: Path) -> None:
    shown = bash(tmp_path, "promptha-webhooks --show-completion")
    assert shown.returncode == 0, shown.stderr
    assert "_PROMPTHA_WEBHOOKS_COMPLETE=complete_bash" in shown.stdout
    assert "complete -o default -F _promptha_webhooks_completion promptha-webhooks" in shown.stdout

    done = bash(tmp_path, COMPLETE.format(load='eval "$(promptha-webhooks --show-completion)"'))
    assert done.returncode == 0, done.stderr
    found = sections(done.stdout)
    assert "_promptha_webhooks_completion" in done.stdout.splitlines()[0]
    assert found["groups"] == ["keys"]
    assert {"list", "create", "revoke"} <= set(found["keys"])
    assert found["window"] == ["1h", "24h", "7d"]


def test_install_completion_installs_for_bash(tmp_path: Path) -> None:
    installed = bash(tmp_path, "promptha-webhooks --install-completion")
    assert installed.returncode == 0, installed.stderr
    assert "bash completion installed" in installed.stdout
    bashrc = (tmp_path / ".bashrc").read_text()
    assert "promptha-webhooks" in bashrc
    # A new shell that reads ~/.bashrc completes the commands.
    done = bash(tmp_path, COMPLETE.format(load="source ~/.bashrc"))
    assert done.returncode == 0, done.stderr
    assert sections(done.stdout)["window"] == ["1h", "24h", "7d"]
