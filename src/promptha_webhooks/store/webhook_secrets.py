"""`SecretCodec`: webhook signing secrets sealed at rest (AES-256-GCM through the key ring of
secret_box.py). Its `signing_secrets` is the one place stored secret columns become a
webhook's `SigningSecrets` (every read goes through it), `SIGNING_COLUMNS` the columns it reads
(in that order), and its `secret_columns` the one place secrets become column values (every
write goes through it). Whatever string is stored is sealed, whichever its format (`whsec_`,
`whsk_`, a user's own).

Each value is sealed with the webhook's id and the column's name as associated data: a
ciphertext copied onto another row, or from `previous_secret` to `secret`, does not decrypt.
A row whose `secret_key_id` is NULL predates encryption at rest and is read as plaintext until
it is sealed (store/secret_sealing.py, at start-up and by `secrets reencrypt`).

Opened values are cached by webhook id and ciphertext: the claim and hand-off paths read the
same webhooks' secrets for every delivery, so a secret is decrypted once per process and per
stored value (a new value is a new ciphertext: a fresh nonce), never per attempt.

A webhook's static custom headers (delivery_settings.py) are sealed the same way, as one JSON
object in the `headers` column (associated data: the column and the webhook id), and opened
with its retry schedule and timeout into one cached `DeliverySettings` (`delivery_settings`).
So is its own proxy URL (`proxy_url`: it may carry the proxy's user name and password), and
a broker webhook's destination config (`destination_config`: its URL holds the broker's
credentials), opened into the same `DeliverySettings`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

import orjson

from promptha_webhooks.delivery_settings import (
    DEFAULT_DELIVERY_SETTINGS,
    DeliverySettings,
    OpenedDestination,
)
from promptha_webhooks.proxy_url import ProxyUrl, parse_proxy_url
from promptha_webhooks.secret_box import DecryptionError, KeyRing
from promptha_webhooks.signature_headers import SignatureFormat
from promptha_webhooks.webhook_secrets import Signing, SigningSecrets, UnreadableSecrets

__all__ = [
    "SETTINGS_COLUMNS",
    "SIGNING_COLUMNS",
    "SecretCodec",
    "StoredSecrets",
    "StoredSettings",
]

logger = logging.getLogger(__name__)

# The webhooks columns a webhook's secrets are read from, in `StoredSecrets`' order.
SIGNING_COLUMNS: Final = (
    "secret",
    "previous_secret",
    "previous_secret_expires_at",
    "signature_format",
    "secret_key_id",
)

# The values of SIGNING_COLUMNS, as a row holds them.
StoredSecrets = tuple[str, str | None, int | None, str, str | None]

# The webhooks columns a webhook's delivery settings are read from, in `StoredSettings`' order.
SETTINGS_COLUMNS: Final = (
    "headers",
    "retry_schedule",
    "timeout_seconds",
    "proxy_url",
    "destination_type",
    "destination_config",
)

# The values of SETTINGS_COLUMNS, as a row holds them: the sealed headers (a JSON object), the
# retry delays (a JSON array), the timeout in seconds, the sealed proxy URL (each NULL for the
# server's default); the destination kind (`http` or a broker's) and a broker's sealed config
# (a JSON object).
StoredSettings = tuple[str | None, str | None, int | None, str | None, str, str | None]

# An HTTP webhook with the server's delivery settings, as a row holds it.
_DEFAULT_STORED: Final = (None, None, None, None, "http", None)

_CACHE_SIZE = 4096
_HEADERS_AAD = "webhooks.headers:"
_DESTINATION_AAD = "webhooks.destination_config:"
_SECRET_AAD = "webhooks.secret:"
_PREVIOUS_AAD = "webhooks.previous_secret:"
_PROXY_AAD = "webhooks.proxy_url:"


class SecretCodec:
    """Seals webhook secrets for storage and opens stored ones, with one key ring (the first
    key seals, every key opens). Built once per process from Settings and passed in (the
    Database holds it; the Store's queries use it)."""

    __slots__ = ("_cache", "_settings_cache", "keys")

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys
        self._cache: dict[tuple[str, StoredSecrets], Signing] = {}
        self._settings_cache: dict[tuple[str, StoredSettings], DeliverySettings] = {}

    def __repr__(self) -> str:
        return f"SecretCodec({self.keys!r})"

    def signing_secrets(self, webhook_id: str, stored: StoredSecrets) -> Signing:
        """The secrets stored as these column values of webhook `webhook_id`, or
        UnreadableSecrets (never a garbage secret) when they do not decrypt."""
        key = (webhook_id, stored)
        found = self._cache.get(key)
        if found is not None:
            return found
        built = self._open(webhook_id, stored)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = built
        return built

    def delivery_settings(self, webhook_id: str, stored: StoredSettings) -> DeliverySettings:
        """The delivery settings stored as these column values of webhook `webhook_id` (the
        header values opened; `unreadable` says why when they do not decrypt)."""
        if stored == _DEFAULT_STORED:
            return DEFAULT_DELIVERY_SETTINGS
        key = (webhook_id, stored)
        found = self._settings_cache.get(key)
        if found is not None:
            return found
        built = self._open_settings(webhook_id, stored)
        if len(self._settings_cache) >= _CACHE_SIZE:
            self._settings_cache.clear()
        self._settings_cache[key] = built
        return built

    def headers_column(self, webhook_id: str, headers: Mapping[str, str]) -> str | None:
        """The `headers` column value storing these static headers, sealed under the ring's
        first key; None when there are none."""
        if not headers:
            return None
        plain = orjson.dumps(dict(headers)).decode()
        return self.keys.encrypt(plain, _aad(_HEADERS_AAD, webhook_id))

    def resealed_headers(self, webhook_id: str, sealed: str | None) -> str | None:
        """The `headers` column value holding the same headers under the ring's first key;
        DecryptionError when they do not open."""
        if sealed is None:
            return None
        plain = self.keys.decrypt(sealed, _aad(_HEADERS_AAD, webhook_id))
        return self.keys.encrypt(plain, _aad(_HEADERS_AAD, webhook_id))

    def proxy_url_column(self, webhook_id: str, proxy: ProxyUrl | None) -> str | None:
        """The `proxy_url` column value storing this proxy (credentials and all), sealed
        under the ring's first key; None when the webhook has none."""
        if proxy is None:
            return None
        return self.keys.encrypt(proxy.text, _aad(_PROXY_AAD, webhook_id))

    def resealed_proxy_url(self, webhook_id: str, sealed: str | None) -> str | None:
        """The `proxy_url` column value holding the same URL under the ring's first key;
        DecryptionError when it does not open."""
        if sealed is None:
            return None
        plain = self.keys.decrypt(sealed, _aad(_PROXY_AAD, webhook_id))
        return self.keys.encrypt(plain, _aad(_PROXY_AAD, webhook_id))

    def destination_column(self, webhook_id: str, config: str | None) -> str | None:
        """The `destination_config` column value storing a broker webhook's config (its JSON
        object), sealed under the ring's first key; None for an HTTP webhook."""
        if config is None:
            return None
        return self.keys.encrypt(config, _aad(_DESTINATION_AAD, webhook_id))

    def resealed_destination(self, webhook_id: str, sealed: str | None) -> str | None:
        """The `destination_config` column value holding the same config under the ring's
        first key; DecryptionError when it does not open."""
        if sealed is None:
            return None
        plain = self.keys.decrypt(sealed, _aad(_DESTINATION_AAD, webhook_id))
        return self.keys.encrypt(plain, _aad(_DESTINATION_AAD, webhook_id))

    def _open_destination(
        self, webhook_id: str, kind: str, sealed: str | None
    ) -> tuple[OpenedDestination | None, str | None]:
        """A broker webhook's destination, opened (or why it does not open)."""
        if sealed is None:
            return None, None
        try:
            config = self.keys.decrypt(sealed, _aad(_DESTINATION_AAD, webhook_id))
        except DecryptionError as exc:
            logger.error("webhook %s: destination config: %s", webhook_id, exc.message)
            return None, exc.message
        return OpenedDestination(kind, config), None

    def _open_settings(self, webhook_id: str, stored: StoredSettings) -> DeliverySettings:
        sealed, schedule, timeout, sealed_proxy, destination_type, destination_config = stored
        destination, destination_unreadable = self._open_destination(
            webhook_id, destination_type, destination_config
        )
        delays = orjson.loads(schedule) if schedule is not None else None
        retry_schedule = (0.0, *map(float, delays)) if delays is not None else None
        headers: tuple[tuple[str, str], ...] = ()
        unreadable = None
        if sealed is not None:
            try:
                opened = orjson.loads(self.keys.decrypt(sealed, _aad(_HEADERS_AAD, webhook_id)))
                headers = tuple((str(k), str(v)) for k, v in opened.items())
            except DecryptionError as exc:
                logger.error("webhook %s: custom headers: %s", webhook_id, exc.message)
                unreadable = exc.message
        proxy = None
        if sealed_proxy is not None:
            try:
                plain = self.keys.decrypt(sealed_proxy, _aad(_PROXY_AAD, webhook_id))
                proxy = parse_proxy_url(plain)
            except DecryptionError as exc:
                logger.error("webhook %s: proxy URL: %s", webhook_id, exc.message)
                unreadable = exc.message
        return DeliverySettings(
            headers=headers,
            retry_schedule_s=retry_schedule,
            timeout_s=float(timeout) if timeout is not None else None,
            unreadable=unreadable,
            proxy=proxy,
            destination=destination,
            destination_unreadable=destination_unreadable,
        )

    def secret_columns(
        self, webhook_id: str, current: str, previous: str | None, previous_expires_at: int | None
    ) -> dict[str, str | int | None]:
        """The webhooks column values that store these secrets for `webhook_id`, sealed under
        the ring's first key (a rotation's previous secret and its expiry, or None for both
        when no rotation runs)."""
        return {
            "secret": self.keys.encrypt(current, _aad(_SECRET_AAD, webhook_id)),
            "previous_secret": (
                None
                if previous is None
                else self.keys.encrypt(previous, _aad(_PREVIOUS_AAD, webhook_id))
            ),
            "previous_secret_expires_at": previous_expires_at,
            "secret_key_id": self.keys.primary_key_id,
        }

    def resealed(self, webhook_id: str, stored: StoredSecrets) -> dict[str, str | int | None]:
        """The column values storing the same secrets under the ring's first key (plaintext
        rows sealed, rows under an older key moved); DecryptionError when they do not open."""
        secrets = self._open(webhook_id, stored)
        if isinstance(secrets, UnreadableSecrets):
            raise DecryptionError(secrets.reason)
        return self.secret_columns(
            webhook_id, secrets.current, secrets.previous, secrets.previous_expires_at
        )

    def _open(self, webhook_id: str, stored: StoredSecrets) -> Signing:
        secret, previous, previous_expires_at, signature_format, key_id = stored
        format_ = SignatureFormat(signature_format)
        if key_id is not None:
            try:
                secret = self.keys.decrypt(secret, _aad(_SECRET_AAD, webhook_id))
                if previous is not None:
                    previous = self.keys.decrypt(previous, _aad(_PREVIOUS_AAD, webhook_id))
            except DecryptionError as exc:
                logger.error("webhook %s: %s", webhook_id, exc.message)
                return UnreadableSecrets(exc.message, format_)
        return SigningSecrets(
            current=secret,
            previous=previous,
            previous_expires_at=previous_expires_at,
            format=format_,
        )


def _aad(column: str, webhook_id: str) -> bytes:
    return (column + webhook_id).encode("utf-8")
