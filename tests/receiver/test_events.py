"""Envelope parsing, typed events, delivery headers, and the signed_request test helper."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from promptha_webhooks import canonical_json
from promptha_webhooks.catalog import EVENT_TYPES, FabricStarted
from promptha_webhooks.receiver import InvalidPayloadError, signed_request, verify
from promptha_webhooks.receiver.events import (
    Delivery,
    build_event,
    delivery_from_headers,
    parse_envelope,
)
from promptha_webhooks.signing import sign

Sign = Callable[..., Any]


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda t: t.name)
def test_every_catalogue_sample_becomes_its_model(event_type: Any, signed: Sign) -> None:
    delivery = signed(event_type.name, event_type.sample, event_id="evt_sample")
    event = build_event(parse_envelope(delivery.body))
    assert type(event.data) is event_type.payload_model
    assert event.event == event_type.name
    assert event.event_id == event.data.eventId == "evt_sample"


def test_extra_payload_fields_are_kept() -> None:
    body = canonical_json.dumps(
        {
            "event": "fabric.started",
            "data": {"executionId": "e", "fabricId": "f", "inputs": {}, "eventId": "evt_1", "x": 1},
            "timestamp": 5,
            "apiVersion": "future",
        }
    )
    event = build_event(parse_envelope(body))
    assert isinstance(event.data, FabricStarted)
    assert event.data.model_extra == {"x": 1}
    assert event.timestamp == 5


def test_invalid_payload_names_the_field() -> None:
    body = b'{"event":"fabric.started","data":{"eventId":"e","executionId":1},"timestamp":1}'
    with pytest.raises(InvalidPayloadError) as caught:
        build_event(parse_envelope(body))
    assert caught.value.field == "data.executionId"
    assert caught.value.status_code == 400


def test_delivery_headers_any_case_and_malformed() -> None:
    headers = {
        "X-Promptha-Delivery-Id": "dlv_1",
        "X-PROMPTHA-ATTEMPT": "3",
        "x-promptha-test": "True",
    }
    assert delivery_from_headers(headers) == Delivery("dlv_1", 3, True)
    assert delivery_from_headers({"x-promptha-attempt": "three"}) == Delivery(None, None, False)


def test_signed_request_matches_independent_signing(signed: Sign) -> None:
    data = {"remaining": 120, "threshold": 500, "userId": "user_7d2f"}
    request = signed_request(
        "whsec_x", "credits.low", data, event_id="evt_1", timestamp=1_700_000_000, test=True
    )
    envelope = {
        "event": "credits.low",
        "data": {**data, "eventId": "evt_1"},
        "timestamp": 1_700_000_000,
    }
    assert request.body == canonical_json.dumps(envelope)
    assert json.loads(request.body) == envelope
    assert request.headers["x-promptha-signature"] == sign("whsec_x", 1_700_000_000, request.body)
    assert request.headers["x-promptha-test"] == "true"
    assert request.headers["x-promptha-event-id"] == request.event_id == "evt_1"
    verify(request.body, request.headers, "whsec_x", now=1_700_000_001)
    fresh = signed_request("whsec_x", "credits.low", data)
    assert fresh.event_id.startswith("evt_")
    verify(fresh.body, fresh.headers, "whsec_x")
