"""The clients' routing calls against the real service process, on both backends: patterns
and operator filters on create and update, and `webhooks.test_filter`."""

from __future__ import annotations

import pytest
from client_support import BACKENDS, RunningApi, shared_api

from promptha_webhooks.client import AsyncClient, InvalidRequestError
from promptha_webhooks.models import FilterTest

BIG = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {"totalTokens": 2500}}
EXPENSIVE = {"data.usage.totalTokens": {"$gt": 1000}, "fabricId": ("f", "g")}


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest) -> RunningApi:
    return shared_api(request, request.param)


def test_patterns_and_operator_filters(api: RunningApi) -> None:
    with api.client() as client:
        hook = client.webhooks.create(
            "http://127.0.0.1:9/routed", ["fabric.completed"], filters=EXPENSIVE
        )
        assert hook.filters == {"data.usage.totalTokens": {"$gt": 1000}, "fabricId": ["f", "g"]}
        widened = client.webhooks.update(hook.id, events=["*"], filters=None)
        assert widened.events == ["*"] and widened.filters is None
        with pytest.raises(InvalidRequestError) as caught:
            client.webhooks.update(hook.id, events=["fabric.*"], filters=EXPENSIVE)
        assert caught.value.field == "filters.data.usage.totalTokens.$gt"
        client.webhooks.delete(hook.id)


def test_test_filter(api: RunningApi) -> None:
    with api.client() as client:
        yes = client.webhooks.test_filter("fabric.completed", EXPENSIVE, data=BIG)
        assert yes == FilterTest(matches=True)
        no = client.webhooks.test_filter(
            "fabric.completed", EXPENSIVE, data=BIG | {"usage": {"totalTokens": 3}}
        )
        assert not no.matches and no.failed_clause == "filters.data.usage.totalTokens.$gt"
        other = client.webhooks.test_filter("credits.low", None, events=["fabric.*"])
        assert other.failed_clause == "events"
        with pytest.raises(InvalidRequestError) as caught:
            client.webhooks.test_filter("fabric.completed", {"usage.x": {"$gt": 1}})
        assert caught.value.field == "filters.usage.x.$gt"


async def test_test_filter_async(api: RunningApi) -> None:
    _, key = api.new_account()
    async with AsyncClient(key, api.url) as client:
        answer = await client.webhooks.test_filter("fabric.completed", {"fabricId": ["f"]})
        assert answer.failed_clause == "filters.fabricId"  # the sample's fabricId differs
