"""What a broker destination is given, and what it answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BrokerMessage:
    """The delivery's body and headers (envelope and signature), and the event id: the AMQP
    message_id, the Nats-Msg-Id (JetStream dedupe) and the `id` field of the Redis entry."""

    body: bytes
    headers: Mapping[str, str]
    message_id: str


@dataclass(frozen=True, slots=True)
class BrokerReceipt:
    """Whether the broker took the message (ok) and what it said: "acked by stream X seq 42",
    "redis id 1733-0", or why not ("connection error: …", "timeout: …", "nack: …",
    "blocked: …")."""

    ok: bool
    detail: str
