"""Django adapter views, through Django's real test clients, with a PostgreSQL store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import AsyncClient, Client
from django.urls import path

from promptha_webhooks.catalog import FabricCompleted
from promptha_webhooks.receiver import Event, IPAllowList, Webhooks
from promptha_webhooks.receiver.adapters.django import async_webhook_view, webhook_view
from promptha_webhooks.receiver.idempotency.postgres import PostgresIdempotencyStore

SECRET = "whsec_receiver_tests_0123456789"
Sign = Callable[..., Any]


def completed_hooks(seen: list[str], store: PostgresIdempotencyStore | None = None) -> Webhooks:
    hooks = Webhooks(secret=SECRET, idempotency=store)

    @hooks.on("fabric.completed")
    def completed(event: Event[FabricCompleted]) -> None:
        seen.append(event.event_id)

    return hooks


pytestmark = pytest.mark.usefixtures("django_settings")


def test_sync_view_status_table(
    signed: Sign, urls: Callable[..., None], fresh_postgres_url: str
) -> None:
    seen: list[str] = []
    hooks = completed_hooks(seen, PostgresIdempotencyStore(fresh_postgres_url))
    urls(path("webhooks/promptha", webhook_view(hooks)))
    client = Client()
    delivery = signed(event_id="evt_django")
    try:
        for expected in ("processed", "duplicate"):
            response = client.post(
                "/webhooks/promptha",
                data=delivery.body,
                content_type="application/json",
                headers=delivery.headers,
            )
            assert response.status_code == 200, response.content
            assert response.json()["status"] == expected
        bad = client.post("/webhooks/promptha", data=b"[]", content_type="application/json")
        assert bad.status_code == 401
        assert client.get("/webhooks/promptha").status_code == 405
        assert seen == ["evt_django"]
    finally:
        hooks.close()


def test_sync_view_with_ip_allow_list(signed: Sign, urls: Callable[..., None]) -> None:
    hooks = completed_hooks([])
    allow = IPAllowList(["52.1.2.3"], trusted_proxies=["10.0.0.0/8"])
    urls(path("hook", webhook_view(hooks, allow=allow)))
    delivery = signed()
    forwarded = {**delivery.headers, "X-Forwarded-For": "52.1.2.3"}
    try:
        for remote, status in (("52.1.2.3", 200), ("10.0.0.4", 200), ("198.51.100.7", 403)):
            response = Client(REMOTE_ADDR=remote).post(
                "/hook", data=delivery.body, content_type="application/json", headers=forwarded
            )
            assert response.status_code == status, remote
    finally:
        hooks.close()


async def test_async_view_runs_on_the_servers_loop(
    signed: Sign, urls: Callable[..., None], fresh_postgres_url: str
) -> None:
    seen: list[str] = []
    hooks = completed_hooks(seen, PostgresIdempotencyStore(fresh_postgres_url))
    urls(path("hook", async_webhook_view(hooks)))
    delivery = signed(event_id="evt_django_async")
    client = AsyncClient()
    try:
        for expected in ("processed", "duplicate"):
            response = await client.post(
                "/hook",
                data=delivery.body,
                content_type="application/json",
                headers=delivery.headers,
            )
            assert response.status_code == 200, response.content
            assert response.json()["status"] == expected
        assert (await client.get("/hook")).status_code == 405
        assert seen == ["evt_django_async"]
    finally:
        await hooks.aclose()
