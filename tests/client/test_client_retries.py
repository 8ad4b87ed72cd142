"""The client's pure parts: retry decisions and delays, Retry-After, error mapping, base URLs."""

from __future__ import annotations

import json

import pytest

from promptha_webhooks.client import (
    ApiError,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RetryPolicy,
    ServiceUnavailableError,
)
from promptha_webhooks.client.errors import error_from_answer
from promptha_webhooks.client.http import normalise_base_url
from promptha_webhooks.client.retries import parse_retry_after

POLICY = RetryPolicy(max_retries=3, initial_delay_s=1.0, max_delay_s=3.0)


def test_safe_calls_retry_on_5xx_with_growing_capped_delays() -> None:
    delays = [POLICY.delay_after_answer(n, 503, None, retry_safe=True) for n in (1, 2, 3)]
    assert all(d is not None for d in delays)
    assert 0.5 <= delays[0] <= 1.0  # type: ignore[operator]
    assert 1.0 <= delays[1] <= 2.0  # type: ignore[operator]
    assert 1.5 <= delays[2] <= 3.0  # capped at max_delay_s, with jitter
    assert POLICY.delay_after_answer(4, 503, None, retry_safe=True) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_client_errors_are_never_retried(status: int) -> None:
    assert POLICY.delay_after_answer(1, status, None, retry_safe=True) is None


def test_unsafe_calls_retry_only_when_never_connected() -> None:
    assert POLICY.delay_after_answer(1, 503, None, retry_safe=False) is None
    assert POLICY.delay_after_failure(1, connected=True, retry_safe=False) is None
    assert POLICY.delay_after_failure(1, connected=False, retry_safe=False) is not None
    assert POLICY.delay_after_failure(1, connected=True, retry_safe=True) is not None


def test_retry_after_raises_the_delay_up_to_the_cap() -> None:
    assert POLICY.delay_after_answer(1, 503, "2", retry_safe=True) == 2.0
    assert POLICY.delay_after_answer(1, 503, "60", retry_safe=True) == 3.0


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    when = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert parse_retry_after(when, now=1445412470.0) == 10.0
    assert parse_retry_after(when, now=1445412490.0) == 0.0


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError):
        RetryPolicy(initial_delay_s=5, max_delay_s=1)


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (400, "invalid_request", InvalidRequestError),
        (401, "authentication_failed", AuthenticationError),
        (403, "permission_denied", PermissionDeniedError),
        (404, "not_found", NotFoundError),
        (409, "conflict", ConflictError),
        (413, "payload_too_large", PayloadTooLargeError),
        (503, "service_unavailable", ServiceUnavailableError),
        (500, "internal_error", InternalServerError),
    ],
)
def test_errors_map_by_type(status: int, error_type: str, cls: type[ApiError]) -> None:
    body = {"error": {"type": error_type, "message": "why", "field": "events[0]"}}
    error = error_from_answer(status, json.dumps(body).encode())
    assert type(error) is cls
    assert (error.status_code, error.error_type, error.message, error.field) == (
        status,
        error_type,
        "why",
        "events[0]",
    )


def test_unknown_error_types_fall_back_on_the_status() -> None:
    body = json.dumps({"error": {"type": "method_not_allowed", "message": "no"}}).encode()
    error = error_from_answer(405, body)
    assert type(error) is ApiError and error.error_type == "method_not_allowed"
    assert type(error_from_answer(504, b"")) is InternalServerError
    assert "HTTP 504" in error_from_answer(504, b"").message
    long_page = error_from_answer(502, b"<html>" + b"x" * 1000)
    assert len(long_page.message) < 300


@pytest.mark.parametrize(
    "given",
    [
        "http://127.0.0.1:8000",
        "http://127.0.0.1:8000/",
        "http://127.0.0.1:8000/v1",
        " http://127.0.0.1:8000/v1/ ",
    ],
)
def test_base_url_accepts_what_serve_prints(given: str) -> None:
    assert normalise_base_url(given) == "http://127.0.0.1:8000"


def test_base_url_needs_a_scheme() -> None:
    with pytest.raises(ValueError, match="http"):
        normalise_base_url("127.0.0.1:8000")
