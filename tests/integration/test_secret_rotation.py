"""POST /v1/webhooks/{id}/rotate-secret and …/complete against a real receiver: which secret
signs which header when, rotating again during a grace period, ending it early, PATCH's
immediate switch, and the wake-up of rejected deliveries through the partial index (its use
checked in both planners' plans)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import insert, inspect, text

from promptha_webhooks import signing
from promptha_webhooks.signature_headers import PREVIOUS_SIGNATURE_HEADER, SIGNATURE_HEADER
from promptha_webhooks.store import dispatch_statements
from promptha_webhooks.store.database import alembic_config, migrate_sync
from promptha_webhooks.store.tables import deliveries
from promptha_webhooks.webhook_secrets import DEFAULT_GRACE_PERIOD_S

from support import ManualClock, Receiver, Service, ServiceFactory, sync_connection

FIRST = "whsec_rotation_first_0123456789"
SECOND = "whsec_rotation_second_0123456789"
THIRD = "whsec_rotation_third_0123456789"
COMPLETED = {"executionId": "e", "fabricId": "f", "result": {}, "usage": {}}


async def rotate(
    service: Service, auth: dict[str, str], webhook_id: str, **body: Any
) -> dict[str, Any]:
    response = await service.client.post(
        f"/v1/webhooks/{webhook_id}/rotate-secret", json=body, headers=auth
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def signatures(
    service: Service, receiver: Receiver, account_id: str, count: int
) -> tuple[str, str | None]:
    """Publish one event; (the secret x-promptha-signature verifies with, the one the
    previous header verifies with) among FIRST, SECOND and THIRD."""
    await service.publish(account_id, "fabric.completed", COMPLETED | {"executionId": f"e{count}"})
    request = (await receiver.wait_for(count))[-1]
    headers = {k.lower(): v for k, v in request.headers.items()}
    timestamp = int(headers["x-promptha-timestamp"])

    def signer(signature: str | None) -> str | None:
        if signature is None:
            return None
        for secret in (FIRST, SECOND, THIRD):
            if signing.sign(secret, timestamp, request.body) == signature:
                return secret
        return "unknown"

    primary = signer(headers[SIGNATURE_HEADER])
    assert primary is not None and len(headers[SIGNATURE_HEADER]) == 64
    return primary, signer(headers.get(PREVIOUS_SIGNATURE_HEADER))


async def test_rotation_signs_with_both_secrets_and_rotating_again_drops_the_oldest(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url(), secret=FIRST)
    webhook_id = webhook["id"]
    assert webhook["previousSecretExpiresAt"] is None
    assert await signatures(service, receiver, account_id, 1) == (FIRST, None)

    before = datetime.now(UTC)
    answer = await rotate(service, auth, webhook_id, secret=SECOND)
    after = datetime.now(UTC)
    assert answer["object"] == "secret_rotation" and answer["webhookId"] == webhook_id
    assert answer["secret"] == SECOND
    expires = datetime.fromisoformat(answer["previousSecretExpiresAt"])
    grace = timedelta(seconds=DEFAULT_GRACE_PERIOD_S)
    assert before + grace - timedelta(seconds=1) <= expires <= after + grace
    shown = (await service.client.get(f"/v1/webhooks/{webhook_id}", headers=auth)).json()
    assert datetime.fromisoformat(shown["previousSecretExpiresAt"]) == expires
    secret = await service.client.get(f"/v1/webhooks/{webhook_id}/secret", headers=auth)
    assert secret.json()["secret"] == SECOND
    assert await signatures(service, receiver, account_id, 2) == (SECOND, FIRST)

    # Again during the grace period: the secret replaced becomes the previous one; the older
    # one signs nothing any more.
    answer = await rotate(service, auth, webhook_id, secret=THIRD, gracePeriodSeconds=60)
    assert await signatures(service, receiver, account_id, 3) == (THIRD, SECOND)

    # Completed: only the current secret signs; completing again changes nothing.
    for _ in range(2):
        response = await service.client.post(
            f"/v1/webhooks/{webhook_id}/rotate-secret/complete", headers=auth
        )
        assert response.status_code == 200, response.text
        assert response.json()["id"] == webhook_id
        assert response.json()["previousSecretExpiresAt"] is None
    assert await signatures(service, receiver, account_id, 4) == (THIRD, None)


async def test_the_end_of_the_grace_period_is_shown_only_while_it_runs(
    make_service: ServiceFactory,
) -> None:
    clock = ManualClock()
    service = await make_service(clock=clock)
    _, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url="http://127.0.0.1:9/", secret=FIRST)
    path = f"/v1/webhooks/{webhook['id']}"
    answer = await rotate(service, auth, webhook["id"], secret=SECOND, gracePeriodSeconds=60)
    ends = answer["previousSecretExpiresAt"]
    assert ends is not None

    async def shown() -> list[Any]:
        one = (await service.client.get(path, headers=auth)).json()
        listed = (await service.client.get("/v1/webhooks", headers=auth)).json()["data"]
        edited = await service.client.patch(path, json={"description": "d"}, headers=auth)
        return [one, *listed, edited.json()]

    clock.advance(59)
    assert [w["previousSecretExpiresAt"] for w in await shown()] == [ends] * 3
    clock.advance(2)  # the grace period is over: nothing to show, nothing signs with FIRST
    assert [w["previousSecretExpiresAt"] for w in await shown()] == [None] * 3


async def test_a_generated_secret_and_a_grace_period_of_0(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url(), secret=FIRST)
    answer = await rotate(service, auth, webhook["id"], gracePeriodSeconds=0)
    assert answer["secret"].startswith("whsec_") and answer["secret"] != FIRST
    assert answer["previousSecretExpiresAt"] is None
    await service.publish(account_id, "fabric.completed", COMPLETED)
    [request] = await receiver.wait_for(1)
    assert PREVIOUS_SIGNATURE_HEADER not in {k.lower() for k in request.headers}
    signing.verify(request.body, request.headers, answer["secret"], now=int(time.time()))


async def test_rotating_to_the_current_secret_is_refused_and_changes_nothing(
    service: Service, receiver: Receiver
) -> None:
    _, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url(), secret=FIRST)
    response = await service.client.post(
        f"/v1/webhooks/{webhook['id']}/rotate-secret", json={"secret": FIRST}, headers=auth
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "secret"
    shown = (await service.client.get(f"/v1/webhooks/{webhook['id']}", headers=auth)).json()
    assert shown["previousSecretExpiresAt"] is None
    assert shown["updatedAt"] == webhook["updatedAt"]


async def test_patch_secret_switches_at_once_and_ends_a_grace_period(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url(), secret=FIRST)
    await rotate(service, auth, webhook["id"], secret=SECOND)
    response = await service.client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"secret": THIRD}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert response.json()["previousSecretExpiresAt"] is None
    assert await signatures(service, receiver, account_id, 1) == (THIRD, None)


async def test_a_rejection_in_the_window_is_retried_and_a_2xx_wakes_the_parked_ones(
    service: Service, receiver: Receiver
) -> None:
    # The receiver answers 401 to the first six requests of /hook, then 200: the first event's
    # delivery spends its schedule and parks; the second event is accepted and wakes it.
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url(), secret=FIRST)
    await rotate(service, auth, webhook["id"], secret=SECOND, gracePeriodSeconds=600)
    receiver.script("/hook", [401] * 6 + [200])
    await service.publish(account_id, "fabric.completed", COMPLETED | {"executionId": "parked"})
    [parked] = await service.wait_delivery(auth, webhook["id"], status="pending")
    deadline = time.monotonic() + 15
    while parked["attemptCount"] < 6:
        assert time.monotonic() < deadline, parked
        [parked] = await service.wait_delivery(auth, webhook["id"], status="pending")
    assert parked["lastResponseStatus"] == 401
    assert "secret rotation" in parked["lastError"]
    await service.publish(account_id, "fabric.completed", COMPLETED | {"executionId": "wakes"})
    delivered = await service.wait_delivery(auth, webhook["id"], status="delivered", count=2)
    assert {d["id"] for d in delivered} >= {parked["id"]}


async def test_waking_finds_the_rejected_deliveries_through_the_partial_index(
    service: Service, receiver: Receiver
) -> None:
    # A webhook with many deliveries waiting for a retry and a few rejected in a grace period:
    # the statement goes to the few through ix_deliveries_signature_rejected, on both planners
    # (their statistics gathered, as autovacuum / ANALYZE would).
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url(), secret=FIRST)
    now = int(time.time() * 1000)
    later = now + 3_600_000

    def row(n: int, status_code: int) -> dict[str, Any]:
        return {
            "id": f"dlv_{n:06d}",
            "event_id": f"evt_{n:06d}",
            "webhook_id": webhook["id"],
            "account_id": account_id,
            "event_type": "fabric.completed",
            "status": "pending",
            "attempt_count": 1,
            "next_attempt_at": later,
            "last_status_code": status_code,
            "is_test": False,
            "created_at": now,
            "updated_at": now,
        }

    rows = [row(n, 503) for n in range(3000)] + [row(n, 401) for n in range(3000, 3005)]
    db = service.app.state.services.db
    async with db.transaction() as conn:
        await conn.execute(insert(deliveries), rows)
    async with db.transaction() as conn:
        await conn.execute(text("ANALYZE deliveries"))
        statement = dispatch_statements.wake_statement([webhook["id"]], now)
        sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        explain = "EXPLAIN " if conn.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
        plan = "\n".join(str(row[-1]) for row in await conn.exec_driver_sql(explain + sql))
        assert "ix_deliveries_signature_rejected" in plan, plan
        assert await dispatch_statements.wake_rejected(conn, [webhook["id"]], now) == 5


def test_migration_0011_adds_and_drops_the_partial_index(database_url: str) -> None:
    def index_names() -> set[str]:
        with sync_connection(database_url) as conn:
            return {str(index["name"]) for index in inspect(conn).get_indexes("deliveries")}

    assert "ix_deliveries_signature_rejected" in index_names()
    command.downgrade(alembic_config(database_url), "0010")
    assert "ix_deliveries_signature_rejected" not in index_names()
    migrate_sync(database_url)
    assert "ix_deliveries_signature_rejected" in index_names()
