"""Sending through an HTTP CONNECT proxy, against a real proxy (proxy.py on 127.0.0.1, its
access log read back) and real receivers, on SQLite and PostgreSQL: deliveries go through the
server's proxy to the receiver's checked address (signatures verify), a webhook's own
`proxyUrl` (stored sealed, shown masked) wins and `null` clears it, a proxy that is down is
logged as "proxy error" and retried, a refused destination never reaches the proxy, and bad
`proxyUrl` values get a 400 naming the field and change nothing. The TLS tunnel is
tests/e2e/test_proxy_tls.py's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_secrets_at_rest import reencrypt

from promptha_webhooks.config import Mode
from promptha_webhooks.proxy_url import parse_proxy_url
from promptha_webhooks.receiver.verify import verify
from promptha_webhooks.secret_box import KeyRing, generate_key_entry
from promptha_webhooks.store.webhook_secrets import SecretCodec
from proxy_support import running_proxy

from support import TEST_ENCRYPTION_KEYS, TEST_KEY_ID, Receiver, Service, ServiceFactory, free_port

PAYLOAD = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}
SCHEDULED_ATTEMPTS = 6  # support.FAST_SCHEDULE
PUBLIC_ADDRESS = "93.184.215.14"


async def named_loopback(host: str, port: int) -> list[str]:
    """This test's DNS: every *.example name is 127.0.0.1, but metadata.example is
    169.254.169.254 and public.example a public address (never connected to here)."""
    if host == "metadata.example":
        return ["169.254.169.254"]
    if host == "public.example":
        return [PUBLIC_ADDRESS]
    if host.endswith(".example"):
        return ["127.0.0.1"]
    raise OSError(f"unknown host {host}")


async def send_test(service: Service, auth: dict[str, str], webhook_id: str) -> dict[str, Any]:
    response = await service.client.post(
        "/v1/webhooks/test",
        json={"webhookId": webhook_id, "event": "fabric.completed"},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_deliveries_go_through_the_servers_proxy_to_the_checked_address(
    make_service: ServiceFactory, receiver: Receiver, tmp_path: Path
) -> None:
    port = receiver.base_url.rsplit(":", 1)[1]
    with running_proxy(tmp_path) as proxy:
        factory_settings = {"proxy_url": parse_proxy_url(proxy.url)}
        service = await make_service(resolve=named_loopback, **factory_settings)
        account_id, auth = await service.create_account()
        created = await service.create_webhook(auth, url=f"http://receiver.example:{port}/hook")
        assert created["proxyUrl"] is None  # the server's proxy is not the webhook's
        await service.publish(account_id, "fabric.completed", PAYLOAD)
        [request] = await receiver.wait_for(1, path="/hook")
        await service.wait_delivery(auth, created["id"], status="delivered")
        await make_service.close()  # closes the tunnel: proxy.py logs a connection as it ends
        proxy.stop()
        # The proxy was asked for the checked address, never the name.
        assert proxy.requests() == [("CONNECT", f"127.0.0.1:{port}")], proxy.log()
        assert proxy.upstreams() == [f"127.0.0.1:{port}"]
    assert "receiver.example" not in proxy.log()
    # The receiver got the name in Host, and a signature that verifies.
    assert request.headers["Host"] == f"receiver.example:{port}"
    verify(request.body, request.headers, created["secret"])


async def test_an_address_the_proxy_cannot_reach_gives_way_to_the_next(
    make_service: ServiceFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """A name with two checked addresses, the first one closed: the proxy answers its CONNECT
    with an error, and the same attempt goes on to the second (as a direct connection would);
    with every address closed, the attempt is the proxy's last error."""
    port = int(receiver.base_url.rsplit(":", 1)[1])
    closed = free_port()

    async def two_addresses(host: str, port_: int) -> list[str]:
        return (
            ["127.0.0.2", "127.0.0.1"]
            if host == "two.example"
            else await named_loopback(host, port_)
        )

    with running_proxy(tmp_path) as proxy:
        service = await make_service(resolve=two_addresses, proxy_url=parse_proxy_url(proxy.url))
        _account, auth = await service.create_account()
        both = await service.create_webhook(auth, url=f"http://two.example:{port}/two")
        [attempt] = (await send_test(service, auth, both["id"]))["delivery"]["attempts"]
        assert attempt["responseStatus"] == 200, attempt
        [request] = receiver.on("/two")
        verify(request.body, request.headers, both["secret"])
        none = await service.create_webhook(auth, url=f"http://two.example:{closed}/none")
        [failed] = (await send_test(service, auth, none["id"]))["delivery"]["attempts"]
        await make_service.close()
        proxy.stop()
    # In the order the proxy was asked (its access lines come as tunnels close).
    assert proxy.upstreams() == [
        f"127.0.0.2:{port}",
        f"127.0.0.1:{port}",
        f"127.0.0.2:{closed}",
        f"127.0.0.1:{closed}",
    ], proxy.log()
    assert failed["error"].startswith(f"proxy error: the proxy answered CONNECT 127.0.0.1:{closed}")


async def test_a_webhooks_own_proxy_wins_is_sealed_and_null_clears_it(
    make_service: ServiceFactory, receiver: Receiver, tmp_path: Path
) -> None:
    port = receiver.base_url.rsplit(":", 1)[1]
    with (
        running_proxy(tmp_path) as server_proxy,
        running_proxy(tmp_path, basic_auth="carrier:s3cret/pass") as own_proxy,
    ):
        service = await make_service(proxy_url=parse_proxy_url(server_proxy.url))
        account_id, auth = await service.create_account()
        own = f"http://carrier:s3cret%2Fpass@127.0.0.1:{own_proxy.port}"
        created = await service.create_webhook(auth, url=receiver.url("/own"), proxyUrl=own)
        assert created["proxyUrl"] == f"http://carrier:****@127.0.0.1:{own_proxy.port}"
        row = await service.sql_row(
            "SELECT proxy_url FROM webhooks WHERE id = :id", id=created["id"]
        )
        assert row[0].startswith("v1:") and "s3cret" not in row[0] and "carrier" not in row[0]
        listed = await service.client.get("/v1/webhooks", headers=auth)
        assert "s3cret" not in listed.text

        result = await send_test(service, auth, created["id"])
        assert result["success"] is True, result
        await service.publish(account_id, "fabric.completed", PAYLOAD)
        await service.wait_delivery(auth, created["id"], status="delivered", count=2)

        cleared = await service.client.patch(
            f"/v1/webhooks/{created['id']}", json={"proxyUrl": None}, headers=auth
        )
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["proxyUrl"] is None
        result = await send_test(service, auth, created["id"])
        assert result["success"] is True, result
        await make_service.close()
        own_proxy.stop()
        server_proxy.stop()
        # One access line per connection (a kept-alive one carries several requests)
        assert set(own_proxy.requests()) == {("CONNECT", f"127.0.0.1:{port}")}, own_proxy.log()
        assert set(server_proxy.requests()) == {("CONNECT", f"127.0.0.1:{port}")}
    arrived = receiver.on("/own")
    assert len(arrived) == 3
    # The proxy's credentials stop at the proxy.
    assert not any("proxy-authorization" in {h.lower() for h in r.headers} for r in arrived)


async def test_a_proxy_that_is_down_is_a_proxy_error_and_retried(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    nothing_there = parse_proxy_url(f"http://127.0.0.1:{free_port()}")
    service = await make_service(proxy_url=nothing_there)
    account_id, auth = await service.create_account()
    created = await service.create_webhook(auth, url=receiver.url("/down"))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    [failed] = await service.wait_delivery(auth, created["id"], status="failed")
    detail = (await service.client.get(f"/v1/deliveries/{failed['id']}", headers=auth)).json()
    assert len(detail["attempts"]) == SCHEDULED_ATTEMPTS
    for attempt in detail["attempts"]:
        assert attempt["error"].startswith("proxy error: cannot connect to the proxy"), attempt
        assert attempt["responseStatus"] is None
    assert receiver.on("/down") == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://169.254.169.254/latest/meta-data", "169.254.0.0/16"),
        ("https://metadata.example/latest", "169.254.0.0/16"),
        ("https://10.1.2.3/hook", "10.0.0.0/8"),
    ],
)
async def test_a_refused_destination_never_reaches_the_proxy(
    database_url: str, tmp_path: Path, url: str, why: str
) -> None:
    with running_proxy(tmp_path) as proxy:
        development = ServiceFactory(database_url)
        try:
            dev = await development(resolve=named_loopback)
            account_id, auth = await dev.create_account()
            created = await dev.create_webhook(auth, url=url)
        finally:
            await development.close()
        production = ServiceFactory(database_url)
        try:
            prod = await production(
                mode=Mode.PRODUCTION,
                resolve=named_loopback,
                proxy_url=parse_proxy_url(proxy.url),  # the operator's: a loopback address
            )
            result = await send_test(prod, auth, created["id"])
            await prod.publish(account_id, "fabric.completed", PAYLOAD)
            failed = await prod.wait_delivery(
                auth, created["id"], status="failed", count=2, timeout=30
            )
            errors = [
                attempt["error"]
                for delivery in failed
                for attempt in (
                    await prod.client.get(f"/v1/deliveries/{delivery['id']}", headers=auth)
                ).json()["attempts"]
            ]
        finally:
            await production.close()
        proxy.stop()
        [attempt] = result["delivery"]["attempts"]
        assert attempt["error"].startswith("blocked: "), attempt
        assert why in attempt["error"]
        assert proxy.requests() == [] and proxy.upstreams() == [], proxy.log()
        assert "access_log" not in proxy.log()
        # The test delivery's attempt and every scheduled one, refused before any connection
        assert len(errors) == 1 + SCHEDULED_ATTEMPTS
        assert all(error.startswith("blocked: ") for error in errors), errors


async def test_a_customers_proxy_must_pass_the_guard(
    database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    """Production refuses a loopback proxyUrl when it is saved, and a webhook whose private
    proxy was saved in development mode sends nothing in production: not to its proxy, and
    not around it to its (allowed) receiver either."""
    with running_proxy(tmp_path) as proxy:
        development = ServiceFactory(database_url)
        try:
            dev = await development()
            _account, auth = await dev.create_account()
            created = await dev.create_webhook(
                auth, url="https://public.example/hook", proxyUrl=proxy.url
            )
        finally:
            await development.close()
        production = ServiceFactory(database_url)
        try:
            prod = await production(mode=Mode.PRODUCTION, resolve=named_loopback)
            refused = await prod.client.patch(
                f"/v1/webhooks/{created['id']}", json={"proxyUrl": proxy.url}, headers=auth
            )
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"]["field"] == "proxyUrl"
            assert "127.0.0.0/8" in refused.json()["error"]["message"]
            result = await send_test(prod, auth, created["id"])
        finally:
            await production.close()
        proxy.stop()
        [attempt] = result["delivery"]["attempts"]
        assert attempt["error"].startswith(f"proxy error: {proxy.url}: blocked: "), attempt
        assert "127.0.0.0/8" in attempt["error"]
        assert proxy.requests() == [] and proxy.upstreams() == [], proxy.log()


BAD_PROXIES: list[Any] = [
    "https://proxy.example:3128",
    "socks5://proxy.example:1080",
    "http://proxy.example",
    "http://proxy.example:0",
    "http://proxy.example:65536",
    "http://proxy.example:3128/path",
    "http://proxy.example:3128/?q=1",
    "http://proxy.example:3128#f",
    "http://:pw@proxy.example:3128",
    "http://ops:****@proxy.example:3128",
    "http://user:pw%ff@proxy.example:3128",
    "http://prox y.example:3128",
    "http://\ud800.example:3128",
    "http://proxy.example:3128" + "/" * 3000,
    "proxy.example:3128",
    12,
    ["http://proxy.example:3128"],
    {"url": "http://proxy.example:3128"},
]


@pytest.mark.parametrize("bad", BAD_PROXIES)
async def test_bad_proxy_urls_are_400_and_change_nothing(service: Service, bad: Any) -> None:
    _account, auth = await service.create_account()
    body = {"url": "http://127.0.0.1:9/hook", "events": ["fabric.completed"], "proxyUrl": bad}
    created = await service.client.post(
        "/v1/webhooks",
        content=json.dumps(body),
        headers=auth | {"content-type": "application/json"},
    )
    assert created.status_code == 400, created.text
    error = created.json()["error"]
    assert error["type"] == "invalid_request"
    assert error["field"] in ("proxyUrl", "body.proxyUrl")
    listed = await service.client.get("/v1/webhooks", headers=auth)
    assert listed.json()["data"] == []

    webhook = await service.create_webhook(auth, url="http://127.0.0.1:9/hook")
    patched = await service.client.patch(
        f"/v1/webhooks/{webhook['id']}",
        content=json.dumps({"proxyUrl": bad}),
        headers=auth | {"content-type": "application/json"},
    )
    assert patched.status_code == 400, patched.text
    after = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
    assert after["proxyUrl"] is None
    assert after["updatedAt"] == webhook["updatedAt"]


async def test_another_accounts_webhook_is_not_found(service: Service) -> None:
    _a, auth_a = await service.create_account("A")
    _b, auth_b = await service.create_account("B")
    webhook = await service.create_webhook(auth_a, url="http://127.0.0.1:9/hook")
    for webhook_id in (webhook["id"], "wh_does_not_exist"):
        response = await service.client.patch(
            f"/v1/webhooks/{webhook_id}",
            json={"proxyUrl": "http://127.0.0.1:3128"},
            headers=auth_b,
        )
        assert response.status_code == 404, response.text
    after = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth_a)).json()
    assert after["proxyUrl"] is None


async def test_what_the_proxy_refuses_is_a_proxy_error(
    service: Service, receiver: Receiver, tmp_path: Path
) -> None:
    """Wrong credentials (407) and a receiver the proxy cannot reach: "proxy error: …" with
    the reason, the password never in the log."""
    _account, auth = await service.create_account()
    with running_proxy(tmp_path, basic_auth="ops:right") as proxy:
        wrong = await service.create_webhook(
            auth, url=receiver.url("/wrong"), proxyUrl=f"http://ops:wrong@127.0.0.1:{proxy.port}"
        )
        unreachable = await service.create_webhook(
            auth,
            url=f"http://127.0.0.1:{free_port()}/gone",
            proxyUrl=f"http://ops:right@127.0.0.1:{proxy.port}",
        )
        [denied] = (await send_test(service, auth, wrong["id"]))["delivery"]["attempts"]
        [closed] = (await send_test(service, auth, unreachable["id"]))["delivery"]["attempts"]
    assert denied["error"].startswith("proxy error: the proxy answered CONNECT 127.0.0.1:")
    assert " with 407" in denied["error"]
    assert closed["error"].startswith("proxy error: "), closed
    assert "wrong" not in denied["error"] and "right" not in closed["error"]
    assert receiver.on("/wrong") == []


async def test_reencrypt_moves_a_proxy_url_left_under_an_older_key(
    make_service: ServiceFactory, database_url: str
) -> None:
    """`secrets reencrypt` (store/secret_sealing.py) moves a webhook's sealed proxy URL to the
    ring's first key, as it moves its secrets and headers; the old key can then go."""
    new_entry = generate_key_entry("k5")
    service = await make_service(
        encryption_keys=KeyRing.parse(f"{TEST_ENCRYPTION_KEYS},{new_entry}")
    )
    _account, auth = await service.create_account()
    hook = await service.create_webhook(
        auth, url="http://127.0.0.1:9/x", proxyUrl="http://ops:pw@127.0.0.1:3128"
    )
    row = await service.sql_row("SELECT proxy_url FROM webhooks WHERE id = :id", id=hook["id"])
    assert row[0].split(":")[1] == TEST_KEY_ID
    done = await reencrypt(database_url, f"{new_entry},{TEST_ENCRYPTION_KEYS}")
    assert done.returncode == 0, done.stderr
    row = await service.sql_row("SELECT proxy_url FROM webhooks WHERE id = :id", id=hook["id"])
    assert row[0].split(":")[1] == "k5"
    only_new = SecretCodec(KeyRing.parse(new_entry))
    opened = only_new.delivery_settings(hook["id"], (None, None, None, row[0], "http", None))
    assert opened.unreadable is None
    assert opened.proxy == parse_proxy_url("http://ops:pw@127.0.0.1:3128")
