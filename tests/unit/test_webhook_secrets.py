"""A webhook's signing secrets across rotations (webhook_secrets.py): what a rotation keeps,
what rotating again drops, what completing ends, and which answers a grace period retries."""

from __future__ import annotations

from promptha_webhooks.webhook_secrets import (
    DEFAULT_GRACE_PERIOD_S,
    MAX_GRACE_PERIOD_S,
    SigningSecrets,
)

NOW_MS = 1_700_000_000_000


def test_the_grace_constants_are_24_hours_and_7_days() -> None:
    assert DEFAULT_GRACE_PERIOD_S == 24 * 3600
    assert MAX_GRACE_PERIOD_S == 7 * 24 * 3600


def test_a_rotation_keeps_the_replaced_secret_signing_for_the_grace_period() -> None:
    rotated = SigningSecrets("old").rotated("new", NOW_MS, 60)
    assert rotated == SigningSecrets("new", "old", NOW_MS + 60_000)
    assert rotated.live(NOW_MS) == ("new", "old")
    assert rotated.live(NOW_MS + 60_000) == ("new",)


def test_a_grace_period_of_0_switches_at_once() -> None:
    during = SigningSecrets("old").rotated("new", NOW_MS, 60)
    assert during.rotated("newest", NOW_MS, 0) == SigningSecrets("newest")


def test_rotating_again_during_a_grace_period_drops_the_oldest_secret() -> None:
    first = SigningSecrets("a").rotated("b", NOW_MS, 600)
    second = first.rotated("c", NOW_MS + 1000, 60)
    assert second == SigningSecrets("c", "b", NOW_MS + 1000 + 60_000)
    assert "a" not in second.live(NOW_MS + 1000)


def test_completing_ends_the_grace_period() -> None:
    rotated = SigningSecrets("old").rotated("new", NOW_MS, 60)
    assert rotated.completed() == SigningSecrets("new")


def test_only_401_and_403_inside_the_grace_period_are_rejections_to_retry() -> None:
    rotated = SigningSecrets("old").rotated("new", NOW_MS, 60)
    assert rotated.rejected_in_window(401, NOW_MS)
    assert rotated.rejected_in_window(403, NOW_MS + 59_999)
    assert not rotated.rejected_in_window(401, NOW_MS + 60_000)
    assert not rotated.rejected_in_window(400, NOW_MS)
    assert not rotated.rejected_in_window(None, NOW_MS)
    assert not SigningSecrets("new").rejected_in_window(401, NOW_MS)
