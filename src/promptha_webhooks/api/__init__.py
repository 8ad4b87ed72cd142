"""The HTTP management API (FastAPI): `create_app(settings)` builds it."""

from __future__ import annotations

from promptha_webhooks.api.app import create_app

__all__ = ["create_app"]
