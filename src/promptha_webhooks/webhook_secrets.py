"""`SigningSecrets`: the secrets one webhook's deliveries are signed with, and in which format.

A webhook has one current secret. During a rotation's grace period it also has the secret it
replaced (`previous`), which keeps signing until `previous_expires_at`: every delivery then
carries a signature for each (signature_headers.py says in which headers). The store builds
these values from the webhook's columns in one place (store/webhook_secrets.py); the attempt
stage signs with them (delivery/attempt.py). Which algorithm signs follows from the current
key (`algorithm`).

A rotation (`rotated`) makes the new secret current and keeps the replaced one as `previous`
for a grace period; rotating again during a grace period makes the secret being replaced
`previous` and drops the older one (a webhook signs with at most two secrets). While a grace
period runs, an answer in SIGNATURE_REJECTED_STATUSES is retried instead of failing at once
(`rejected_in_window`; docs/security.md, docs/design.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

from promptha_webhooks.signature_headers import SignatureAlgorithm, SignatureFormat
from promptha_webhooks.signing_standard import SIGNING_KEY_PREFIX

__all__ = [
    "DEFAULT_GRACE_PERIOD_S",
    "MAX_GRACE_PERIOD_S",
    "SIGNATURE_REJECTED_STATUSES",
    "Signing",
    "SigningScheme",
    "SigningSecrets",
    "UnreadableSecrets",
]

# How long a rotation's previous secret keeps signing unless the caller says otherwise: 24 h.
DEFAULT_GRACE_PERIOD_S: Final = 86_400
# The longest grace period a rotation may ask for: 7 days. 0 switches at once.
MAX_GRACE_PERIOD_S: Final = 604_800
# A receiver's answers that mean "your signature is not the one I hold". During a grace period
# they are retried on the schedule (and, the schedule spent, kept until the period ends)
# instead of failing the delivery at once. The partial index ix_deliveries_signature_rejected
# (migration 0011) spells the same codes.
SIGNATURE_REJECTED_STATUSES: Final = (401, 403)


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

    def rejected_in_window(self, status: int | None, sent_ms: int) -> bool:
        """Whether an answer `status` to a request sent at `sent_ms` is a signature rejection
        during a grace period (retried, not final: the receiver may not have switched yet)."""
        return status in SIGNATURE_REJECTED_STATUSES and self.rotating(sent_ms)

    def rotated(self, new_secret: str, now_ms: int, grace_period_s: int) -> SigningSecrets:
        """These secrets after a rotation to `new_secret` at `now_ms`: the current secret
        keeps signing as `previous` for `grace_period_s` (0: not at all, an immediate
        switch); a previous secret still in its grace period is dropped."""
        if grace_period_s <= 0:
            return dataclasses.replace(
                self, current=new_secret, previous=None, previous_expires_at=None
            )
        return dataclasses.replace(
            self,
            current=new_secret,
            previous=self.current,
            previous_expires_at=now_ms + grace_period_s * 1000,
        )

    def completed(self) -> SigningSecrets:
        """These secrets with the grace period ended: the previous secret stops signing."""
        return dataclasses.replace(self, previous=None, previous_expires_at=None)


@dataclass(frozen=True, slots=True)
class UnreadableSecrets:
    """A webhook whose stored secrets do not decrypt (a key missing from the ring, a wrong
    key, an altered row): it never signs. The attempt stage sends nothing and records
    `reason` (retried later); revealing the secret answers 503 (SecretUnavailableError)."""

    reason: str
    format: SignatureFormat = SignatureFormat.PROMPTHA


# What the store reads for a webhook: its secrets, or why they cannot be had.
Signing = SigningSecrets | UnreadableSecrets
