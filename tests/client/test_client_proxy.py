"""The client's `proxy_url` on webhooks create and update against the real service process
(both backends) and a real proxy (proxy.py): the test event goes through it, the answer
masks the password, `proxy_url=None` clears it, and a bad URL is the API's 400."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from client_support import BACKENDS, RunningApi, shared_api

from promptha_webhooks.client import InvalidRequestError
from proxy_support import running_proxy

from support import Receiver


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest) -> RunningApi:
    return shared_api(request, request.param)


async def test_proxy_url_create_update_clear(
    api: RunningApi, receiver: Receiver, tmp_path: Path
) -> None:
    with running_proxy(tmp_path, basic_auth="cl:ient") as proxy, api.client() as client:
        created = client.webhooks.create(
            receiver.url("/client"),
            ["fabric.completed"],
            proxy_url=f"http://cl:ient@127.0.0.1:{proxy.port}",
        )
        assert created.proxy_url == f"http://cl:****@127.0.0.1:{proxy.port}"
        # (in a thread: the receiver answers on this test's event loop)
        result = await asyncio.to_thread(client.webhooks.test, created.id, "fabric.completed")
        assert result.success, result.delivery.attempts
        assert proxy.upstreams() == [f"127.0.0.1:{receiver.base_url.rsplit(':', 1)[1]}"]

        with pytest.raises(InvalidRequestError) as refused:
            client.webhooks.update(created.id, proxy_url="https://127.0.0.1:1")
        assert refused.value.field == "proxyUrl"
        assert client.webhooks.get(created.id).proxy_url == created.proxy_url

        cleared = client.webhooks.update(created.id, proxy_url=None)
        assert cleared.proxy_url is None
