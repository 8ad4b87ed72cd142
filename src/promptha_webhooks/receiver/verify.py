"""Signature checks for receivers: raw bodies (``verify``) and bodies a framework already parsed.

``verify`` is :func:`promptha_webhooks.signing.verify`; ``verify_parsed`` re-serialises a parsed
body in the contract's canonical form (what ``JSON.stringify`` writes) and verifies that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptha_webhooks import canonical_json
from promptha_webhooks.signing import (
    DEFAULT_TOLERANCE_S,
    InvalidSignatureError,
    InvalidTimestampError,
    MissingHeaderError,
    TimestampOutOfToleranceError,
    VerificationError,
    verify,
)

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "InvalidSignatureError",
    "InvalidTimestampError",
    "MissingHeaderError",
    "TimestampOutOfToleranceError",
    "VerificationError",
    "verify",
    "verify_parsed",
]


def verify_parsed(
    payload: dict[str, Any],
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE_S,
    now: int | None = None,
) -> None:
    """Verify a body that was already parsed into ``payload``; raise a VerificationError if not.

    Promptha sends every body in canonical JSON, so serialising the parsed object again with
    :func:`promptha_webhooks.canonical_json.dumps` gives back the signed bytes exactly, as long
    as the parser kept key order and numbers (Python's ``json`` module, Flask's
    ``request.get_json()`` and Django's ``json.loads(request.body)`` all do).
    """
    try:
        body = canonical_json.dumps(payload)
    except canonical_json.CanonicalJSONError as exc:
        # Nothing we signed fails to serialise: this payload cannot be authentic.
        raise InvalidSignatureError(
            f"parsed payload cannot be written as canonical JSON: {exc}"
        ) from None
    verify(body, headers, secret, tolerance=tolerance, now=now)
