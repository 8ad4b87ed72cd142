"""FastAPI and Starlette adapters, through Starlette's real TestClient."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.testclient import TestClient

from promptha_webhooks.catalog import FabricCompleted
from promptha_webhooks.receiver import Event, IPAllowList, Webhooks
from promptha_webhooks.receiver.adapters.fastapi import webhook_route, webhook_router
from promptha_webhooks.receiver.idempotency.sqlite import SQLiteIdempotencyStore

SECRET = "whsec_receiver_tests_0123456789"
Sign = Callable[..., Any]


def build_hooks(seen: list[str], store: SQLiteIdempotencyStore | None = None) -> Webhooks:
    hooks = Webhooks(secret=SECRET, idempotency=store)

    @hooks.on("fabric.completed")
    async def completed(event: Event[FabricCompleted]) -> None:
        seen.append(event.data.executionId)

    return hooks


def test_fastapi_router_status_table(signed: Sign, tmp_path: Path) -> None:
    seen: list[str] = []
    hooks = build_hooks(seen, SQLiteIdempotencyStore(tmp_path / "e.db"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await hooks.aclose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(webhook_router(hooks))
    delivery = signed(event_id="evt_fastapi")
    with TestClient(app) as client:
        ok = client.post("/webhooks/promptha", content=delivery.body, headers=delivery.headers)
        assert ok.status_code == 200, ok.text
        assert ok.json() == {
            "status": "processed",
            "event": "fabric.completed",
            "eventId": "evt_fastapi",
        }
        again = client.post("/webhooks/promptha", content=delivery.body, headers=delivery.headers)
        assert again.json()["status"] == "duplicate"
        bad_sig = dict(delivery.headers, **{"x-promptha-signature": "a" * 64})
        response = client.post("/webhooks/promptha", content=delivery.body, headers=bad_sig)
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "invalid_signature"
        assert client.get("/webhooks/promptha").status_code == 405
        assert "/webhooks/promptha" not in client.get("/openapi.json").text
    assert seen == ["exec_9f3a2c71"]


def test_starlette_route_with_ip_allow_list(signed: Sign) -> None:
    seen: list[str] = []
    hooks = build_hooks(seen)  # no store: each TestClient below runs its own event loop
    allow = IPAllowList(["52.1.2.3"], trusted_proxies=["10.0.0.0/8"])
    app = Starlette(routes=[webhook_route(hooks, "/hooks", allow=allow)])
    delivery = signed()
    with TestClient(app, client=("52.1.2.3", 40000)) as direct:
        assert (
            direct.post("/hooks", content=delivery.body, headers=delivery.headers).status_code
            == 200
        )
    behind_proxy = dict(delivery.headers, **{"X-Forwarded-For": "52.1.2.3"})
    with TestClient(app, client=("10.0.0.9", 40000)) as proxied:
        assert (
            proxied.post("/hooks", content=delivery.body, headers=behind_proxy).status_code == 200
        )
    with TestClient(app, client=("198.51.100.7", 40000)) as stranger:
        response = stranger.post("/hooks", content=delivery.body, headers=behind_proxy)
        assert response.status_code == 403
        assert response.json()["error"]["type"] == "forbidden"
        # The allow-list answers before the body is looked at.
        assert stranger.post("/hooks", content=b"junk").status_code == 403
    assert seen == ["exec_9f3a2c71", "exec_9f3a2c71"]
