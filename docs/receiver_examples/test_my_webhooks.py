"""Testing locally: sign a delivery yourself and post it to your app with its test client."""

from __future__ import annotations

import os

from basic_fastapi import app
from fastapi.testclient import TestClient

from promptha_webhooks.receiver import signed_request


def test_fabric_completed_is_processed() -> None:
    request = signed_request(
        os.environ["WEBHOOK_SECRET"],
        "fabric.completed",
        {
            "executionId": "test_123",
            "fabricId": "product-description",
            "result": {"output": "Test result"},
            "usage": {"totalTokens": 10},
        },
    )
    with TestClient(app) as client:
        response = client.post("/webhooks/promptha", content=request.body, headers=request.headers)
    assert response.status_code == 200
    assert response.json()["status"] == "processed"


def test_a_wrong_secret_is_refused() -> None:
    request = signed_request("whsec_not_ours", "fabric.completed", {"executionId": "test_123"})
    with TestClient(app) as client:
        response = client.post("/webhooks/promptha", content=request.body, headers=request.headers)
    assert response.status_code == 401
