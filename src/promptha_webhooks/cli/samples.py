"""Realistic, varied payloads for `trigger`: each event type's catalogue sample with fresh ids,
numbers and text, so that repeated triggers differ (and stay valid for the type)."""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable
from typing import Any

from promptha_webhooks.catalog import EVENT_TYPES_BY_NAME, get_event_type

__all__ = ["EVENT_NAMES", "random_payload"]

EVENT_NAMES: tuple[str, ...] = tuple(EVENT_TYPES_BY_NAME)

# Prefixed ids of the samples (`exec_9f3a2c71`, `sess_4c1e8a90`, `user_7d2f`): keep the prefix,
# draw new hex digits of the same length.
_ID_RE = re.compile(r"(?P<prefix>[a-z]+_)(?P<digits>[0-9a-f]{4,})\Z")

_TEXT: dict[str, tuple[str, ...]] = {
    "fabricId": (
        "product-description",
        "seo-optimizer",
        "email-writer",
        "blog-outline",
        "support-reply",
        "meta-tags",
    ),
    "askId": ("ask_support-bot", "ask_sales-assistant", "ask_onboarding", "ask_docs-helper"),
    "productName": ("Trail Runner 2", "Summit Parka", "Aero Bottle", "Canyon Daypack"),
    "tone": ("friendly", "formal", "playful", "concise"),
    "output": (
        "Lightweight trail shoes built for long days on rough ground.",
        "A waterproof shell that packs into its own pocket.",
        "Insulated steel bottle that keeps drinks cold for 24 hours.",
        "A 20-litre pack with a padded laptop sleeve and hip belt.",
    ),
    "content": (
        "Your order ships tomorrow.",
        "I've reset your password; check your inbox.",
        "The Pro plan includes 50,000 credits a month.",
        "Could you share the order number?",
    ),
    "role": ("assistant", "user"),
    "summary": (
        "Customer asked about shipping; answered.",
        "User reset their password with help.",
        "Prospect compared plans and chose Pro.",
        "Bug report about exports escalated to support.",
    ),
}
_ERRORS = (
    ("rate_limit", "Model rate limit exceeded"),
    ("timeout", "The model did not answer within 60 s"),
    ("invalid_input", "Input 'productName' is required"),
    ("model_error", "The model returned an empty completion"),
)


def _randomise(value: Any, key: str | None, rng: random.Random) -> Any:
    if isinstance(value, dict):
        return {k: _randomise(v, k, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [_randomise(v, key, rng) for v in value]
    if isinstance(value, str):
        if key in _TEXT:
            return rng.choice(_TEXT[key])
        match = _ID_RE.match(value)
        if match:
            digits = len(match["digits"])
            return f"{match['prefix']}{rng.getrandbits(4 * digits):0{digits}x}"
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return rng.randint(max(1, value // 2), value * 2)
    return value


def _fabric_completed(data: dict[str, Any], rng: random.Random) -> None:
    usage = data.get("usage")
    if isinstance(usage, dict) and {"promptTokens", "completionTokens"} <= usage.keys():
        usage["totalTokens"] = usage["promptTokens"] + usage["completionTokens"]


def _fabric_failed(data: dict[str, Any], rng: random.Random) -> None:
    kind, message = rng.choice(_ERRORS)
    data["error"] = {"type": kind, "message": message}


def _credits_low(data: dict[str, Any], rng: random.Random) -> None:
    data["threshold"] = rng.choice((100, 250, 500, 1000))
    data["remaining"] = rng.randint(0, data["threshold"] - 1)


def _credits_purchased(data: dict[str, Any], rng: random.Random) -> None:
    data["amount"] = rng.choice((1000, 2500, 5000, 10000, 25000))
    data["newBalance"] = data["amount"] + rng.randint(0, 2000)


# What must hold between fields of a type (tokens add up, remaining < threshold, …).
_CONSISTENCY: dict[str, Callable[[dict[str, Any], random.Random], None]] = {
    "fabric.completed": _fabric_completed,
    "fabric.failed": _fabric_failed,
    "credits.low": _credits_low,
    "credits.purchased": _credits_purchased,
}


def random_payload(event: str, rng: random.Random | None = None) -> dict[str, Any]:
    """A plausible payload for `event`: its catalogue sample with new values; unknown names
    raise the catalogue's InvalidRequestError."""
    rng = rng or random.Random()
    event_type = get_event_type(event)
    data: dict[str, Any] = _randomise(copy.deepcopy(event_type.sample), None, rng)
    fix = _CONSISTENCY.get(event_type.name)
    if fix is not None:
        fix(data, rng)
    return data
