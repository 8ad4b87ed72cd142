"""Framework adapters: ``.fastapi`` (FastAPI and Starlette), ``.flask``, ``.django``.

Each is a thin edge: read the body and headers, check the optional IP allow-list, call the
router, copy its Response out. Importing this package imports no framework.
"""

from __future__ import annotations

from promptha_webhooks.receiver.ip import IPAllowList
from promptha_webhooks.receiver.router import Response, error_response

__all__ = ["DEFAULT_PATH", "forbidden_unless_allowed"]

DEFAULT_PATH = "/webhooks/promptha"
"""The guide's endpoint path."""


def forbidden_unless_allowed(
    allow: IPAllowList | None, remote_addr: str | None, x_forwarded_for: str | None
) -> Response | None:
    """A 403 Response when ``allow`` is given and refuses the sender, else None."""
    if allow is None or allow.check(remote_addr, x_forwarded_for):
        return None
    return error_response(403, "forbidden", "requests from this address are not accepted")
