"""Signed deliveries for your own tests: the exact body and headers Promptha would send."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from promptha_webhooks import canonical_json, ids
from promptha_webhooks.signature_headers import (
    ATTEMPT_HEADER,
    DELIVERY_ID_HEADER,
    EVENT_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TEST_HEADER,
    TIMESTAMP_HEADER,
)
from promptha_webhooks.signing import sign

__all__ = ["SignedRequest", "signed_request"]


@dataclass(frozen=True, slots=True)
class SignedRequest:
    body: bytes
    headers: dict[str, str]
    event_id: str


def signed_request(
    secret: str,
    event: str,
    data: dict[str, Any],
    *,
    event_id: str | None = None,
    timestamp: int | None = None,
    event_timestamp: int | None = None,
    attempt: int = 1,
    test: bool = False,
) -> SignedRequest:
    """A delivery of ``event`` with payload ``data``, signed with ``secret`` as of ``timestamp``.

    The body is ``{"event", "data": {**data, "eventId"}, "timestamp"}`` in canonical JSON and the
    headers are the contract's ``x-promptha-*`` set. ``event_id`` defaults to a new ``evt_…`` id.
    """
    now = int(time.time()) if timestamp is None else timestamp
    evt = event_id or ids.new_id(ids.EVENT)
    envelope = {
        "event": event,
        "data": {**data, "eventId": evt},
        "timestamp": now if event_timestamp is None else event_timestamp,
    }
    body = canonical_json.dumps(envelope)
    headers = {
        "content-type": "application/json",
        TIMESTAMP_HEADER: str(now),
        SIGNATURE_HEADER: sign(secret, now, body),
        EVENT_HEADER: event,
        EVENT_ID_HEADER: evt,
        DELIVERY_ID_HEADER: ids.new_id(ids.DELIVERY),
        ATTEMPT_HEADER: str(attempt),
    }
    if test:
        headers[TEST_HEADER] = "true"
    return SignedRequest(body=body, headers=headers, event_id=evt)
