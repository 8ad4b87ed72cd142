"""The one place stored secret columns become a webhook's `SigningSecrets` (every read of a
webhook's secrets goes through `signing_secrets`), the columns a `SigningSecrets` is read
from (`SIGNING_COLUMNS`, in that order), and the one place secrets become column values
(`secret_columns`: every write of a webhook's secrets goes through it).

Built values are cached by their columns: the claim and hand-off paths read the same
webhooks' secrets for every delivery, and the value is immutable.
"""

from __future__ import annotations

from typing import Final

from promptha_webhooks.signature_headers import SignatureFormat
from promptha_webhooks.webhook_secrets import SigningSecrets

__all__ = ["SIGNING_COLUMNS", "secret_columns", "signing_secrets"]

# The webhooks columns a SigningSecrets is made of, in `signing_secrets`' argument order.
SIGNING_COLUMNS: Final = (
    "secret",
    "previous_secret",
    "previous_secret_expires_at",
    "signature_format",
)

_CACHE_SIZE = 4096
_cache: dict[tuple[str, str | None, int | None, str], SigningSecrets] = {}


def signing_secrets(
    secret: str, previous: str | None, previous_expires_at: int | None, signature_format: str
) -> SigningSecrets:
    """The SigningSecrets stored as these column values."""
    key = (secret, previous, previous_expires_at, signature_format)
    found = _cache.get(key)
    if found is not None:
        return found
    built = SigningSecrets(
        current=secret,
        previous=previous,
        previous_expires_at=previous_expires_at,
        format=SignatureFormat(signature_format),
    )
    if len(_cache) >= _CACHE_SIZE:
        _cache.clear()
    _cache[key] = built
    return built


def secret_columns(
    webhook_id: str, current: str, previous: str | None, previous_expires_at: int | None
) -> dict[str, str | int | None]:
    """The webhooks column values that store these secrets for `webhook_id` (a rotation's
    previous secret and its expiry, or None for both when no rotation runs)."""
    del webhook_id  # the key the values will be bound to (encryption at rest)
    return {
        "secret": current,
        "previous_secret": previous,
        "previous_secret_expires_at": previous_expires_at,
    }
