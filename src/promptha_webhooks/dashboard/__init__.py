"""The dashboard: Settings > Webhooks, delivery logs and monitoring in the browser, served by
the API process at /dashboard (server-rendered Jinja2 templates, htmx shipped as a static file).
"""

from __future__ import annotations

from promptha_webhooks.dashboard.app import create_dashboard
from promptha_webhooks.dashboard.rendering import MOUNT_PATH

__all__ = ["MOUNT_PATH", "create_dashboard"]
