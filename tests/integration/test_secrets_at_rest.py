"""Webhook signing secrets encrypted at rest, on SQLite and PostgreSQL: the raw rows hold no
secret (current nor previous, nor their base64); a wrong or missing key never signs with
garbage (nothing is sent, the attempt records why, revealing answers 503, the API stays up);
rows from before encryption are read, then sealed; `secrets reencrypt` moves every row to a
new key while the service runs and deliveries keep verifying."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
from typing import Any

from sqlalchemy import select, text, update

from promptha_webhooks.cli.environment import seal_plaintext_secrets
from promptha_webhooks.receiver.verify import verify
from promptha_webhooks.secret_box import KeyRing, generate_key_entry
from promptha_webhooks.store.tables import webhooks
from promptha_webhooks.store.webhook_secrets import SecretCodec

from support import (
    TEST_ENCRYPTION_KEYS,
    TEST_KEY_ID,
    Receiver,
    Service,
    ServiceFactory,
    sync_connection,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PREVIOUS = "whsk_previous_secret_0123456789abcdef"  # whatever string is stored is sealed
CLI = [sys.executable, "-m", "promptha_webhooks.cli"]
DATA = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}


def forms(secret: str) -> list[str]:
    """The secret and its base64 encodings, as a leak could hold it."""
    raw = secret.encode()
    return [
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        base64.b64encode(raw).decode().rstrip("="),
    ]


def raw_webhook_rows(database_url: str) -> list[str]:
    """Every column of every webhooks row, as text, read past the service."""
    with sync_connection(database_url) as conn:
        rows = conn.execute(text("SELECT * FROM webhooks")).all()
    return [" ".join(str(value) for value in row) for row in rows]


async def set_secrets(service: Service, webhook_id: str, previous: str, until_ms: int) -> None:
    """A rotation's state (the current secret kept, `previous` signing until `until_ms`),
    written through the only writer of the secret columns."""
    services = service.app.state.services
    async with services.db.transaction() as conn:
        await conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id)
            .values(**services.db.secrets.secret_columns(webhook_id, SECRET, previous, until_ms))
        )


async def test_raw_rows_hold_no_secret_and_deliveries_verify(
    service: Service, receiver: Receiver, database_url: str
) -> None:
    account, auth = await service.create_account()
    hook = await service.create_webhook(auth, url=receiver.url(), secret=SECRET)
    generated = await service.create_webhook(auth, url=receiver.url("/other"))
    await set_secrets(service, hook["id"], PREVIOUS, int(time.time() * 1000) + 3_600_000)

    rows = raw_webhook_rows(database_url)
    assert len(rows) == 2
    for secret in (SECRET, PREVIOUS, generated["secret"]):
        for form in forms(secret):
            assert not any(form in row for row in rows), (secret, form)
    key_ids = await service.sql_row(
        "SELECT count(*) AS n FROM webhooks WHERE secret_key_id = :k", k=TEST_KEY_ID
    )
    assert key_ids.n == 2

    # Revealing and signing still use the plaintext: both secrets sign during the rotation.
    shown = await service.client.get(f"/v1/webhooks/{hook['id']}/secret", headers=auth)
    assert shown.status_code == 200 and shown.json()["secret"] == SECRET
    await service.publish(account, "fabric.completed", DATA)
    request = (await receiver.wait_for(1, path="/hook"))[0]
    verify(request.body, request.headers, SECRET)
    verify(request.body, request.headers, PREVIOUS)
    other = (await receiver.wait_for(1, path="/other"))[0]
    verify(other.body, other.headers, generated["secret"])


async def test_a_ciphertext_copied_to_another_row_does_not_decrypt(
    service: Service, receiver: Receiver
) -> None:
    _account, auth = await service.create_account()
    first = await service.create_webhook(auth, url=receiver.url(), secret=SECRET)
    second = await service.create_webhook(auth, url=receiver.url("/b"))
    db = service.app.state.services.db
    async with db.transaction() as conn:
        sealed = (
            await conn.execute(select(webhooks.c.secret).where(webhooks.c.id == first["id"]))
        ).scalar_one()
        await conn.execute(
            update(webhooks).where(webhooks.c.id == second["id"]).values(secret=sealed)
        )
    copied = await service.client.get(f"/v1/webhooks/{second['id']}/secret", headers=auth)
    assert copied.status_code == 503
    assert copied.json()["error"]["type"] == "secret_unavailable"


async def test_wrong_or_missing_key_never_signs_with_garbage(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    first = await make_service(run_dispatcher=False)
    account, auth = await first.create_account()
    hook = await first.create_webhook(auth, url=receiver.url(), secret=SECRET)

    wrong_key = KeyRing.parse(generate_key_entry(TEST_KEY_ID))  # same id, another key
    missing_key = KeyRing.parse(generate_key_entry("other"))  # the row's key is not in it
    for ring in (wrong_key, missing_key):
        service = await make_service(encryption_keys=ring, handoff=False)
        shown = await service.client.get(f"/v1/webhooks/{hook['id']}/secret", headers=auth)
        assert shown.status_code == 503, shown.text
        error = shown.json()["error"]
        assert error["type"] == "secret_unavailable" and SECRET not in shown.text
        # The API stays up: the webhook itself, the list, publishing.
        got = await service.client.get(f"/v1/webhooks/{hook['id']}", headers=auth)
        assert got.status_code == 200 and "secret" not in got.json()
        listed = await service.client.get("/v1/webhooks", headers=auth)
        assert listed.status_code == 200 and len(listed.json()["data"]) == 1
        assert (await service.client.get("/healthz")).status_code == 200

    # Deliveries under a wrong key: nothing is sent, each attempt records why.
    event = await service.publish(account, "fabric.completed", DATA)
    failed = await service.wait_delivery(auth, hook["id"], status="failed", timeout=30)
    assert failed[0]["eventId"] == event["id"]
    detail = await service.client.get(f"/v1/deliveries/{failed[0]['id']}", headers=auth)
    assert detail.status_code == 200, detail.text
    assert len(detail.json()["attempts"]) >= 2  # retried on the schedule
    for attempt in detail.json()["attempts"]:
        assert attempt["responseStatus"] is None
        assert "signing secret does not decrypt" in attempt["error"]
    assert receiver.on("/hook") == []  # never signed with garbage, never sent
    # The server's key is at fault, not the endpoint: its health counts nothing (no failing
    # streak, no alert, never disabled for it).
    shown = (await service.client.get(f"/v1/webhooks/{hook['id']}", headers=auth)).json()
    assert shown["enabled"] is True
    assert shown["health"]["consecutiveFailures"] == 0
    assert shown["health"]["failedDeliveries"] == 0


async def test_plaintext_rows_are_read_then_sealed(
    service: Service, receiver: Receiver, database_url: str
) -> None:
    """An upgrade: rows written before encryption at rest (secret_key_id NULL)."""
    account, auth = await service.create_account()
    hook = await service.create_webhook(auth, url=receiver.url())
    db = service.app.state.services.db
    async with db.transaction() as conn:
        await conn.execute(
            update(webhooks)
            .where(webhooks.c.id == hook["id"])
            .values(secret=SECRET, previous_secret=None, secret_key_id=None)
        )
    await service.publish(account, "fabric.completed", DATA)
    first = (await receiver.wait_for(1))[0]
    verify(first.body, first.headers, SECRET)
    assert any(SECRET in row for row in raw_webhook_rows(database_url))

    await seal_plaintext_secrets(db)  # what serve and worker do at start-up
    assert not any(SECRET in row for row in raw_webhook_rows(database_url))
    await service.publish(account, "fabric.completed", DATA)
    second = (await receiver.wait_for(2))[1]
    verify(second.body, second.headers, SECRET)


async def reencrypt(database_url: str, keys: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`promptha-webhooks secrets reencrypt` as its own process, beside the running service."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")} | {
        "PROMPTHA_WEBHOOKS_DATABASE_URL": database_url,
        "PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS": keys,
    }
    return await asyncio.to_thread(
        subprocess.run,
        [*CLI, "secrets", "reencrypt", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_reencrypt_moves_every_row_online(
    make_service: ServiceFactory, receiver: Receiver, database_url: str
) -> None:
    """The documented rotation: the new key added second everywhere, then put first, then
    reencrypt while the service runs and publishes, then the old key removed. (One service
    in this process: a second one opening the SQLite file would drop the first's locks.)"""
    new_entry = generate_key_entry("k2")
    # Step 1: every process knows the new key (second: the old key still seals).
    service = await make_service(
        encryption_keys=KeyRing.parse(f"{TEST_ENCRYPTION_KEYS},{new_entry}")
    )
    account, auth = await service.create_account()
    hooks: list[dict[str, Any]] = [
        await service.create_webhook(
            auth, url=receiver.url(f"/h{i}"), headers={"X-Gateway": f"gw-{i}"}
        )
        for i in range(5)
    ]
    assert await raw_key_ids(service) == {TEST_KEY_ID}
    assert await raw_header_key_ids(service) == {TEST_KEY_ID}

    published = 0

    async def keep_publishing(stop: asyncio.Event) -> None:
        nonlocal published
        while not stop.is_set():
            await service.publish(account, "fabric.completed", DATA)
            published += 1
            await asyncio.sleep(0.02)

    stop = asyncio.Event()
    publisher = asyncio.create_task(keep_publishing(stop))
    # Steps 2 and 3: the new key first (as the operator's command has it), every row moved.
    both = f"{new_entry},{TEST_ENCRYPTION_KEYS}"
    done = await reencrypt(database_url, both, "--batch-size", "2")
    stop.set()
    await publisher
    assert done.returncode == 0, done.stderr
    assert "5 of 5 webhooks re-encrypted with key k2" in done.stdout
    assert "2 of 5 webhooks looked at" in done.stderr  # progress, batch by batch
    assert "5 of 5 webhooks looked at" in done.stderr
    assert await raw_key_ids(service) == {"k2"}
    assert await raw_header_key_ids(service) == {"k2"}  # the static headers moved too
    assert published > 0

    # Every delivery, before, during and after, verified with the plaintext secrets.
    for number, hook in enumerate(hooks):
        arrived = await receiver.wait_for(published, path=f"/h{number}", timeout=30)
        for request in arrived:
            verify(request.body, request.headers, hook["secret"])
            assert request.headers["X-Gateway"] == f"gw-{number}"
    again = await reencrypt(database_url, both)
    assert again.returncode == 0 and "0 of 0 webhooks re-encrypted" in again.stdout

    # Step 4: the old key can go; a service with the new key only still signs.
    newest = await make_service(encryption_keys=KeyRing.parse(new_entry), handoff=False)
    await newest.publish(account, "fabric.completed", DATA)
    last = (await receiver.wait_for(published + 1, path="/h0", timeout=30))[-1]
    verify(last.body, last.headers, hooks[0]["secret"])
    assert last.headers["X-Gateway"] == "gw-0"
    shown = await newest.client.get(f"/v1/webhooks/{hooks[0]['id']}/secret", headers=auth)
    assert shown.status_code == 200 and shown.json()["secret"] == hooks[0]["secret"]


async def raw_header_key_ids(service: Service) -> set[str]:
    """The key id each stored `headers` value is sealed with (v1:<keyid>:…)."""
    async with service.app.state.services.db.transaction() as conn:
        rows = await conn.execute(text("SELECT headers FROM webhooks WHERE headers IS NOT NULL"))
        return {row[0].split(":")[1] for row in rows}


async def test_headers_left_under_an_older_key_are_moved_too(
    make_service: ServiceFactory, receiver: Receiver, database_url: str
) -> None:
    """A webhook whose secret was re-sealed under the new key (as a PATCH by a process with
    the new key first writes it), its headers still under the old one: reencrypt finds it
    and moves them."""
    new_entry = generate_key_entry("k3")
    service = await make_service(
        encryption_keys=KeyRing.parse(f"{TEST_ENCRYPTION_KEYS},{new_entry}")
    )
    _account, auth = await service.create_account()
    hook = await service.create_webhook(auth, url=receiver.url(), headers={"X-Gateway": "g"})
    newer = SecretCodec(KeyRing.parse(f"{new_entry},{TEST_ENCRYPTION_KEYS}"))
    async with service.app.state.services.db.transaction() as conn:
        columns = newer.secret_columns(hook["id"], hook["secret"], None, None)
        await conn.execute(update(webhooks).where(webhooks.c.id == hook["id"]).values(**columns))
    assert await raw_key_ids(service) == {"k3"}
    assert await raw_header_key_ids(service) == {TEST_KEY_ID}
    done = await reencrypt(database_url, f"{new_entry},{TEST_ENCRYPTION_KEYS}")
    assert done.returncode == 0, done.stderr
    assert "1 of 1 webhooks re-encrypted with key k3" in done.stdout
    assert await raw_header_key_ids(service) == {"k3"}
    only_new = SecretCodec(KeyRing.parse(new_entry))  # the old key removed: still opens
    row = await service.sql_row("SELECT headers FROM webhooks WHERE id = :id", id=hook["id"])
    opened = only_new.delivery_settings(hook["id"], (row[0], None, None, None, "http", None))
    assert opened.unreadable is None and opened.headers == (("X-Gateway", "g"),)


async def raw_key_ids(service: Service) -> set[str | None]:
    async with service.app.state.services.db.transaction() as conn:
        return {row[0] for row in await conn.execute(text("SELECT secret_key_id FROM webhooks"))}


async def test_reencrypt_reports_rows_that_do_not_decrypt(
    make_service: ServiceFactory, receiver: Receiver, database_url: str
) -> None:
    service = await make_service()
    _account, auth = await service.create_account()
    hook = await service.create_webhook(auth, url=receiver.url())
    done = await reencrypt(database_url, generate_key_entry("k9"))  # the old key lost
    assert done.returncode == 1
    assert hook["id"] in done.stderr and "Traceback" not in done.stderr
    assert await raw_key_ids(service) == {TEST_KEY_ID}  # left as it was


async def test_an_unreadable_secret_is_replaced_only_with_a_known_algorithm(
    make_service: ServiceFactory, receiver: Receiver, database_url: str
) -> None:
    """Under a wrong key an ed25519 webhook's algorithm is unknown (it is told by the key):
    PATCH {"secret": null} must not quietly make it an HMAC webhook. A standard webhook's new
    secret needs its signatureAlgorithm named (400, nothing changes); a promptha webhook's
    does not (HMAC is its only algorithm). Everything that needs the old secret is a 503."""
    first = await make_service(run_dispatcher=False)
    _account, auth = await first.create_account()
    ed = await first.create_webhook(
        auth, url=receiver.url(), signatureFormat="standard", signatureAlgorithm="ed25519"
    )
    promptha = await first.create_webhook(auth, url=receiver.url())
    rotated = await first.client.post(
        f"/v1/webhooks/{ed['id']}/rotate-secret", json={}, headers=auth
    )
    assert rotated.status_code == 200 and rotated.json()["secret"].startswith("whsk_")

    wrong_key = KeyRing.parse(generate_key_entry(TEST_KEY_ID))
    service = await make_service(encryption_keys=wrong_key, handoff=False, run_dispatcher=False)
    path = f"/v1/webhooks/{ed['id']}"
    for method, suffix, body in (
        ("GET", "/public-key", None),
        ("POST", "/rotate-secret", {}),
        ("POST", "/rotate-secret/complete", None),
        ("PATCH", "", {"signatureFormat": "standard"}),
    ):
        refused = await service.client.request(method, path + suffix, json=body, headers=auth)
        assert refused.status_code == 503, (suffix, refused.text)
        assert refused.json()["error"]["type"] == "secret_unavailable"
    before = raw_webhook_rows(database_url)
    for body in ({"secret": None}, {"secret": "whsk_" + "A" * 43 + "="}):
        unknown = await service.client.patch(path, json=body, headers=auth)
        assert unknown.status_code == 400, unknown.text
        assert unknown.json()["error"]["field"] == "signatureAlgorithm"
    assert raw_webhook_rows(database_url) == before

    replaced = await service.client.patch(
        path, json={"secret": None, "signatureAlgorithm": "ed25519"}, headers=auth
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["signatureAlgorithm"] == "ed25519"
    assert replaced.json()["previousSecretExpiresAt"] is None
    secret = (await service.client.get(f"{path}/secret", headers=auth)).json()["secret"]
    assert secret.startswith("whsk_")
    public = await service.client.get(f"{path}/public-key", headers=auth)
    assert public.status_code == 200 and public.json()["previousPublicKey"] is None

    reset = await service.client.patch(
        f"/v1/webhooks/{promptha['id']}", json={"secret": None}, headers=auth
    )
    assert reset.status_code == 200, reset.text
    assert reset.json()["signatureAlgorithm"] == "hmac-sha256"
