"""Flask adapter, through Flask's real test client, with a Redis idempotency store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask

from promptha_webhooks.catalog import FabricCompleted, FabricFailed
from promptha_webhooks.receiver import Event, IPAllowList, Webhooks
from promptha_webhooks.receiver.adapters.flask import webhook_blueprint, webhook_view
from promptha_webhooks.receiver.idempotency.redis import RedisIdempotencyStore

SECRET = "whsec_receiver_tests_0123456789"
Sign = Callable[..., Any]


def test_flask_blueprint_status_table(signed: Sign, redis_url: str, redis_prefix: str) -> None:
    hooks = Webhooks(
        secret=SECRET, idempotency=RedisIdempotencyStore(redis_url, prefix=redis_prefix)
    )
    seen: list[str] = []

    @hooks.on("fabric.completed")
    def completed(event: Event[FabricCompleted]) -> None:
        seen.append(event.event_id)

    @hooks.on("fabric.failed")
    async def failed(event: Event[FabricFailed]) -> None:
        raise RuntimeError("alerting is down")

    app = flask.Flask(__name__)
    app.register_blueprint(webhook_blueprint(hooks))
    client = app.test_client()
    try:
        delivery = signed(event_id="evt_flask")
        response = client.post("/webhooks/promptha", data=delivery.body, headers=delivery.headers)
        assert response.status_code == 200, response.text
        assert response.json == {
            "status": "processed",
            "event": "fabric.completed",
            "eventId": "evt_flask",
        }
        again = client.post("/webhooks/promptha", data=delivery.body, headers=delivery.headers)
        assert again.json is not None and again.json["status"] == "duplicate"

        failing = signed("fabric.failed", {"executionId": "e", "fabricId": "f", "error": {}})
        response = client.post("/webhooks/promptha", data=failing.body, headers=failing.headers)
        assert response.status_code == 500
        assert "alerting" not in response.text

        response = client.post("/webhooks/promptha", data=b"{}", headers=delivery.headers)
        assert response.status_code == 401
        assert client.get("/webhooks/promptha").status_code == 405
        assert seen == ["evt_flask"]
    finally:
        hooks.close()


def test_flask_view_with_ip_allow_list(signed: Sign) -> None:
    hooks = Webhooks(secret=SECRET)
    hooks.on("fabric.completed")(lambda event: None)
    allow = IPAllowList(["52.1.2.3"], trusted_proxies=["10.0.0.0/8"])
    app = flask.Flask(__name__)
    app.add_url_rule("/hook", view_func=webhook_view(hooks, allow=allow), methods=["POST"])
    client = app.test_client()
    delivery = signed()
    try:
        allowed = client.post(
            "/hook",
            data=delivery.body,
            headers={**delivery.headers, "X-Forwarded-For": "52.1.2.3"},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
        )
        assert allowed.status_code == 200
        refused = client.post(
            "/hook",
            data=delivery.body,
            headers={**delivery.headers, "X-Forwarded-For": "52.1.2.3"},
            environ_base={"REMOTE_ADDR": "198.51.100.7"},
        )
        assert refused.status_code == 403
    finally:
        hooks.close()
