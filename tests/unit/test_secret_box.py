"""The AES-256-GCM key ring for secrets at rest: round trips, rotation, every way a sealed
value or a key ring can be wrong, and the development key file's mode."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from promptha_webhooks.secret_box import (
    ENCRYPTION_KEYS_ENV,
    DecryptionError,
    KeyRing,
    KeyRingError,
    development_key_ring,
    generate_key_entry,
    require_key_ring,
)

AAD = b"wh_123"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def entry(key_id: str, fill: int) -> str:
    return f"{key_id}:{base64.b64encode(bytes([fill]) * 32).decode()}"


def test_round_trip_names_the_key_and_never_holds_the_plaintext() -> None:
    ring = KeyRing.parse(entry("k1", 1))
    sealed = ring.encrypt(SECRET, AAD)
    assert sealed.startswith("v1:k1:") and SECRET not in sealed
    assert ring.decrypt(sealed, AAD) == SECRET
    assert ring.encrypt(SECRET, AAD) != sealed  # a fresh nonce each time
    assert ring.key_id_of(sealed) == "k1" and not ring.needs_reencryption(sealed)
    assert "AQEB" not in repr(ring) and "k1" in repr(ring)
    assert ring.decrypt(ring.encrypt("é ✓", AAD), AAD) == "é ✓"


def test_rotation_new_key_encrypts_old_key_still_decrypts() -> None:
    old_ring = KeyRing.parse(entry("old", 1))
    sealed_old = old_ring.encrypt(SECRET, AAD)
    ring = KeyRing.parse(f"{entry('new', 2)}, {entry('old', 1)}")
    assert ring.primary_key_id == "new" and ring.key_ids == ("new", "old")
    assert ring.decrypt(sealed_old, AAD) == SECRET
    assert ring.needs_reencryption(sealed_old)
    sealed_new = ring.encrypt(SECRET, AAD)
    assert ring.key_id_of(sealed_new) == "new"
    with pytest.raises(DecryptionError, match="'new', which is not in the key ring"):
        old_ring.decrypt(sealed_new, AAD)


def test_wrong_key_tampering_and_other_rows_data_are_clear_errors() -> None:
    ring = KeyRing.parse(entry("k1", 1))
    sealed = ring.encrypt(SECRET, AAD)
    impostor = KeyRing.parse(entry("k1", 9))
    with pytest.raises(DecryptionError, match="does not decrypt with key 'k1'"):
        impostor.decrypt(sealed, AAD)
    with pytest.raises(DecryptionError, match="does not decrypt"):
        ring.decrypt(sealed, b"wh_other")  # copied onto another row
    blob = bytearray(base64.b64decode(sealed.split(":")[2]))
    for index in (0, 12, len(blob) - 1):
        changed = bytearray(blob)
        changed[index] ^= 1
        forged = f"v1:k1:{base64.b64encode(bytes(changed)).decode()}"
        with pytest.raises(DecryptionError):
            ring.decrypt(forged, AAD)
    for junk in ("", SECRET, "v1:k1", "v2:k1:AAAA", "v1:k1:!!!!", "v1:k1:AAAA", "v1:k 1:AAAA"):
        with pytest.raises(DecryptionError):
            ring.decrypt(junk, AAD)
    with pytest.raises(DecryptionError):
        ring.decrypt(None, AAD)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "k1",
        "k1:",
        ":" + base64.b64encode(bytes(32)).decode(),
        "k1:" + base64.b64encode(bytes(16)).decode(),  # AES-128 is not enough
        "k1:" + base64.b64encode(bytes(33)).decode(),
        "k1:not base64!",
        "k 1:" + base64.b64encode(bytes(32)).decode(),
        "k1:" + base64.urlsafe_b64encode(b"\xff" * 32).decode(),
        f"{'x' * 33}:" + base64.b64encode(bytes(32)).decode(),
        f"{entry('k1', 1)},{entry('k1', 2)}",
        f"{entry('k1', 1)},",
        ",".join(entry(f"k{i}", 1) for i in range(33)),
        "\x00\n\u202e",
    ],
)
def test_hostile_key_ring_values_are_one_clear_error(value: str) -> None:
    with pytest.raises(KeyRingError) as caught:
        KeyRing.parse(value)
    message = str(caught.value)
    assert ENCRYPTION_KEYS_ENV in message and "\n" not in message
    assert base64.b64encode(bytes(32)).decode() not in message


def test_production_without_a_key_is_one_line() -> None:
    for missing in (None, "", "  "):
        with pytest.raises(KeyRingError) as caught:
            require_key_ring(missing)
        assert "\n" not in str(caught.value) and ENCRYPTION_KEYS_ENV in str(caught.value)
    assert require_key_ring(entry("k1", 1)).primary_key_id == "k1"


def test_development_generates_a_0600_key_file_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ring = development_key_ring(None, data)
    path = data / "encryption-keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    sealed = ring.encrypt(SECRET, AAD)
    again = development_key_ring("", data)  # read back, not regenerated
    assert again.decrypt(sealed, AAD) == SECRET
    path.chmod(0o644)
    development_key_ring(None, data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # tightened when found looser
    assert development_key_ring(entry("env", 3), data).primary_key_id == "env"


def test_generated_entries_parse() -> None:
    assert KeyRing.parse(generate_key_entry("k2")).primary_key_id == "k2"
    assert KeyRing.parse(generate_key_entry()).primary_key_id.startswith("k")
    with pytest.raises(KeyRingError):
        generate_key_entry("bad id")


def test_an_existing_key_file_is_never_replaced(tmp_path: Path) -> None:
    first = development_key_ring(None, tmp_path)
    sealed = first.encrypt(SECRET, AAD)
    from promptha_webhooks import secret_box

    secret_box._create_key_file(tmp_path / "encryption-keys", entry("late", 7))
    assert development_key_ring(None, tmp_path).decrypt(sealed, AAD) == SECRET
    assert sorted(p.name for p in tmp_path.iterdir()) == ["encryption-keys"]
