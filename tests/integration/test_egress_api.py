"""Fixed egress through the running service: GET /v1/ips (public, cacheable, ETag and 304, a
version that changes exactly when the list does, the source addresses published when no
EGRESS_CIDRS is set), and deliveries that leave from the configured source addresses, in turn
(loopback: Linux answers for every 127.0.0.0/8 address, so a receiver sees which one sent)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from promptha_webhooks.egress import parse_egress_cidrs, parse_source_addresses

from support import Service, ServiceFactory, loopback_receiver

PAYLOAD = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}
PUBLISHED = "203.0.113.7, 2001:db8:7::/48, 198.51.100.0/24"
UPDATED_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def egress_service(make_service: ServiceFactory, cidrs: str, **overrides: Any) -> Service:
    return await make_service(
        egress_cidrs=parse_egress_cidrs(cidrs), egress_updated_at=UPDATED_AT, **overrides
    )


async def test_ips_is_public_and_cacheable_with_an_etag(make_service: ServiceFactory) -> None:
    service = await egress_service(make_service, PUBLISHED)
    response = await service.client.get("/v1/ips")  # no key
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["addresses"] == ["198.51.100.0/24", "203.0.113.7/32", "2001:db8:7::/48"]
    assert body["updatedAt"] == "2026-12-01T09:00:00Z"
    assert response.headers["cache-control"] == "public, max-age=300"
    etag = response.headers["etag"]
    assert etag == f'"{body["version"]}"'

    for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await service.client.get("/v1/ips", headers={"If-None-Match": if_none_match})
        assert again.status_code == 304, if_none_match
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "public, max-age=300"
    for stale in ('"0123456789abcdef"', "garbage", '"' + "x" * 10_000 + '"'):
        full = await service.client.get("/v1/ips", headers={"If-None-Match": stale})
        assert full.status_code == 200
        assert full.json() == body
    # A key, even a wrong one, changes nothing: the list is public.
    keyed = await service.client.get("/v1/ips", headers={"Authorization": "Bearer pwk_nope"})
    assert keyed.status_code == 200 and keyed.json() == body


async def test_head_answers_the_headers_of_get_without_a_body(
    make_service: ServiceFactory,
) -> None:
    service = await egress_service(make_service, PUBLISHED)
    full = await service.client.get("/v1/ips")
    head = await service.client.head("/v1/ips")
    assert head.status_code == 200
    assert head.content == b""
    for name in ("etag", "cache-control", "content-type", "content-length"):
        assert head.headers[name] == full.headers[name], name
    revalidated = await service.client.head(
        "/v1/ips", headers={"If-None-Match": full.headers["etag"]}
    )
    assert revalidated.status_code == 304 and revalidated.content == b""


async def test_the_version_changes_exactly_when_the_list_does(
    make_service: ServiceFactory,
) -> None:
    first = await egress_service(make_service, PUBLISHED)
    # The same list written otherwise (order, repeats, an address for its /32): same version.
    same = await egress_service(
        make_service, "198.51.100.0/24,2001:db8:7::/48, 203.0.113.7/32,203.0.113.7"
    )
    changed = await egress_service(make_service, PUBLISHED + ", 192.0.2.10")
    bodies = [(await s.client.get("/v1/ips")).json() for s in (first, same, changed)]
    assert bodies[0] == bodies[1]
    assert bodies[2]["version"] != bodies[0]["version"]
    assert "192.0.2.10/32" in bodies[2]["addresses"]
    # The old ETag no longer matches: a cache revalidating gets the new list.
    old_etag = f'"{bodies[0]["version"]}"'
    revalidated = await changed.client.get("/v1/ips", headers={"If-None-Match": old_etag})
    assert revalidated.status_code == 200
    assert revalidated.json() == bodies[2]


async def test_source_addresses_are_published_when_no_egress_cidrs_are_set(
    make_service: ServiceFactory,
) -> None:
    service = await make_service(source_addresses=parse_source_addresses("127.0.0.3,127.0.0.2"))
    body = (await service.client.get("/v1/ips")).json()
    assert body["addresses"] == ["127.0.0.2/32", "127.0.0.3/32"]
    datetime.fromisoformat(body["updatedAt"])  # RFC 3339 (the app's start: no setting)
    # EGRESS_CIDRS, when set, is what is published (e.g. the NAT gateway in front of them).
    behind_nat = await egress_service(
        make_service, "203.0.113.7", source_addresses=parse_source_addresses("127.0.0.2")
    )
    assert (await behind_nat.client.get("/v1/ips")).json()["addresses"] == ["203.0.113.7/32"]


async def test_no_list_configured_publishes_an_empty_list(service: Service) -> None:
    response = await service.client.get("/v1/ips")
    assert response.status_code == 200
    assert response.json()["addresses"] == []


async def test_deliveries_leave_from_the_source_addresses_in_turn(
    make_service: ServiceFactory,
) -> None:
    peers: list[str] = []

    async def record_peer(request: web.Request) -> web.Response:
        peers.append(str(request.remote))
        return web.Response(text="ok")

    sources = parse_source_addresses("127.0.0.2,127.0.0.3")
    async with loopback_receiver(record_peer) as url:
        service = await make_service(source_addresses=sources)
        account, auth = await service.create_account()
        webhook = await service.create_webhook(auth, url=url)
        for n in range(4):
            await service.publish(account, "fabric.completed", PAYLOAD | {"executionId": f"{n}"})
        await service.wait_delivery(auth, webhook["id"], status="delivered", count=4)
    assert len(peers) == 4
    assert set(peers) == {"127.0.0.2", "127.0.0.3"}, peers
    assert peers.count("127.0.0.2") == peers.count("127.0.0.3") == 2


async def test_a_destination_no_source_address_can_reach_is_not_called(
    make_service: ServiceFactory,
) -> None:
    """An IPv6 destination with only IPv4 source addresses: no connection, a clear error."""
    peers: list[str] = []

    async def record_peer(request: web.Request) -> web.Response:
        peers.append(str(request.remote))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", record_peer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "::1", 0)
        await site.start()
    except OSError as exc:  # no IPv6 loopback here
        await runner.cleanup()
        pytest.skip(f"no IPv6 loopback: {exc}")
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        service = await make_service(source_addresses=parse_source_addresses("127.0.0.2"))
        account, auth = await service.create_account()
        webhook = await service.create_webhook(auth, url=f"http://[::1]:{port}/hook")
        await service.publish(account, "fabric.completed", PAYLOAD)
        [failed] = await service.wait_delivery(auth, webhook["id"], status="failed")
        detail = await service.client.get(f"/v1/deliveries/{failed['id']}", headers=auth)
        errors = {attempt["error"] for attempt in detail.json()["attempts"]}
        assert errors and all("no source address" in (e or "") for e in errors), errors
    finally:
        await runner.cleanup()
    assert peers == []
