"""Alert contacts (GET/PUT /v1/alert-contacts) and where alerts go: each account's e-mail
addresses receive only that account's alerts (a real SMTP server on loopback), the operators'
address a copy of every alert, and the account's alert webhook every operational event about
its other webhooks. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from email.message import Message
from typing import Any

from broker_peers import broker_peer, lower
from promptha_webhooks.receiver.verify import verify

from conftest import MailSink
from support import ManualClock, Receiver, Service, ServiceFactory, free_port

PAYLOAD = {"executionId": "e1", "fabricId": "f1", "result": {"output": "x"}, "usage": {}}
PATH = "/v1/alert-contacts"


async def monitored(make_service: ServiceFactory, **overrides: Any) -> Service:
    settings: dict[str, Any] = {
        "retry_schedule_s": (0.0,),  # one attempt per delivery: each failure is final
        "auto_disable_after_s": 1000.0,
        "auto_disable_min_failed_deliveries": 3,
    }
    settings.update(overrides)
    return await make_service(clock=ManualClock(), **settings)


async def put(service: Service, auth: dict[str, str], body: Any) -> Any:
    return await service.client.put(PATH, json=body, headers=auth)


async def contacts(service: Service, auth: dict[str, str], **params: str) -> dict[str, Any]:
    response = await service.client.get(PATH, headers=auth, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def gone_webhook(
    service: Service, receiver: Receiver, account_id: str, auth: dict[str, str], path: str
) -> str:
    """A webhook whose receiver answers 410: its first delivery fails for good and disables
    it (alerts delivery.failed and webhook.disabled)."""
    receiver.script(path, [410])
    webhook = await service.create_webhook(auth, url=receiver.url(path))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, webhook["id"], status="failed")
    webhook_id: str = webhook["id"]
    return webhook_id


def recipients(message: Message) -> list[str]:
    return [a.strip() for a in str(message["To"]).split(",")]


def text_of(message: Message) -> str:
    payload = message.get_payload()
    assert isinstance(payload, str)
    return payload


async def test_contacts_are_set_read_and_kept_per_account(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    service = await make_service()
    account_id, auth = await service.create_account()
    other_id, other_auth = await service.create_account("Other")
    empty = await contacts(service, auth)
    assert empty == {
        "object": "alert_contacts",
        "accountId": account_id,
        "emails": [],
        "webhookId": None,
        "updatedAt": None,
    }
    webhook = await service.create_webhook(auth, url=receiver.url("/alerts"))
    response = await put(
        service,
        auth,
        {
            "emails": [" Ops@Acme.example ", "oncall@acme.example", "ops@acme.EXAMPLE"],
            "webhookId": webhook["id"],
        },
    )
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["emails"] == ["Ops@Acme.example", "oncall@acme.example"]  # trimmed, deduplicated
    assert saved["webhookId"] == webhook["id"]
    assert saved["updatedAt"] is not None
    assert await contacts(service, auth) == saved
    # the other account's contacts are its own
    assert (await contacts(service, other_auth))["emails"] == []
    # the admin key names the account, and must
    assert await contacts(service, service.admin(), account=account_id) == saved
    refused = await service.client.get(PATH, headers=service.admin())
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "account"
    by_admin = await put(service, service.admin(), {"account": other_id, "emails": ["b@o.example"]})
    assert by_admin.status_code == 200, by_admin.text
    assert (await contacts(service, other_auth))["emails"] == ["b@o.example"]
    missing = await put(service, service.admin(), {"account": "acc_nope", "emails": []})
    assert missing.status_code == 404
    # an account key cannot reach another account
    for response in (
        await service.client.get(PATH, headers=auth, params={"account": other_id}),
        await put(service, auth, {"account": other_id, "emails": ["x@y.example"]}),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["type"] == "not_found"
    assert (await contacts(service, other_auth))["emails"] == ["b@o.example"]
    # a deleted alert webhook reads back unset
    deleted = await service.client.delete(f"/v1/webhooks/{webhook['id']}", headers=auth)
    assert deleted.status_code == 204
    assert (await contacts(service, auth))["webhookId"] is None
    cleared = await put(service, auth, {"emails": []})
    assert cleared.status_code == 200
    assert cleared.json()["emails"] == [] and cleared.json()["webhookId"] is None


async def test_hostile_contacts_are_refused_and_change_nothing(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    service = await make_service()
    _, auth = await service.create_account()
    _, other_auth = await service.create_account("Other")
    theirs = await service.create_webhook(other_auth, url=receiver.url("/theirs"))
    before = await put(service, auth, {"emails": ["ops@acme.example"]})
    assert before.status_code == 200
    kept = before.json()
    too_many = [f"ops{i}@acme.example" for i in range(21)]
    bodies: list[tuple[Any, int]] = [
        ({"emails": ["ops@acme.example"], "webhookId": theirs["id"]}, 404),  # another account's
        ({"emails": [], "webhookId": "wh_unknown"}, 404),
        ({"emails": too_many}, 400),
        ({"emails": [f"ops{i}@acme.example" for i in range(10_000)]}, 400),
        ({"emails": [f"ops{i}@acme.example" for i in range(100_000)]}, 413),
        ({"emails": ["not-an-address"]}, 400),
        ({"emails": ["ops@localhost"]}, 400),
        ({"emails": ["ops@acme.example\r\nBcc: thief@evil.example"]}, 400),
        ({"emails": ["Ops <ops@acme.example>"]}, 400),
        ({"emails": ["a,b@acme.example"]}, 400),
        ({"emails": ["ops@acme.example" + "x" * 300]}, 400),
        ({"emails": ["ops@ácme.example"]}, 400),
        ({"emails": [1]}, 400),
        ({"emails": [["ops@acme.example"]]}, 400),
        ({"emails": "ops@acme.example"}, 400),
        ({"emails": None}, 400),
        ({}, 400),
        ({"emails": [], "webhookId": 5}, 400),
        ({"emails": [], "extra": True}, 400),
        ([], 400),
    ]
    for body, status in bodies:
        response = await put(service, auth, body)
        assert response.status_code == status, (str(body)[:80], response.text)
        assert set(response.json()) == {"error"}
        assert await contacts(service, auth) == kept
    raw = [
        '{"emails": ["\\ud800@acme.example"]}',
        '{"emails": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"emails": ["ops@acme.example"',
    ]
    for text in raw:
        response = await service.client.put(
            PATH,
            content=text.encode(),
            headers={**auth, "Content-Type": "application/json"},
        )
        assert 400 <= response.status_code < 500, (text[:40], response.text)
        assert set(response.json()) == {"error"}
        assert await contacts(service, auth) == kept


async def test_each_account_gets_only_its_own_alert_emails(
    make_service: ServiceFactory, receiver: Receiver, smtp_server: MailSink
) -> None:
    service = await monitored(
        make_service,
        alert_email_to=("operator@platform.example",),
        alert_email_from="webhooks@platform.example",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
    )
    acme_id, acme = await service.create_account("Acme")
    globex_id, globex = await service.create_account("Globex")
    silent_id, silent = await service.create_account("Silent")  # no contacts
    assert (await put(service, acme, {"emails": ["a1@acme.example", "a2@acme.example"]})).is_success
    assert (await put(service, globex, {"emails": ["g@globex.example"]})).is_success
    sink = service.app.state.services.observer.sink

    acme_hook = await gone_webhook(service, receiver, acme_id, acme, "/acme")
    await sink.drain()
    globex_hook = await gone_webhook(service, receiver, globex_id, globex, "/globex")
    await sink.drain()
    silent_hook = await gone_webhook(service, receiver, silent_id, silent, "/silent")
    await sink.drain()

    messages = smtp_server.wait_for(5)
    by_to: dict[str, list[Message]] = {}
    for message in messages:
        by_to.setdefault(str(message["To"]), []).append(message)
    assert set(by_to) == {
        "a1@acme.example, a2@acme.example",
        "g@globex.example",
        "operator@platform.example",
    }
    [to_acme] = by_to["a1@acme.example, a2@acme.example"]
    [to_globex] = by_to["g@globex.example"]
    for message, own, others in (
        (to_acme, acme_hook, (globex_hook, silent_hook)),
        (to_globex, globex_hook, (acme_hook, silent_hook)),
    ):
        text = text_of(message)
        assert message["From"] == "webhooks@platform.example"
        assert own in str(message["Subject"])
        assert "webhook.disabled" in text and "delivery.failed" in text and own in text
        assert not any(other in text for other in others)
        assert "operator@platform.example" not in str(message)  # no copy address shown
    operator = "\n".join(text_of(m) for m in by_to["operator@platform.example"])
    assert len(by_to["operator@platform.example"]) == 3  # one copy per batch, every account
    assert all(hook in operator for hook in (acme_hook, globex_hook, silent_hook))
    assert len(smtp_server.messages) == 5  # the account without contacts got none


async def test_account_contacts_are_mailed_without_an_operator_address(
    make_service: ServiceFactory, receiver: Receiver, smtp_server: MailSink
) -> None:
    service = await monitored(make_service, smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    account_id, auth = await service.create_account()
    assert (await put(service, auth, {"emails": ["ops@acme.example"]})).is_success
    hook = await gone_webhook(service, receiver, account_id, auth, "/gone")
    await service.app.state.services.observer.sink.drain()
    [message] = smtp_server.wait_for(1)
    assert recipients(message) == ["ops@acme.example"]
    assert hook in text_of(message)


async def test_alert_webhook_gets_its_accounts_alerts_and_never_its_own(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    service = await monitored(make_service)
    account_id, auth = await service.create_account()
    other_id, other_auth = await service.create_account("Other")
    # subscribed to nothing operational: chosen as the alert webhook, it gets them anyway
    alerts = await service.create_webhook(auth, url=receiver.url("/alerts"))
    theirs = await service.create_webhook(other_auth, url=receiver.url("/their-alerts"))
    assert (await put(service, auth, {"emails": [], "webhookId": alerts["id"]})).is_success
    assert (await put(service, other_auth, {"emails": [], "webhookId": theirs["id"]})).is_success
    # …and subscribed to them too: still one delivery of each alert
    also = await service.client.patch(
        f"/v1/webhooks/{alerts['id']}",
        json={"events": ["fabric.completed", "webhook.disabled"]},
        headers=auth,
    )
    assert also.status_code == 200, also.text
    receiver.script("/gone", [410])
    gone = await service.create_webhook(auth, url=receiver.url("/gone"))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, gone["id"], status="failed")
    # the alert webhook took the fabric.completed event too (its own subscription)
    await service.wait_delivery(auth, alerts["id"], status="delivered", count=3)
    events = sorted(
        json.loads(r.body)["event"]
        for r in receiver.on("/alerts")
        if r.headers["x-promptha-event"] != "fabric.completed"
    )
    assert events == ["delivery.failed", "webhook.disabled"]
    assert all(
        json.loads(r.body)["data"]["webhookId"] == gone["id"]
        for r in receiver.on("/alerts")
        if r.headers["x-promptha-event"] != "fabric.completed"
    )
    assert receiver.on("/their-alerts") == []  # the other account hears nothing of it
    other = await service.client.get(f"/v1/webhooks/{theirs['id']}/deliveries", headers=other_auth)
    assert other.status_code == 200 and other.json()["data"] == []
    assert other_id != account_id


async def test_a_broker_alert_webhook_gets_the_alerts_on_its_stream(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    """The alert webhook may be a broker destination: the alerts are published to the real
    Redis stream, signed like any delivery."""
    service = await monitored(make_service)
    account_id, auth = await service.create_account()
    async with broker_peer("redis-stream") as peer:
        created = await service.client.post(
            "/v1/webhooks",
            json={"type": "redis-stream", "config": peer.config(), "events": ["credits.low"]},
            headers=auth,
        )
        assert created.status_code == 201, created.text
        stream = created.json()
        assert (await put(service, auth, {"emails": [], "webhookId": stream["id"]})).is_success
        gone = await gone_webhook(service, receiver, account_id, auth, "/gone")
        events = []
        for _ in range(2):
            message = await peer.next_message()
            verify(message.body, lower(message.headers), stream["secret"])
            body = json.loads(message.body)
            assert body["data"]["webhookId"] == gone
            events.append(body["event"])
        assert sorted(events) == ["delivery.failed", "webhook.disabled"]


async def test_a_failing_alert_webhook_gets_no_alerts_about_itself(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    service = await monitored(make_service)
    account_id, auth = await service.create_account()
    receiver.script("/alerts", [410])
    alerts = await service.create_webhook(auth, url=receiver.url("/alerts"))
    assert (await put(service, auth, {"emails": [], "webhookId": alerts["id"]})).is_success
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    [failed] = await service.wait_delivery(auth, alerts["id"], status="failed")
    assert failed["event"] == "fabric.completed"
    # the alerts about it were published for the account, and none went to it
    listed = await service.client.get(f"/v1/webhooks/{alerts['id']}/deliveries", headers=auth)
    assert [d["event"] for d in listed.json()["data"]] == ["fabric.completed"]
    assert len(receiver.on("/alerts")) == 1


async def test_a_failing_smtp_server_does_not_hold_deliveries(
    make_service: ServiceFactory, receiver: Receiver
) -> None:
    service = await monitored(
        make_service,
        alert_email_to=("operator@platform.example",),
        smtp_host="127.0.0.1",
        smtp_port=free_port(),  # nothing listens: every send fails
    )
    account_id, auth = await service.create_account()
    alerts = await service.create_webhook(auth, url=receiver.url("/alerts"))
    put_ok = await put(service, auth, {"emails": ["ops@acme.example"], "webhookId": alerts["id"]})
    assert put_ok.is_success
    await gone_webhook(service, receiver, account_id, auth, "/gone")
    await service.app.state.services.observer.sink.drain()  # the sends failed, logged
    await service.wait_delivery(auth, alerts["id"], status="delivered", count=2)
    # deliveries go on
    ok = await service.create_webhook(auth, url=receiver.url("/ok"))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, ok["id"], status="delivered")
