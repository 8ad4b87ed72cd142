"""The sync client's webhook calls against the real service process, on both backends."""

from __future__ import annotations

import asyncio

import pytest
from client_support import BACKENDS, RunningApi, shared_api

from promptha_webhooks import signing, signing_standard
from promptha_webhooks.client import ConflictError, InvalidRequestError, NotFoundError
from promptha_webhooks.models import SecretRotation, Webhook, WebhookWithSecret
from promptha_webhooks.pacing import Ordering
from promptha_webhooks.signature_headers import SignatureAlgorithm, SignatureFormat

from support import Receiver


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest) -> RunningApi:
    return shared_api(request, request.param)


def test_create_get_update_delete(api: RunningApi) -> None:
    with api.client() as client:
        created = client.webhooks.create(
            "http://127.0.0.1:9/hooks",
            ["fabric.completed", "fabric.failed"],
            secret="your_webhook_secret",
            filters={"fabricId": ["product-description", "seo-optimizer"]},
            description="orders",
        )
        assert isinstance(created, WebhookWithSecret)
        assert created.id.startswith("wh_")
        assert created.secret.get_secret_value() == "your_webhook_secret"
        assert created.filters == {"fabricId": ["product-description", "seo-optimizer"]}

        fetched = client.webhooks.get(created.id)
        assert isinstance(fetched, Webhook)
        assert (fetched.url, fetched.events, fetched.description) == (
            "http://127.0.0.1:9/hooks",
            ["fabric.completed", "fabric.failed"],
            "orders",
        )
        assert fetched.secret is None  # only `create` answers with it
        assert client.webhooks.secret(created.id).secret == "your_webhook_secret"

        updated = client.webhooks.update(
            created.id, url="http://127.0.0.1:9/v2", events=["fabric.started"], enabled=False
        )
        assert (updated.url, updated.events, updated.enabled) == (
            "http://127.0.0.1:9/v2",
            ["fabric.started"],
            False,
        )
        assert updated.description == "orders"  # untouched fields stay
        assert updated.filters is not None

        cleared = client.webhooks.update(created.id, filters=None, description="")
        assert cleared.filters is None and cleared.description == ""

        client.webhooks.delete(created.id)
        with pytest.raises(NotFoundError) as raised:
            client.webhooks.get(created.id)
        assert raised.value.status_code == 404
        assert raised.value.error_type == "not_found"


def test_secret_is_generated_and_rotated(api: RunningApi) -> None:
    with api.client() as client:
        created = client.webhooks.create("http://127.0.0.1:9/hooks", ["credits.low"])
        first = created.secret.get_secret_value()
        assert first.startswith("whsec_")
        client.webhooks.update(created.id, secret=None)
        rotated = client.webhooks.secret(created.id).secret
        assert rotated.startswith("whsec_") and rotated != first


def test_pages_and_iterator(api: RunningApi) -> None:
    with api.client() as client:
        ids = [
            client.webhooks.create(f"http://127.0.0.1:9/{n}", ["ask.message"]).id for n in range(7)
        ]
        page = client.webhooks.list(limit=3)
        assert [hook.id for hook in page.data] == ids[::-1][:3]
        assert page.has_more and page.next_cursor == ids[-3]
        rest = client.webhooks.list(limit=10, cursor=page.next_cursor)
        assert [hook.id for hook in rest.data] == ids[::-1][3:]
        assert not rest.has_more and rest.next_cursor is None
        assert [hook.id for hook in client.webhooks.list_all(page_size=2)] == ids[::-1]


def test_accounts_do_not_see_each_other(api: RunningApi) -> None:
    with api.client("One") as one, api.client("Two") as two:
        hook = one.webhooks.create("http://127.0.0.1:9/hooks", ["credits.low"])
        assert list(two.webhooks.list_all()) == []
        with pytest.raises(NotFoundError):
            two.webhooks.get(hook.id)


async def test_test_event_reaches_a_real_receiver(api: RunningApi, receiver: Receiver) -> None:
    with api.client() as client:
        hook = client.webhooks.create(
            receiver.url("/promptha"), ["fabric.completed"], secret="your_webhook_secret"
        )
        # The guide's own call; the sync client runs in a thread so the receiver can answer.
        result = await asyncio.to_thread(
            client.webhooks.test,
            hook.id,
            "fabric.completed",
            {"executionId": "test_123", "result": {"output": "Test result"}},
        )
    assert result.success
    assert result.delivery.status == "delivered"
    assert result.delivery.attempts[0].response_status == 200
    assert result.delivery.attempts[0].trigger == "test"
    (request,) = receiver.on("/promptha")
    signing.verify(request.body, request.headers, "your_webhook_secret")
    assert request.headers["x-promptha-test"] == "true"
    assert request.headers["x-promptha-event-id"] == result.event.id


def test_max_concurrency_round_trip(api: RunningApi) -> None:
    with api.client() as client:
        created = client.webhooks.create(
            "http://127.0.0.1:9/cap", ["fabric.completed"], max_concurrency=3
        )
        assert created.max_concurrency == 3
        assert client.webhooks.get(created.id).max_concurrency == 3
        assert client.webhooks.update(created.id, description="d").max_concurrency == 3
        assert client.webhooks.update(created.id, max_concurrency=50).max_concurrency == 50
        assert client.webhooks.update(created.id, max_concurrency=None).max_concurrency is None
        client.webhooks.delete(created.id)


def test_rate_limit_and_ordering_round_trip(api: RunningApi) -> None:
    with api.client() as client:
        created = client.webhooks.create(
            "http://127.0.0.1:9/paced", ["fabric.completed"], rate_limit=5, ordering="fifo"
        )
        assert (created.rate_limit, created.ordering) == (5, Ordering.FIFO)
        assert client.webhooks.get(created.id).rate_limit == 5
        kept = client.webhooks.update(created.id, description="d")
        assert (kept.rate_limit, kept.ordering) == (5, Ordering.FIFO)
        changed = client.webhooks.update(created.id, rate_limit=None, ordering=Ordering.NONE)
        assert (changed.rate_limit, changed.ordering) == (None, Ordering.NONE)
        with pytest.raises(InvalidRequestError) as refused:
            client.webhooks.update(created.id, rate_limit=0)
        assert refused.value.field == "rateLimit"
        client.webhooks.delete(created.id)


def test_rotate_secret_and_complete_the_rotation(api: RunningApi) -> None:
    with api.client() as client:
        created = client.webhooks.create(
            "http://127.0.0.1:9/hooks", ["fabric.completed"], secret="whsec_client_first_0123"
        )
        rotation = client.webhooks.rotate_secret(created.id, grace_period_s=3600)
        assert isinstance(rotation, SecretRotation)
        assert rotation.webhook_id == created.id and rotation.secret.startswith("whsec_")
        assert rotation.previous_secret_expires_at is not None
        assert client.webhooks.secret(created.id).secret == rotation.secret
        assert client.webhooks.get(created.id).previous_secret_expires_at == (
            rotation.previous_secret_expires_at
        )
        given = client.webhooks.rotate_secret(created.id, secret="whsec_client_given_0123")
        assert given.secret == "whsec_client_given_0123"
        completed = client.webhooks.complete_secret_rotation(created.id)
        assert isinstance(completed, Webhook) and completed.previous_secret_expires_at is None
        immediate = client.webhooks.rotate_secret(created.id, grace_period_s=0)
        assert immediate.previous_secret_expires_at is None
        with pytest.raises(NotFoundError):
            client.webhooks.complete_secret_rotation("wh_06H4A8CTXDFPPP34W9NY7DWDTW")


def test_signature_scheme_round_trip(api: RunningApi) -> None:
    with api.client() as client:
        created = client.webhooks.create(
            "http://127.0.0.1:9/std",
            ["fabric.completed"],
            signature_format="standard",
            signature_algorithm="ed25519",
        )
        assert created.signature_format is SignatureFormat.STANDARD
        assert created.signature_algorithm is SignatureAlgorithm.ED25519
        key = created.secret_value()
        public = client.webhooks.public_key(created.id)
        assert public.public_key == signing_standard.public_key(key)
        assert public.previous_public_key is None
        changed = client.webhooks.update(created.id, signature_format="promptha", secret=None)
        assert changed.signature_format is SignatureFormat.PROMPTHA
        assert changed.signature_algorithm is SignatureAlgorithm.HMAC_SHA256
        with pytest.raises(ConflictError, match="hmac-sha256"):
            client.webhooks.public_key(created.id)
        back = client.webhooks.update(created.id, signature_format="standard")
        assert back.signature_format is SignatureFormat.STANDARD
        with pytest.raises(InvalidRequestError) as caught:
            client.webhooks.update(created.id, signature_algorithm="ed25519")
        assert caught.value.field == "secret"
        client.webhooks.delete(created.id)


async def test_delivery_settings_round_trip_and_reach_a_receiver(
    api: RunningApi, receiver: Receiver
) -> None:
    """headers, retry_schedule and timeout_seconds: created, read back, changed, reset; the
    test event carries the static header."""
    with api.client() as client:
        hook = client.webhooks.create(
            receiver.url("/settings"),
            ["fabric.completed"],
            headers={"X-Gateway-Key": "gk-1"},
            retry_schedule=[5, 30, 300],
            timeout_seconds=10,
        )
        assert hook.header_names == ["X-Gateway-Key"]
        assert hook.retry_schedule == [5, 30, 300]
        assert hook.timeout_seconds == 10
        assert client.webhooks.headers(hook.id).headers == {"X-Gateway-Key": "gk-1"}
        result = await asyncio.to_thread(client.webhooks.test, hook.id, "fabric.completed")
        assert result.success
        assert result.delivery.attempts[0].request_headers["X-Gateway-Key"] == "[redacted]"
        changed = client.webhooks.update(
            hook.id, headers={"X-Other": "o"}, retry_schedule=[], timeout_seconds=None
        )
        assert (changed.header_names, changed.retry_schedule, changed.timeout_seconds) == (
            ["X-Other"],
            [],
            None,
        )
        reset = client.webhooks.update(hook.id, headers=None, retry_schedule=None)
        assert (reset.header_names, reset.retry_schedule) == ([], None)
        with pytest.raises(InvalidRequestError) as refused:
            client.webhooks.update(hook.id, headers={"Host": "x"})
        assert refused.value.field == "headers.Host"
        client.webhooks.delete(hook.id)
    (request,) = receiver.on("/settings")
    assert request.headers["X-Gateway-Key"] == "gk-1"
