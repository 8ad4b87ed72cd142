"""The real platform delivers to a receiver built with this SDK, over real HTTP on 127.0.0.1.

The service (API + dispatcher) signs and sends; docs/receiver_examples/basic_fastapi.py, served
by uvicorn, verifies and handles: the two halves agree on the wire contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from promptha_webhooks import signing_standard
from promptha_webhooks.store.database import migrate_sync

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "receiver_examples"
SECRET = "whsec_platform_to_receiver_0123"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only here (the platform's backends are covered by its own tests)."""
    url = f"sqlite:///{tmp_path / 'promptha.db'}"
    migrate_sync(url)
    return url


@pytest.fixture
async def receiver_url(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    async with serve_example(monkeypatch, SECRET) as url:
        yield url


@contextlib.asynccontextmanager
async def serve_example(monkeypatch: pytest.MonkeyPatch, secret: str) -> AsyncIterator[str]:
    """basic_fastapi.py under uvicorn, verifying with WEBHOOK_SECRET=`secret`."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    sys.modules.pop("basic_fastapi", None)
    app = importlib.import_module("basic_fastapi").app
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/webhooks/promptha"
    finally:
        server.should_exit = True
        await task
        sys.modules.pop("basic_fastapi", None)


async def test_test_events_and_real_events_reach_the_handler(
    make_service: Any, receiver_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    service = await make_service()
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=receiver_url, secret=SECRET, events=["fabric.completed", "credits.low"]
    )

    # The guide's test call: the platform fills the missing fields from the sample.
    response = await service.client.post(
        "/v1/webhooks/test",
        json={
            "webhookId": webhook["id"],
            "event": "fabric.completed",
            "data": {"executionId": "test_123", "result": {"output": "Test result"}},
        },
        headers=auth,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["delivery"]["status"] == "delivered", result
    attempt = result["delivery"]["attempts"][0]
    assert attempt["responseStatus"] == 200
    assert '"status":"processed"' in attempt["responseBody"]

    # A published event, through the dispatcher; non-ASCII and awkward numbers included.
    await service.publish(
        account_id,
        "credits.low",
        {"remaining": 0.5, "threshold": 1e21, "userId": "usér_ü"},
    )
    delivered = await service.wait_delivery(auth, webhook["id"], status="delivered", count=2)
    out = capsys.readouterr().out
    assert "Received event: fabric.completed test_123" in out
    assert "Unhandled event: credits.low" in out
    assert len(delivered) == 2

    # A receiver with another secret refuses them: 401, which the platform does not retry.
    other = await service.create_webhook(
        auth, url=receiver_url, secret="whsec_not_the_receivers", events=["fabric.completed"]
    )
    response = await service.client.post(
        "/v1/webhooks/test",
        json={"webhookId": other["id"], "event": "fabric.completed"},
        headers=auth,
    )
    result = response.json()
    assert result["delivery"]["status"] == "failed"
    assert result["delivery"]["attempts"][0]["responseStatus"] == 401


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "ed25519"])
async def test_standard_webhooks_deliveries_reach_the_handler(
    make_service: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    algorithm: str,
) -> None:
    """The SDK tells the Standard Webhooks format by its headers and verifies it with the
    receiver's whsec_ secret, or an ed25519 webhook's whpk_ public key."""
    service = await make_service()
    account_id, auth = await service.create_account()
    if algorithm == "ed25519":
        secret = signing_standard.generate_signing_key()
        receivers_key = signing_standard.public_key(secret)
    else:
        secret = receivers_key = signing_standard.generate_secret()
    async with serve_example(monkeypatch, receivers_key) as url:
        webhook = await service.create_webhook(
            auth,
            url=url,
            secret=secret,
            signatureFormat="standard",
            signatureAlgorithm=algorithm,
            events=["fabric.completed"],
        )
        await service.publish(
            account_id,
            "fabric.completed",
            {"executionId": "std_1", "fabricId": "f", "result": {"output": "ü"}, "usage": {}},
        )
        [delivered] = await service.wait_delivery(auth, webhook["id"], status="delivered")
        assert "Received event: fabric.completed std_1" in capsys.readouterr().out
        detail = await service.client.get(f"/v1/deliveries/{delivered['id']}", headers=auth)
        sent = detail.json()["attempts"][0]["requestHeaders"]
        version = "v1a," if algorithm == "ed25519" else "v1,"
        assert sent["webhook-signature"].startswith(version)

        # Signed with another key: the SDK refuses it (401).
        other = await service.create_webhook(
            auth,
            url=url,
            signatureFormat="standard",
            signatureAlgorithm=algorithm,
            events=["fabric.completed"],
        )
        response = await service.client.post(
            "/v1/webhooks/test",
            json={"webhookId": other["id"], "event": "fabric.completed"},
            headers=auth,
        )
        result = response.json()
        assert result["delivery"]["status"] == "failed"
        assert result["delivery"]["attempts"][0]["responseStatus"] == 401
