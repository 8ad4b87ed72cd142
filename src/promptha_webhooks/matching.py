"""Which webhooks an event goes to: payload filters (shared by publishing and alerts)."""

from __future__ import annotations

from typing import Any

__all__ = ["filters_match"]


def filters_match(filters: dict[str, list[Any]] | None, data: dict[str, Any]) -> bool:
    """Every filter key's payload value must be one of its listed values (bool ≠ number)."""
    if not filters:
        return True
    for key, allowed in filters.items():
        if key not in data:
            return False
        value = data[key]
        if not any(
            candidate == value and isinstance(candidate, bool) == isinstance(value, bool)
            for candidate in allowed
        ):
            return False
    return True
