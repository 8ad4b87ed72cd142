"""signatureFormat and signatureAlgorithm through the API: which secret fits which scheme, what
an update that changes the scheme does with the current secret (kept when it fits, else a new
one must come in the same request) and with a running rotation (ended), and the public-key
endpoint. Both backends."""

from __future__ import annotations

from typing import Any

from promptha_webhooks import signing_standard

from support import Receiver, Service, start_rotation

CUSTOM = "my-own-promptha-secret-0123"


async def _secret(service: Service, auth: dict[str, str], webhook_id: str) -> str:
    answer = await service.client.get(f"/v1/webhooks/{webhook_id}/secret", headers=auth)
    assert answer.status_code == 200, answer.text
    secret: str = answer.json()["secret"]
    return secret


async def _patch(
    service: Service, auth: dict[str, str], webhook_id: str, status: int, **body: Any
) -> dict[str, Any]:
    answer = await service.client.patch(f"/v1/webhooks/{webhook_id}", json=body, headers=auth)
    assert answer.status_code == status, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_create_takes_a_secret_that_fits_the_scheme(
    service: Service, receiver: Receiver
) -> None:
    _, auth = await service.create_account()
    secret = signing_standard.generate_secret(64)
    standard = await service.create_webhook(
        auth, url=receiver.url(), signatureFormat="standard", secret=secret
    )
    assert standard["secret"] == secret
    key = signing_standard.generate_signing_key()
    ed25519 = await service.create_webhook(
        auth,
        url=receiver.url(),
        signatureFormat="standard",
        signatureAlgorithm="ed25519",
        secret=key,
    )
    assert (ed25519["secret"], ed25519["signatureAlgorithm"]) == (key, "ed25519")
    listed = (await service.client.get("/v1/webhooks", headers=auth)).json()["data"]
    assert {(w["signatureFormat"], w["signatureAlgorithm"]) for w in listed} == {
        ("standard", "hmac-sha256"),
        ("standard", "ed25519"),
    }
    assert all("secret" not in w for w in listed)

    answer = await service.client.post(
        "/v1/webhooks",
        json={"url": receiver.url(), "events": ["fabric.completed"], "signatureFormat": "svix"},
        headers=auth,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "invalid_request"
    assert "signatureFormat" in answer.json()["error"]["message"]
    answer = await service.client.post(
        "/v1/webhooks",
        json={
            "url": receiver.url(),
            "events": ["fabric.completed"],
            "signatureFormat": "standard",
            "secret": CUSTOM,
        },
        headers=auth,
    )
    assert answer.status_code == 400
    assert "whsec_" in answer.json()["error"]["message"]


async def test_changing_the_format_keeps_a_secret_that_fits(
    service: Service, receiver: Receiver
) -> None:
    _, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url())
    changed = await _patch(service, auth, webhook["id"], 200, signatureFormat="standard")
    assert changed["signatureFormat"] == "standard"
    assert changed["signatureAlgorithm"] == "hmac-sha256"
    assert await _secret(service, auth, webhook["id"]) == webhook["secret"]
    back = await _patch(service, auth, webhook["id"], 200, signatureFormat="promptha")
    assert back["signatureFormat"] == "promptha"
    assert await _secret(service, auth, webhook["id"]) == webhook["secret"]


async def test_a_secret_that_does_not_fit_must_come_with_the_change(
    service: Service, receiver: Receiver
) -> None:
    _, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url(), secret=CUSTOM)
    error = await _patch(service, auth, webhook["id"], 400, signatureFormat="standard")
    assert error["error"]["field"] == "secret"
    message = error["error"]["message"]
    assert "current secret does not fit" in message and '"secret": null' in message
    shown = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
    assert shown["signatureFormat"] == "promptha"
    assert await _secret(service, auth, webhook["id"]) == CUSTOM

    # A new secret in the same request: given, or generated (null).
    given = signing_standard.generate_secret()
    await _patch(service, auth, webhook["id"], 200, signatureFormat="standard", secret=given)
    assert await _secret(service, auth, webhook["id"]) == given
    await _patch(service, auth, webhook["id"], 200, signatureFormat="promptha", secret=CUSTOM)
    await _patch(service, auth, webhook["id"], 200, signatureFormat="standard", secret=None)
    generated = await _secret(service, auth, webhook["id"])
    assert signing_standard.parse_key(generated).kind is signing_standard.KeyKind.SECRET


async def test_switching_to_ed25519_and_back(service: Service, receiver: Receiver) -> None:
    _, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url(), signatureFormat="standard")
    path = f"/v1/webhooks/{webhook['id']}/public-key"
    conflict = await service.client.get(path, headers=auth)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["type"] == "conflict"
    assert "hmac-sha256" in conflict.json()["error"]["message"]

    # The whsec_ secret is no signing key: ed25519 needs one in the same request.
    await _patch(service, auth, webhook["id"], 400, signatureAlgorithm="ed25519")
    changed = await _patch(
        service, auth, webhook["id"], 200, signatureAlgorithm="ed25519", secret=None
    )
    assert changed["signatureAlgorithm"] == "ed25519"
    key = await _secret(service, auth, webhook["id"])
    assert key.startswith("whsk_")
    public = (await service.client.get(path, headers=auth)).json()
    assert public["publicKey"] == signing_standard.public_key(key)

    # A new secret of the same scheme: null generates another signing key.
    await _patch(service, auth, webhook["id"], 200, secret=None)
    other = await _secret(service, auth, webhook["id"])
    assert other.startswith("whsk_") and other != key

    # Back to promptha: HMAC-SHA256 only, so the signing key does not fit.
    await _patch(service, auth, webhook["id"], 400, signatureFormat="promptha")
    back = await _patch(service, auth, webhook["id"], 200, signatureFormat="promptha", secret=None)
    assert (back["signatureFormat"], back["signatureAlgorithm"]) == ("promptha", "hmac-sha256")
    assert (await service.client.get(path, headers=auth)).status_code == 409


async def test_a_scheme_change_ends_a_rotation(service: Service, receiver: Receiver) -> None:
    _, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url())
    await start_rotation(service, auth, webhook["id"], signing_standard.generate_secret())
    shown = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
    assert shown["previousSecretExpiresAt"] is not None
    changed = await _patch(service, auth, webhook["id"], 200, signatureFormat="standard")
    assert changed["previousSecretExpiresAt"] is None
    row = await service.sql_row(
        "SELECT previous_secret, signature_format FROM webhooks WHERE id = :id", id=webhook["id"]
    )
    assert tuple(row) == (None, "standard")


async def test_public_key_of_unknown_and_other_accounts_webhooks_is_404(
    service: Service, receiver: Receiver
) -> None:
    _, auth = await service.create_account()
    _, other_auth = await service.create_account("Other")
    theirs = await service.create_webhook(
        other_auth, url=receiver.url(), signatureFormat="standard", signatureAlgorithm="ed25519"
    )
    for webhook_id in (theirs["id"], "wh_06H4A8CTXDFPPP34W9NY7DWDTW"):
        answer = await service.client.get(f"/v1/webhooks/{webhook_id}/public-key", headers=auth)
        assert answer.status_code == 404
        assert answer.json()["error"]["type"] == "not_found"
