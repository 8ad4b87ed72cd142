"""`python -m promptha_webhooks.cli`: the same as the `promptha-webhooks` command."""

from __future__ import annotations

from promptha_webhooks.cli import main

main()
