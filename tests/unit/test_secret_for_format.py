"""services/validation.secret_for_format and signing_scheme: the one place that says which
secret fits which signing scheme, and generates one."""

from __future__ import annotations

import typing
from typing import Any

import pytest

from promptha_webhooks import signing_standard
from promptha_webhooks.api.schemas import AlgorithmName, FormatName
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.services.validation import (
    GENERATED_SECRET_BYTES,
    secret_for_format,
    signing_scheme,
)
from promptha_webhooks.signature_headers import SignatureAlgorithm, SignatureFormat
from promptha_webhooks.webhook_secrets import SigningScheme, SigningSecrets

PROMPTHA, STANDARD = SignatureFormat.PROMPTHA, SignatureFormat.STANDARD
HMAC, ED25519 = SignatureAlgorithm.HMAC_SHA256, SignatureAlgorithm.ED25519
KEY = signing_standard.generate_signing_key()


def test_the_api_names_are_the_enums_values() -> None:
    assert set(typing.get_args(FormatName)) == {f.value for f in SignatureFormat}
    assert set(typing.get_args(AlgorithmName)) == {a.value for a in SignatureAlgorithm}


def test_generated_hmac_secrets_fit_both_formats() -> None:
    for signature_format in SignatureFormat:
        secret = secret_for_format(signature_format, None)
        key = signing_standard.parse_key(secret)
        assert key.kind is signing_standard.KeyKind.SECRET
        assert len(key.material) == GENERATED_SECRET_BYTES
        assert secret_for_format(PROMPTHA, secret) == secret
        assert secret_for_format(STANDARD, secret) == secret
    assert secret_for_format(PROMPTHA, None) != secret_for_format(PROMPTHA, None)


def test_generated_ed25519_key() -> None:
    key = secret_for_format(STANDARD, None, algorithm=ED25519)
    assert signing_standard.parse_key(key).kind is signing_standard.KeyKind.SIGNING
    assert SigningSecrets(key, format=STANDARD).algorithm is ED25519
    assert SigningSecrets(key, format=STANDARD).scheme == SigningScheme(STANDARD, ED25519)


def test_given_secrets_that_fit() -> None:
    assert secret_for_format(PROMPTHA, "any printable text 16+") == "any printable text 16+"
    wide = signing_standard.generate_secret(64)
    assert secret_for_format(STANDARD, wide) == wide
    assert secret_for_format(STANDARD, KEY, algorithm=ED25519) == KEY


@pytest.mark.parametrize(
    ("signature_format", "algorithm", "secret", "said"),
    [
        (PROMPTHA, HMAC, "short", "16-256"),
        (PROMPTHA, HMAC, "tab\tinside the secret", "printable"),
        (PROMPTHA, HMAC, KEY, "Ed25519 key does not sign the promptha"),
        (PROMPTHA, HMAC, "whpk_" + KEY[5:], "Ed25519 key does not sign the promptha"),
        (PROMPTHA, HMAC, 12345678901234567, "string"),
        (STANDARD, HMAC, "plain-text-secret-0123", "whsec_"),
        (STANDARD, HMAC, "whsec_MDEyMzQ1Njc=", "24 to 64 bytes"),
        (STANDARD, HMAC, "whsec_" + "\ud800" * 40, "base64"),
        (STANDARD, HMAC, "whsec_" + "A" * 300, "at most 256"),
        (STANDARD, HMAC, KEY, 'set signatureAlgorithm "ed25519"'),
        (STANDARD, HMAC, ["whsec_"], "string"),
        (STANDARD, ED25519, signing_standard.generate_secret(), 'signatureAlgorithm "hmac-sha256"'),
        (STANDARD, ED25519, "whpk_" + KEY[5:], "public key only verifies"),
        (STANDARD, ED25519, "whsk_AAAA", "32 bytes"),
    ],
)
def test_secrets_that_do_not_fit(
    signature_format: SignatureFormat, algorithm: SignatureAlgorithm, secret: Any, said: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        secret_for_format(signature_format, secret, algorithm=algorithm)
    assert caught.value.field == "secret"
    assert said in caught.value.message
    # The message never echoes the secret (it may be a real one, mistyped).
    if isinstance(secret, str) and len(secret) > 16:
        assert secret not in caught.value.message


def test_schemes() -> None:
    assert signing_scheme("standard", "ed25519") == SigningScheme(STANDARD, ED25519)
    assert signing_scheme(PROMPTHA, HMAC) == SigningScheme()
    with pytest.raises(InvalidRequestError, match='needs signatureFormat "standard"') as caught:
        signing_scheme("promptha", "ed25519")
    assert caught.value.field == "signatureAlgorithm"
    with pytest.raises(InvalidRequestError, match="signatureFormat must be one of") as caught:
        signing_scheme("svix", "hmac-sha256")
    assert caught.value.field == "signatureFormat"
    with pytest.raises(InvalidRequestError, match="signatureAlgorithm must be one of"):
        signing_scheme("standard", ["ed25519"])
    with pytest.raises(InvalidRequestError):
        secret_for_format(PROMPTHA, None, algorithm=ED25519)
