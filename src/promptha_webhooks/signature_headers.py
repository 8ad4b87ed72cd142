"""Every header name a delivery carries and the two signed-content formats, in one place that
both the signer (signing.py, the delivery path) and the verifiers (receiver SDK, verify CLI)
import.

Two formats, chosen per webhook (``signatureFormat``); the delivery path signs in either, with
every live secret as described below, and the receiver SDK and the verify CLI verify both.
Secret rotation is built (``POST /v1/webhooks/{id}/rotate-secret``: webhook_secrets.py holds
its rules, docs/security.md the procedure):

* ``promptha`` (the guide's): ``x-promptha-timestamp`` is the attempt's unix seconds and
  ``x-promptha-signature`` is ONE lowercase hex HMAC-SHA256 of ``"<timestamp>.<body>"``,
  keyed with the secret's UTF-8 bytes. During a secret rotation ``x-promptha-signature``
  stays one hex signature, made with the *current primary* secret (the new one once the
  rotation starts), and the other secret's signature (the old one, until its grace period
  ends) goes in ``x-promptha-signature-previous``. A receiver written like the guide's
  Express handler reads only ``x-promptha-signature``: it keeps working with whichever
  secret it holds as long as the sender's primary is that secret; the delivery path retries
  a 401/403 during the window (and parks it until the window ends once the schedule is
  spent; a later 2xx wakes it) so the switch loses nothing.
* ``standard`` (https://www.standardwebhooks.com): ``webhook-id`` (the event id, the same on
  every attempt), ``webhook-timestamp`` (unix seconds) and ``webhook-signature``: one or more
  space-separated ``v1,<base64 HMAC-SHA256>`` (secret ``whsec_<base64>``) or
  ``v1a,<base64 Ed25519>`` entries over ``"<id>.<timestamp>.<body>"``; during a rotation it
  lists one entry per live secret. Which of the two a webhook signs with
  (``signatureAlgorithm``) follows from its key: a ``whsk_`` Ed25519 signing key signs ``v1a``
  (receivers verify with its ``whpk_`` public key), a ``whsec_`` secret ``v1``.
"""

from __future__ import annotations

import enum

__all__ = [
    "ATTEMPT_HEADER",
    "CONTROL_HEADER",
    "DELIVERY_ID_HEADER",
    "EVENT_HEADER",
    "EVENT_ID_HEADER",
    "PREVIOUS_SIGNATURE_HEADER",
    "SIGNATURE_HEADER",
    "STANDARD_ID_HEADER",
    "STANDARD_SIGNATURE_HEADER",
    "STANDARD_TIMESTAMP_HEADER",
    "TEST_HEADER",
    "TIMESTAMP_HEADER",
    "SignatureAlgorithm",
    "SignatureFormat",
    "detect_format",
    "promptha_signed_content",
    "standard_signed_content",
]

# The guide's format.
SIGNATURE_HEADER = "x-promptha-signature"
TIMESTAMP_HEADER = "x-promptha-timestamp"
# During a rotation: the signature made with the secret that is not the primary one.
PREVIOUS_SIGNATURE_HEADER = "x-promptha-signature-previous"
EVENT_HEADER = "x-promptha-event"
EVENT_ID_HEADER = "x-promptha-event-id"
DELIVERY_ID_HEADER = "x-promptha-delivery-id"
ATTEMPT_HEADER = "x-promptha-attempt"
TEST_HEADER = "x-promptha-test"
# A receiver's answer header asking for no retries ("abort") or to disable the webhook
# ("disable"); read by the attempt stage.
CONTROL_HEADER = "x-promptha-delivery"

# Standard Webhooks.
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"


class SignatureFormat(enum.StrEnum):
    """How a webhook's deliveries are signed (``signatureFormat`` in the API)."""

    PROMPTHA = "promptha"
    STANDARD = "standard"


class SignatureAlgorithm(enum.StrEnum):
    """What signs a webhook's deliveries (``signatureAlgorithm`` in the API): HMAC-SHA256 with
    a shared secret (both formats), or Ed25519 with a private key (Standard Webhooks' ``v1a``;
    the standard format only)."""

    HMAC_SHA256 = "hmac-sha256"
    ED25519 = "ed25519"


def promptha_signed_content(timestamp: int, body: bytes) -> bytes:
    """What the promptha format signs: ``b"<timestamp>." + body``."""
    return b"%d." % timestamp + bytes(body)


def standard_signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    """What Standard Webhooks signs: ``b"<msg_id>.<timestamp>." + body``."""
    return b"%s.%d." % (msg_id.encode("utf-8"), timestamp) + bytes(body)


def detect_format(header_names: set[str]) -> SignatureFormat | None:
    """The format a request's (lowercase) header names show, None when neither signature
    header is there. A request carrying both is taken as promptha (the default)."""
    if SIGNATURE_HEADER in header_names:
        return SignatureFormat.PROMPTHA
    if STANDARD_SIGNATURE_HEADER in header_names:
        return SignatureFormat.STANDARD
    return None
