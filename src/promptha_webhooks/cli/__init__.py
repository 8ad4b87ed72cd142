"""The `promptha-webhooks` command: run the service (serve, worker, migrate), bootstrap it
(accounts/keys create), and use its API (webhooks, deliveries, events, trigger, verify).

One module per command group; `app.py` holds the global options and the registry.
"""

from __future__ import annotations

import sys

from promptha_webhooks.cli.app import app

__all__ = ["COMMAND", "app", "main"]

# The name in usage lines and in the shell completion scripts, however the command was started
# (`python -m promptha_webhooks.cli` too).
COMMAND = "promptha-webhooks"


def main() -> None:
    try:
        app(prog_name=COMMAND)
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)
