"""`Client` and `AsyncClient` are one API: the same resources and methods with the same
parameters, blocking on one and awaited on the other, as Python and as mypy --strict see them,
and as docs/cli.md lists them."""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mypy import api as mypy_api

from promptha_webhooks.client import AsyncClient, Client

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = (
    "webhooks",
    "deliveries",
    "event_types",
    "events",
    "accounts",
    "keys",
    "alert_contacts",
    "ips",
)
# The methods that iterate over every page rather than answer once.
ITERATORS = {"list_all"}


def methods(client: Client | AsyncClient) -> dict[str, Any]:
    """`resource.method` → the bound method, for every public method of every resource."""
    return {
        f"{resource}.{name}": getattr(getattr(client, resource), name)
        for resource in RESOURCES
        for name in dir(getattr(client, resource))
        if not name.startswith("_")
    }


@pytest.fixture
def both() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    blocking, awaited = Client("pwk_x"), AsyncClient("pwk_x")
    yield methods(blocking), methods(awaited)
    blocking.close()


def test_both_clients_have_the_same_methods_with_the_same_parameters(
    both: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    blocking, awaited = both
    assert blocking.keys() == awaited.keys()
    assert len(blocking) == 45
    for name, method in blocking.items():
        sync_signature = inspect.signature(method)
        async_signature = inspect.signature(awaited[name])
        assert sync_signature.parameters == async_signature.parameters, name
        assert method.__doc__ and method.__doc__ == awaited[name].__doc__, name
        assert not inspect.iscoroutinefunction(method), name
        if name.split(".")[1] in ITERATORS:
            (item,) = sync_signature.return_annotation.__args__
            assert sync_signature.return_annotation == Iterator[item], name
            assert async_signature.return_annotation == AsyncIterator[item], name
            assert not inspect.iscoroutinefunction(awaited[name]), name
        else:
            assert sync_signature.return_annotation == async_signature.return_annotation, name
            assert inspect.iscoroutinefunction(awaited[name]), name


def test_docs_list_every_method_of_the_client(
    both: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    paragraph = text[text.index("Resources: `webhooks`") :].split("\n\n")[0]
    resource = "|".join(RESOURCES)
    documented = {
        f"{resource}.{name.strip()}"
        for resource, names in re.findall(rf"`({resource})` \(([\w,\s]+)\)", paragraph)
        for name in names.split(",")
    } | set(re.findall(rf"`((?:{resource})\.\w+)`", paragraph))
    assert documented == both[0].keys()


# What a program using the clients type-checks against: results, awaited results, iterators
# and the parameters. An unneeded `type: ignore` fails under --strict (warn_unused_ignores), so
# the refused calls below must stay refused.
USAGE = """
from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, assert_type

import httpx

from promptha_webhooks.client import AsyncClient, BatchEvent, Client
from promptha_webhooks.models import (
    Account, ApiKey, BulkResendResult, Delivery, DeliveryDetail, Event, EventDelivery,
    EventTypeInfo, FilterTest, Page,
    PublishedBatch,
    TestResult, Webhook, WebhookHeaders, WebhookPublicKey, WebhookWithSecret,
)


def blocking(client: Client) -> None:
    assert_type(client.webhooks.create("https://a.example", ["credits.low"]), WebhookWithSecret)
    assert_type(client.webhooks.get("wh_1"), Webhook)
    assert_type(client.webhooks.update("wh_1", enabled=False, secret=None), Webhook)
    assert_type(client.webhooks.delete("wh_1"), None)
    assert_type(client.webhooks.public_key("wh_1"), WebhookPublicKey)
    assert_type(client.webhooks.headers("wh_1"), WebhookHeaders)
    assert_type(
        client.webhooks.update("wh_1", headers=None, retry_schedule=[5, 30], timeout_seconds=5),
        Webhook,
    )
    client.webhooks.create("x", [], timeout_seconds="5")  # type: ignore[arg-type]
    assert_type(
        client.webhooks.update("wh_1", signature_format="standard", secret=None), Webhook
    )
    client.webhooks.create("x", [], signature_format="svix")  # type: ignore[arg-type]
    assert_type(client.webhooks.test("wh_1", "credits.low"), TestResult)
    assert_type(client.webhooks.test_filter("credits.low", {"userId": ["u"]}), FilterTest)
    assert_type(client.webhooks.list(limit=5), Page[Webhook])
    assert_type(client.webhooks.list_all(), Iterator[Webhook])
    assert_type(client.deliveries.list_all("wh_1", status="failed"), Iterator[Delivery])
    assert_type(client.deliveries.retry("dlv_1"), DeliveryDetail)
    assert_type(client.deliveries.resend(["dlv_1"]), BulkResendResult)
    assert_type(client.events.list(type="fabric.*"), Page[Event])
    assert_type(client.events.list_all(type="fabric.*"), Iterator[Event])
    assert_type(client.events.deliveries("evt_1"), Page[EventDelivery])
    assert_type(client.event_types.list(), list[EventTypeInfo])
    assert_type(client.events.publish("credits.low", {}, idempotency_key="k"), Event)
    assert_type(client.events.publish_batch([BatchEvent("credits.low", {})]), PublishedBatch)
    assert_type(client.accounts.list_all(page_size=10), Iterator[Account])
    client.webhooks.get(1)  # type: ignore[arg-type]
    client.webhooks.list(5)  # type: ignore[call-arg]
    client.webhooks.update("wh_1", enabled="no")  # type: ignore[arg-type]
    client.deliveries.list_all("wh_1", status="lost")  # type: ignore[arg-type]
    client.events.publish("credits.low")  # type: ignore[call-arg]


async def awaited(client: AsyncClient) -> None:
    pending: Coroutine[Any, Any, Webhook] = client.webhooks.get("wh_1")
    pending.close()
    unawaited: Webhook = client.webhooks.get("wh_1")  # type: ignore[assignment]
    assert_type(await client.webhooks.get("wh_1"), Webhook)
    assert_type(await client.webhooks.delete("wh_1"), None)
    assert_type(await client.events.publish("credits.low", {}), Event)
    assert_type(client.webhooks.list_all(), AsyncIterator[Webhook])
    assert_type(client.deliveries.list_all("wh_1", event="x"), AsyncIterator[Delivery])
    assert_type(await client.keys.list("acct_1"), list[ApiKey])
    await client.webhooks.get(1)  # type: ignore[arg-type]
    await client.webhooks.list(5)  # type: ignore[call-arg]


def constructors() -> None:
    with Client("pwk_x", "http://127.0.0.1:8000", timeout=5.0) as blocking:
        assert_type(blocking.base_url, str)
    Client("pwk_x", transport=httpx.AsyncHTTPTransport())  # type: ignore[arg-type]
    AsyncClient("pwk_x", transport=httpx.HTTPTransport())  # type: ignore[arg-type]
    Client("pwk_x", 5.0)  # type: ignore[arg-type]
"""


def test_type_checkers_see_blocking_and_awaited_signatures(tmp_path: Path) -> None:
    usage = tmp_path / "usage.py"
    usage.write_text(USAGE)
    report, errors, status = mypy_api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-incremental",
            str(usage),
        ]
    )
    assert status == 0, report + errors
