"""Promptha Webhooks: a self-hosted webhook platform (management API, dispatcher, receiver SDK)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
