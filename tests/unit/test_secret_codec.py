"""SecretCodec, the only reader and writer of the webhook secret columns: sealed values bound
to their row and column, plaintext rows of older versions read, format-agnostic, cached by
ciphertext, never a garbage secret; and the key ring in Settings."""

from __future__ import annotations

import pytest

from promptha_webhooks.config import ConfigError, Settings
from promptha_webhooks.secret_box import DecryptionError, KeyRing, KeyRingError, generate_key_entry
from promptha_webhooks.signature_headers import SignatureFormat
from promptha_webhooks.store.webhook_secrets import SecretCodec, StoredSecrets
from promptha_webhooks.webhook_secrets import SigningSecrets, UnreadableSecrets

from support import TEST_ENCRYPTION_KEYS, TEST_KEY_ID, TEST_KEY_RING

CURRENT = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PREVIOUS = "whsk_some_ed25519_private_key_text"


def stored(columns: dict[str, str | int | None], fmt: str = "promptha") -> StoredSecrets:
    return (
        str(columns["secret"]),
        columns["previous_secret"],  # type: ignore[misc]
        columns["previous_secret_expires_at"],  # type: ignore[misc]
        fmt,
        columns["secret_key_id"],  # type: ignore[misc]
    )


def test_round_trip_of_both_secrets_in_either_format() -> None:
    codec = SecretCodec(TEST_KEY_RING)
    columns = codec.secret_columns("wh_1", CURRENT, PREVIOUS, 123)
    assert columns["secret_key_id"] == TEST_KEY_ID
    assert CURRENT not in str(columns) and PREVIOUS not in str(columns)
    opened = codec.signing_secrets("wh_1", stored(columns, "standard"))
    assert opened == SigningSecrets(CURRENT, PREVIOUS, 123, SignatureFormat.STANDARD)
    assert codec.signing_secrets("wh_1", stored(columns, "standard")) is opened  # cached


def test_a_value_moved_to_another_row_or_column_does_not_open() -> None:
    codec = SecretCodec(TEST_KEY_RING)
    columns = codec.secret_columns("wh_1", CURRENT, PREVIOUS, 123)
    codec.signing_secrets("wh_1", stored(columns))  # cached for wh_1 only
    moved = codec.signing_secrets("wh_2", stored(columns))
    assert isinstance(moved, UnreadableSecrets) and "does not decrypt" in moved.reason
    swapped = dict(columns, secret=columns["previous_secret"], previous_secret=columns["secret"])
    assert isinstance(codec.signing_secrets("wh_1", stored(swapped)), UnreadableSecrets)


def test_plaintext_rows_of_older_versions_are_read_and_resealed() -> None:
    codec = SecretCodec(TEST_KEY_RING)
    plain: StoredSecrets = (CURRENT, None, None, "promptha", None)
    assert codec.signing_secrets("wh_1", plain) == SigningSecrets(CURRENT)
    sealed = codec.resealed("wh_1", plain)
    assert sealed["secret"] != CURRENT and sealed["secret_key_id"] == TEST_KEY_ID
    assert codec.signing_secrets("wh_1", stored(sealed)) == SigningSecrets(CURRENT)


def test_another_ring_gives_unreadable_never_a_secret() -> None:
    columns = SecretCodec(TEST_KEY_RING).secret_columns("wh_1", CURRENT, None, None)
    for ring in (
        KeyRing.parse(generate_key_entry(TEST_KEY_ID)),
        KeyRing.parse(generate_key_entry()),
    ):
        codec = SecretCodec(ring)
        result = codec.signing_secrets("wh_1", stored(columns))
        assert isinstance(result, UnreadableSecrets) and CURRENT not in result.reason
        with pytest.raises(DecryptionError):
            codec.resealed("wh_1", stored(columns))


def test_rotation_moves_rows_to_the_first_key() -> None:
    old = SecretCodec(TEST_KEY_RING).secret_columns("wh_1", CURRENT, None, None)
    ring = KeyRing.parse(f"{generate_key_entry('k2')},{TEST_ENCRYPTION_KEYS}")
    moved = SecretCodec(ring).resealed("wh_1", stored(old))
    assert moved["secret_key_id"] == "k2"
    assert SecretCodec(KeyRing.parse(TEST_ENCRYPTION_KEYS)).signing_secrets(
        "wh_1", stored(moved)
    ) == UnreadableSecrets(
        "the stored secret was encrypted with key 'k2', which is not in the key ring (test1): "
        "add it to PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS"
    )


def test_settings_key_ring() -> None:
    settings = Settings.from_env({"PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS})
    assert settings.key_ring().key_ids == (TEST_KEY_ID,)
    assert "AQEB" not in repr(settings)
    with pytest.raises(ConfigError, match="must be 32 bytes"):
        Settings.from_env({"PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS": "k1:AAAA"})
    with pytest.raises(KeyRingError, match="PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS is not set"):
        Settings().key_ring()
