"""`client.ips.get()`: the service's published egress list (GET /v1/ips), on both clients."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from promptha_webhooks.client import AsyncClient, Client

from support import EGRESS_PUBLISHED, egress_service


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with egress_service(tmp_path_factory.mktemp("client-ips")) as url:
        yield url


def test_blocking_client_reads_the_list(service_url: str) -> None:
    served = httpx.get(f"{service_url}/v1/ips").json()
    with Client("pwk_not_needed", service_url) as client:
        found = client.ips.get()
    assert found.addresses == EGRESS_PUBLISHED
    assert found.version == served["version"]
    assert found.updated_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def test_async_client_reads_the_list(service_url: str) -> None:
    async with AsyncClient("pwk_not_needed", service_url) as client:
        found = await client.ips.get()
    assert found.addresses == EGRESS_PUBLISHED
