"""`SigningSecrets`: the secrets one webhook's deliveries are signed with, and in which format.

A webhook has one current secret. During a rotation's grace period it also has the secret it
replaced (`previous`), which keeps signing until `previous_expires_at`: every delivery then
carries a signature for each (signature_headers.py says in which headers). The store builds
these values from the webhook's columns in one place (store/webhook_secrets.py); the attempt
stage signs with them (delivery/attempt.py). Which algorithm signs follows from the current
key (`algorithm`).
"""

from __future__ import annotations

from dataclasses import dataclass

from promptha_webhooks.signature_headers import SignatureAlgorithm, SignatureFormat
from promptha_webhooks.signing_standard import SIGNING_KEY_PREFIX

__all__ = ["SigningScheme", "SigningSecrets"]


@dataclass(frozen=True, slots=True)
class SigningScheme:
    """How a webhook signs: its headers' format and its signatures' algorithm (Ed25519 goes
    with the standard format only: services/validation.signing_scheme checks the pair)."""

    format: SignatureFormat = SignatureFormat.PROMPTHA
    algorithm: SignatureAlgorithm = SignatureAlgorithm.HMAC_SHA256


@dataclass(frozen=True, slots=True)
class SigningSecrets:
    """A webhook's signing secrets. `previous_expires_at` is in ms since the epoch."""

    current: str
    previous: str | None = None
    previous_expires_at: int | None = None
    format: SignatureFormat = SignatureFormat.PROMPTHA

    @property
    def algorithm(self) -> SignatureAlgorithm:
        """Told by the current key (no column holds it): a ``whsk_`` Ed25519 signing key, or
        an HMAC secret. A rotation's previous key is of the same algorithm (changing the
        algorithm ends any rotation)."""
        if self.current.startswith(SIGNING_KEY_PREFIX):
            return SignatureAlgorithm.ED25519
        return SignatureAlgorithm.HMAC_SHA256

    @property
    def scheme(self) -> SigningScheme:
        return SigningScheme(self.format, self.algorithm)

    def rotating(self, now_ms: int) -> bool:
        """Whether a rotation's grace period is running: the previous secret still signs."""
        return (
            self.previous is not None
            and self.previous_expires_at is not None
            and now_ms < self.previous_expires_at
        )

    def previous_at(self, now_ms: int) -> str | None:
        """The previous secret if it still signs at `now_ms`, else None."""
        return self.previous if self.rotating(now_ms) else None

    def live(self, now_ms: int) -> tuple[str, ...]:
        """Every secret that signs at `now_ms`, the current one first."""
        previous = self.previous_at(now_ms)
        return (self.current,) if previous is None else (self.current, previous)
