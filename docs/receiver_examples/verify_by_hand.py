"""Signature verification by hand: raw bodies, and bodies your framework already parsed."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from promptha_webhooks.receiver import (
    TimestampOutOfToleranceError,
    VerificationError,
    verify,
    verify_parsed,
)

# During a secret rotation, list both: a delivery signed with either one passes.
SECRETS = [os.environ["WEBHOOK_SECRET"], os.environ.get("OLD_WEBHOOK_SECRET", "whsec_retired")]


def check_raw(body: bytes, headers: Mapping[str, str]) -> str:
    """Best: verify the exact bytes received."""
    try:
        verify(body, headers, SECRETS, tolerance=300)
    except TimestampOutOfToleranceError as exc:
        return f"replay or clock skew: {exc}"
    except VerificationError as exc:  # missing header, bad timestamp, bad signature
        return f"rejected: {exc}"
    return "authentic"


def check_parsed(body: bytes, headers: Mapping[str, str]) -> str:
    """When only the parsed JSON is at hand (like the guide's JSON.stringify(req.body))."""
    payload = json.loads(body)
    try:
        verify_parsed(payload, headers, SECRETS)
    except VerificationError as exc:
        return f"rejected: {exc}"
    return "authentic"
