"""`SigningSecrets`: the secrets one webhook's deliveries are signed with, and in which format.

A webhook has one current secret. During a rotation's grace period it also has the secret it
replaced (`previous`), which keeps signing until `previous_expires_at`: every delivery then
carries a signature for each (signature_headers.py says in which headers). The store builds
these values from the webhook's columns in one place (store/webhook_secrets.py); the attempt
stage signs with them (delivery/attempt.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from promptha_webhooks.signature_headers import SignatureFormat

__all__ = ["Signing", "SigningSecrets", "UnreadableSecrets"]


@dataclass(frozen=True, slots=True)
class SigningSecrets:
    """A webhook's signing secrets. `previous_expires_at` is in ms since the epoch."""

    current: str
    previous: str | None = None
    previous_expires_at: int | None = None
    format: SignatureFormat = SignatureFormat.PROMPTHA

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


@dataclass(frozen=True, slots=True)
class UnreadableSecrets:
    """A webhook whose stored secrets do not decrypt (a key missing from the ring, a wrong
    key, an altered row): it never signs. The attempt stage sends nothing and records
    `reason` (retried later); revealing the secret answers 503 (SecretUnavailableError)."""

    reason: str
    format: SignatureFormat = SignatureFormat.PROMPTHA


# What the store reads for a webhook: its secrets, or why they cannot be had.
Signing = SigningSecrets | UnreadableSecrets
