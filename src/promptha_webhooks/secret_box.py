"""Secrets at rest: an AES-256-GCM key ring (``cryptography``'s AESGCM, nothing hand-made).

``PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS`` is ``keyid:base64key,keyid2:base64key``: the first key
encrypts, every key decrypts, so a new key is put first and the old ones stay until every row
is re-encrypted. A sealed value is the text ``v1:<keyid>:<base64(nonce + ciphertext + tag)>``:
the key id travels with the row. The caller passes associated data (e.g. the webhook id) so a
ciphertext copied onto another row does not decrypt. In development mode a key is generated
into a 0600 file on first use (:func:`development_key_ring`); in production a missing key is
one clear error (:func:`require_key_ring`).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from promptha_webhooks.errors import PrompthaError
from promptha_webhooks.private_files import (
    private_directory,
    read_private_file,
    write_private_file,
)

__all__ = [
    "ENCRYPTION_KEYS_ENV",
    "KEY_BYTES",
    "KEY_FILE_NAME",
    "SEALED_PREFIX",
    "DecryptionError",
    "KeyRing",
    "KeyRingError",
    "development_key_ring",
    "generate_key_entry",
    "require_key_ring",
]

ENCRYPTION_KEYS_ENV = "PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS"
KEY_FILE_NAME = "encryption-keys"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce, random per encryption
TAG_BYTES = 16
SEALED_PREFIX = "v1"
MAX_KEYS = 32
MAX_KEY_ID_LENGTH = 32
_KEY_ID_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_KEY_ID_LENGTH}}}\Z")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}\Z")


class KeyRingError(PrompthaError):
    """The encryption key ring is missing or malformed."""

    error_type = "key_ring_error"


class DecryptionError(PrompthaError):
    """A stored secret cannot be decrypted (unknown key id, wrong key, or tampered data)."""

    error_type = "decryption_error"


def _decode_b64(text: str) -> bytes | None:
    if _BASE64_RE.match(text) is None or len(text) % 4:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class _Key:
    key_id: str
    cipher: AESGCM

    def __repr__(self) -> str:
        return f"_Key({self.key_id!r}, <hidden>)"


class KeyRing:
    """Ordered keys: the first encrypts, all decrypt. Built by :meth:`parse`; ``repr`` shows
    the key ids only."""

    __slots__ = ("_by_id", "_primary")

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise KeyRingError("the key ring needs at least one key")
        for key_id, key in keys.items():
            if _KEY_ID_RE.match(key_id) is None:
                raise KeyRingError(
                    f"a key id is 1 to {MAX_KEY_ID_LENGTH} characters of A-Z a-z 0-9 _ -"
                )
            if len(key) != KEY_BYTES:
                raise KeyRingError(
                    f"key {key_id!r} has {len(key)} bytes; AES-256 needs {KEY_BYTES}"
                )
        self._by_id = {key_id: _Key(key_id, AESGCM(key)) for key_id, key in keys.items()}
        self._primary = next(iter(self._by_id.values()))

    @classmethod
    def parse(cls, text: str, *, source: str = ENCRYPTION_KEYS_ENV) -> KeyRing:
        """Parse ``keyid:base64key,keyid2:base64key``; KeyRingError (never the key bytes in
        its message) when malformed."""
        if not isinstance(text, str) or not text.strip():
            raise KeyRingError(f"{source} is empty: give keyid:base64key[,keyid:base64key…]")
        entries = [entry.strip() for entry in text.split(",")]
        if len(entries) > MAX_KEYS:
            raise KeyRingError(f"{source} holds {len(entries)} keys, more than {MAX_KEYS}")
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(entries, start=1):
            key_id, sep, encoded = entry.partition(":")
            if not sep:
                raise KeyRingError(f"{source}: entry {position} is not keyid:base64key")
            if key_id in keys:
                raise KeyRingError(f"{source}: key id {key_id!r} appears twice")
            if _KEY_ID_RE.match(key_id) is None:
                raise KeyRingError(
                    f"{source}: entry {position}'s key id must be 1 to {MAX_KEY_ID_LENGTH} "
                    "characters of A-Z a-z 0-9 _ -"
                )
            key = _decode_b64(encoded)
            if key is None or len(key) != KEY_BYTES:
                raise KeyRingError(
                    f"{source}: key {key_id!r} must be {KEY_BYTES} bytes in standard base64 "
                    f"({(KEY_BYTES + 2) // 3 * 4} characters)"
                )
            keys[key_id] = key
        return cls(keys)

    @property
    def primary_key_id(self) -> str:
        """The id of the key that encrypts."""
        return self._primary.key_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def __repr__(self) -> str:
        return f"KeyRing(key_ids={list(self._by_id)!r})"

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        """Seal ``plaintext`` under the primary key: ``v1:<keyid>:<base64(nonce+ct+tag)>``."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._primary.cipher.encrypt(nonce, plaintext.encode("utf-8"), aad)
        encoded = base64.b64encode(nonce + sealed).decode("ascii")
        return f"{SEALED_PREFIX}:{self._primary.key_id}:{encoded}"

    def key_id_of(self, sealed: str) -> str:
        """The key id a sealed value names (DecryptionError when it is not a sealed value)."""
        return self._split(sealed)[0]

    def needs_reencryption(self, sealed: str) -> bool:
        """Whether ``sealed`` was made with another key than the primary one."""
        return self.key_id_of(sealed) != self._primary.key_id

    def decrypt(self, sealed: str, aad: bytes) -> str:
        """Open a value :meth:`encrypt` made, with the same ``aad``; DecryptionError when the
        key id is unknown, the key is wrong or a byte changed."""
        key_id, blob = self._split(sealed)
        key = self._by_id.get(key_id)
        if key is None:
            raise DecryptionError(
                f"the stored secret was encrypted with key {key_id!r}, which is not in the key "
                f"ring ({', '.join(self._by_id)}): add it to {ENCRYPTION_KEYS_ENV}"
            )
        try:
            plaintext = key.cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise DecryptionError(
                f"the stored secret does not decrypt with key {key_id!r}: the key with that id "
                "is not the one it was encrypted with, or the stored value was altered"
            ) from None
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:  # authenticated, so only a bug could get here
            raise DecryptionError("the decrypted secret is not UTF-8") from None

    def _split(self, sealed: str) -> tuple[str, bytes]:
        if not isinstance(sealed, str):
            raise DecryptionError(f"a sealed secret is a str, got {type(sealed).__name__}")
        version, sep1, rest = sealed.partition(":")
        key_id, sep2, encoded = rest.partition(":")
        if version != SEALED_PREFIX or not sep1 or not sep2 or _KEY_ID_RE.match(key_id) is None:
            raise DecryptionError(
                f"not an encrypted secret: expected {SEALED_PREFIX}:<keyid>:<base64>"
            )
        blob = _decode_b64(encoded)
        if blob is None or len(blob) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError(f"the encrypted secret under key {key_id!r} is truncated")
        return key_id, blob


def generate_key_entry(key_id: str | None = None) -> str:
    """A new ``keyid:base64key`` entry (32 random bytes), to put first in the ring."""
    chosen = key_id or f"k{secrets.token_hex(4)}"
    if _KEY_ID_RE.match(chosen) is None:
        raise KeyRingError(f"a key id is 1 to {MAX_KEY_ID_LENGTH} characters of A-Z a-z 0-9 _ -")
    return f"{chosen}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode('ascii')}"


def require_key_ring(value: str | None) -> KeyRing:
    """Production mode: the ring from ``value`` (the environment variable), or one clear
    KeyRingError line when it is missing."""
    if value is None or not value.strip():
        raise KeyRingError(
            f"{ENCRYPTION_KEYS_ENV} is not set: production mode stores webhook secrets "
            "encrypted and refuses to start without a key (generate one with "
            '`python -c \'import base64,os; print("k1:" + base64.b64encode(os.urandom(32))'
            ".decode())'`)"
        )
    return KeyRing.parse(value)


def development_key_ring(value: str | None, data_dir: Path) -> KeyRing:
    """Development mode: the ring from ``value`` when it is set, else from
    ``<data_dir>/encryption-keys`` (0600), which is generated on first use."""
    if value is not None and value.strip():
        return KeyRing.parse(value)
    path = data_dir / KEY_FILE_NAME
    text = read_private_file(path)
    if text is None:
        private_directory(data_dir)
        _create_key_file(path, generate_key_entry("dev1"))
        text = read_private_file(path) or ""
    return KeyRing.parse(text.strip(), source=str(path))


def _create_key_file(path: Path, entry: str) -> None:
    """Write the generated key beside `path` (0600), then link it into place only if no other
    process got there first: two processes starting at once agree on one key."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    write_private_file(temporary, entry + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process's key won; it is read back by the caller
    finally:
        temporary.unlink(missing_ok=True)
