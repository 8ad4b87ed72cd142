"""The dispatcher's batched result writes, on both backends: a result is fenced by the claim
token (a worker whose lease lapsed never overwrites the new claimer), and an attempt whose
delivery was deleted meanwhile is dropped without failing the rest of its batch."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web
from sqlalchemy import text

from promptha_webhooks.store import dispatch_statements

from support import ReceivedRequest, Receiver, Service, attempt_row, delivered_update

PAYLOAD = {"executionId": "e1", "fabricId": "f1", "result": {"output": "x"}, "usage": {}}


def hold(receiver: Receiver, path: str) -> asyncio.Event:
    """Requests on `path` get their 200 only once the returned event is set."""
    release = asyncio.Event()

    async def answer(_request: ReceivedRequest) -> web.Response:
        await release.wait()
        return web.Response(status=200, text="ok")

    receiver.responders[path] = answer
    return release


async def attempt_in_flight(
    service: Service, receiver: Receiver, path: str
) -> tuple[str, dict[str, str], dict[str, Any], asyncio.Event]:
    """An account whose one webhook on `path` has an attempt in flight, held until the returned
    event is set: (account id, auth headers, webhook, release)."""
    account_id, auth = await service.create_account()
    release = hold(receiver, path)
    webhook = await service.create_webhook(auth, url=receiver.url(path))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await receiver.wait_for(1, path=path)
    return account_id, auth, webhook, release


async def delivery_row(service: Service, delivery_id: str) -> dict[str, Any]:
    async with service.app.state.services.db.transaction() as conn:
        row = (
            await conn.execute(
                text("SELECT status, claim_token FROM deliveries WHERE id = :id"),
                {"id": delivery_id},
            )
        ).one()
        attempts = (
            await conn.execute(
                text("SELECT count(*) FROM attempts WHERE delivery_id = :id"), {"id": delivery_id}
            )
        ).scalar_one()
    return {"status": row.status, "claim_token": row.claim_token, "attempts": attempts}


async def test_a_result_after_the_lease_passed_to_another_worker_is_not_applied(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth, webhook, release = await attempt_in_flight(service, receiver, "/slow")
    [pending] = (
        await service.client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=auth)
    ).json()["data"]
    # While the attempt is in flight its lease lapses and another worker claims it.
    async with service.app.state.services.db.transaction() as conn:
        await conn.execute(
            text("UPDATE deliveries SET claim_token = 'other-worker' WHERE id = :id"),
            {"id": pending["id"]},
        )
    release.set()
    # A second delivery on another webhook shows when the first one's batch has been written.
    other = await service.create_webhook(auth, url=receiver.url("/fast"))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, other["id"], status="delivered")
    for _ in range(100):
        row = await delivery_row(service, pending["id"])
        if row["attempts"]:
            break
        await asyncio.sleep(0.02)
    # The attempt happened and is logged; the delivery's state belongs to the new claimer.
    assert row == {"status": "pending", "claim_token": "other-worker", "attempts": 1}


async def test_a_batch_written_again_after_a_lost_commit_answer_is_recorded_once(
    pg_service: Service, receiver: Receiver
) -> None:
    # PostgreSQL's writer records in autocommit; SQLite's commit is local and cannot be lost.
    service = pg_service
    _account_id, auth, webhook, release = await attempt_in_flight(service, receiver, "/again")
    [pending] = (
        await service.client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=auth)
    ).json()["data"]
    token = service.app.state.dispatcher.token
    now = int(time.time() * 1000)
    attempt = attempt_row(pending["id"], webhook["id"], receiver.url("/again"), now=now)
    update = delivered_update(pending["id"], token, now=now)
    # The writer's statement runs, its commit's answer is lost, and the batch is retried.
    for _ in range(2):
        async with service.app.state.services.db.driver_connection() as driver:
            assert await dispatch_statements.record_results(
                driver, [attempt], [update], {webhook["id"]: now}, now
            )
    assert await delivery_row(service, pending["id"]) == {
        "status": "delivered",
        "claim_token": None,
        "attempts": 1,
    }
    release.set()


async def test_an_attempt_of_a_deleted_delivery_does_not_block_the_others(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth, doomed, release = await attempt_in_flight(service, receiver, "/doomed")
    response = await service.client.delete(f"/v1/webhooks/{doomed['id']}", headers=auth)
    assert response.status_code == 204, response.text
    # Its delivery is gone; the other webhook's results are written in the batches after it.
    healthy = await service.create_webhook(auth, url=receiver.url("/ok"))
    release.set()
    for _ in range(3):
        await service.publish(account_id, "fabric.completed", PAYLOAD)
    delivered = await service.wait_delivery(auth, healthy["id"], status="delivered", count=3)
    assert len(delivered) == 3
    assert await service.orphan_attempts() == 0


async def test_an_answer_with_a_nul_character_is_logged_and_does_not_block_the_batch(
    service: Service, receiver: Receiver
) -> None:
    # PostgreSQL text cannot hold U+0000: stored as is, it would fail the batch at every retry.
    async def answer(_request: ReceivedRequest) -> web.Response:
        return web.Response(status=200, body=b"ok\x00done")

    receiver.responders["/nul"] = answer
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url("/nul"))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    [delivery] = await service.wait_delivery(auth, webhook["id"], status="delivered")
    detail = (await service.client.get(f"/v1/deliveries/{delivery['id']}", headers=auth)).json()
    assert detail["attempts"][0]["responseBody"] == "ok\ufffddone"


async def logged_answer(service: Service, receiver: Receiver, path: str) -> str:
    """Publish to a new webhook on `path`; the response body its delivered attempt logged."""
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url(path))
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    [delivery] = await service.wait_delivery(auth, webhook["id"], status="delivered")
    detail = (await service.client.get(f"/v1/deliveries/{delivery['id']}", headers=auth)).json()
    body: str = detail["attempts"][0]["responseBody"]
    return body


async def test_an_answer_sent_in_pieces_is_logged_whole(
    service: Service, receiver: Receiver
) -> None:
    async def pieces() -> Any:
        for piece in (b"first,", b"second,", b"third"):
            yield piece
            await asyncio.sleep(0.05)  # separate reads on the sender's side

    async def answer(_request: ReceivedRequest) -> web.Response:
        return web.Response(status=200, body=pieces())

    receiver.responders["/pieces"] = answer
    assert await logged_answer(service, receiver, "/pieces") == "first,second,third"


async def test_a_long_answer_is_logged_up_to_its_first_64_kib(
    service: Service, receiver: Receiver
) -> None:
    limit = service.settings.response_body_limit_bytes
    text_sent = "".join(f"{i:09d}\n" for i in range(limit // 10 + 5_000))  # limit + 50,000 B

    async def answer(_request: ReceivedRequest) -> web.Response:
        return web.Response(status=200, text=text_sent)

    receiver.responders["/long"] = answer
    assert limit == 65_536
    assert await logged_answer(service, receiver, "/long") == text_sent[:limit]
