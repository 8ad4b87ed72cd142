"""The guide's Express handler under Node accepts what our signing functions sign, with the
secret it holds, and answers 401 to anything else; switching its secret while it runs takes
effect at once (the harness the rotation end-to-end test builds on)."""

from __future__ import annotations

import time

import httpx

from node_receiver import NodeReceiver
from promptha_webhooks import canonical_json, signing
from promptha_webhooks.signature_headers import (
    EVENT_HEADER,
    EVENT_ID_HEADER,
    PREVIOUS_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)

OLD = "whsec_guide_old_secret_0123456789"
NEW = "whsec_guide_new_secret_9876543210"


def post(receiver: NodeReceiver, event_id: str, primary: str, previous: str | None = None) -> int:
    now = int(time.time())
    body = canonical_json.dumps(
        {
            "event": "credits.low",
            "data": {"remaining": 5, "threshold": 10, "userId": "u_1", "eventId": event_id},
            "timestamp": now,
        }
    )
    headers = {
        "content-type": "application/json",
        TIMESTAMP_HEADER: str(now),
        SIGNATURE_HEADER: signing.sign(primary, now, body),
        EVENT_HEADER: "credits.low",
        EVENT_ID_HEADER: event_id,
    }
    if previous is not None:
        headers[PREVIOUS_SIGNATURE_HEADER] = signing.sign(previous, now, body)
    return httpx.post(receiver.url, content=body, headers=headers, timeout=10).status_code


def test_the_guide_handler_accepts_our_signature_and_rejects_a_wrong_one(
    node_receiver: NodeReceiver,
) -> None:
    node_receiver.set_secret(OLD)
    assert post(node_receiver, "evt_1", OLD) == 200
    assert post(node_receiver, "evt_2", NEW) == 401
    # During our rotation the primary header carries the new secret's signature: the guide's
    # handler reads only that one, so while it still holds the old secret it answers 401 ...
    assert post(node_receiver, "evt_3", NEW, previous=OLD) == 401
    node_receiver.set_secret(NEW)  # ... until its owner switches it
    assert post(node_receiver, "evt_3", NEW, previous=OLD) == 200
    assert post(node_receiver, "evt_4", OLD) == 401
    assert [r["eventId"] for r in node_receiver.received()] == ["evt_1", "evt_3"], (
        node_receiver.log()
    )
