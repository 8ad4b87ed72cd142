"""Publishes that arrive together share statements (PostgreSQL) or transactions (SQLite):
group commit, see Publisher._in_group. Each must still be stored, answered and delivered as if
it had been alone, idempotency keys included. The number of transactions is checked on
PostgreSQL, where every row carries the id of the transaction that wrote it."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import asyncpg
import httpx

from promptha_webhooks.store.database import asyncpg_dsn

from support import ADMIN_KEY, Receiver, Service

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _data(n: int) -> dict[str, Any]:
    return {"executionId": f"exec_{n}", "fabricId": "f", "result": {"n": n}, "usage": {}}


async def _post(
    service: Service, account_id: str, data: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = ADMIN | ({"Idempotency-Key": key} if key else {})
    return await service.client.post(
        "/v1/events",
        json={"account": account_id, "event": "fabric.completed", "data": data},
        headers=headers,
    )


async def test_a_burst_of_publishes_is_stored_answered_and_delivered_each_as_its_own(
    service: Service, receiver: Receiver
) -> None:
    accounts = []
    for name in ("a", "b", "c"):
        account_id, auth = await service.create_account(name)
        await service.create_webhook(auth, url=receiver.url(f"/{name}"))
        accounts.append((name, account_id, auth))
    count = 150
    responses = await asyncio.gather(
        *(_post(service, accounts[n % 3][1], _data(n)) for n in range(count))
    )
    assert [r.status_code for r in responses] == [201] * count
    answers = [r.json() for r in responses]
    assert len({a["id"] for a in answers}) == count
    for n, answer in enumerate(answers):
        name, account_id, auth = accounts[n % 3]
        assert answer["accountId"] == account_id
        assert answer["data"] == {**_data(n), "eventId": answer["id"]}
        assert answer["deliveryCount"] == 1
        stored = await service.client.get(f"/v1/events/{answer['id']}", headers=auth)
        assert stored.json() == answer  # same time, timestamp and data as answered
    for name, _account_id, _auth in accounts:
        arrived = await receiver.wait_for(count // 3, path=f"/{name}")
        bodies = [json.loads(request.body) for request in arrived]
        expected = {a["id"]: a for n, a in enumerate(answers) if accounts[n % 3][0] == name}
        assert sorted(b["data"]["eventId"] for b in bodies) == sorted(expected)
        for body in bodies:
            answer = expected[body["data"]["eventId"]]
            assert body["data"] == answer["data"] and body["timestamp"] == answer["timestamp"]
    if service.settings.database_url.startswith("postgresql"):
        # Rows written by one statement share its transaction id (xmin).
        connection = await asyncpg.connect(asyncpg_dsn(service.settings.database_url))
        try:
            statements = await connection.fetchval(
                "SELECT count(DISTINCT xmin::text) FROM events WHERE id = ANY($1::varchar[])",
                [a["id"] for a in answers],
            )
        finally:
            await connection.close()
        assert statements < count // 2, statements


async def test_idempotency_keys_in_a_burst_hold_each_publish_to_its_own_answer(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    await service.create_webhook(auth, url=receiver.url("/k"))
    before = await _post(service, account_id, _data(0), key="seen-before")
    assert before.status_code == 201
    plan: list[tuple[str, dict[str, Any], str | None]] = []
    for n in range(20):
        plan.append(("unique", _data(100 + n), f"key-{n}"))
    for n in range(8):  # the same key and payload twice in the burst: one event
        plan += [("twice", _data(200 + n), f"twice-{n}")] * 2
    for n in range(5):  # the same key with two payloads: one stored, one 409
        plan += [("clash", _data(300 + n), f"clash-{n}"), ("clash", _data(400 + n), f"clash-{n}")]
    plan.append(("replay", _data(0), "seen-before"))
    plan.append(("conflict", _data(1), "seen-before"))
    for n in range(10):
        plan.append(("no key", _data(500 + n), None))
    responses = await asyncio.gather(*(_post(service, account_id, d, k) for _, d, k in plan))

    by_key: dict[str | None, list[httpx.Response]] = {}
    for (_, _, key), response in zip(plan, responses, strict=True):
        by_key.setdefault(key, []).append(response)
    stored_ids: set[str] = {before.json()["id"]}
    for kind, _payload, key in plan:
        answers = by_key[key] if key else []
        if kind == "unique":
            [answer] = answers
            assert answer.status_code == 201 and "idempotent-replayed" not in answer.headers
            stored_ids.add(answer.json()["id"])
        elif kind == "twice":
            assert [a.status_code for a in answers] == [201, 201]
            assert answers[0].json()["id"] == answers[1].json()["id"]
            replayed = Counter(a.headers.get("idempotent-replayed") for a in answers)
            assert replayed == Counter({"true": 1, None: 1})
            stored_ids.add(answers[0].json()["id"])
        elif kind == "clash":
            assert sorted(a.status_code for a in answers) == [201, 409]
            winner = next(a for a in answers if a.status_code == 201)
            stored_ids.add(winner.json()["id"])
    replay, conflict = by_key["seen-before"]
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == before.json()["id"]
    assert conflict.status_code == 409
    for (_, _, key), response in zip(plan, responses, strict=True):
        if key is None:
            assert response.status_code == 201
            stored_ids.add(response.json()["id"])

    assert len(stored_ids) == 1 + 20 + 8 + 5 + 10
    listed = await service.client.get("/v1/events", params={"limit": 100}, headers=auth)
    assert {e["id"] for e in listed.json()["data"]} == stored_ids
    arrived = await receiver.wait_for(len(stored_ids), path="/k")
    await asyncio.sleep(0.3)
    assert len(receiver.on("/k")) == len(stored_ids)  # each stored event sent once
    assert {json.loads(r.body)["data"]["eventId"] for r in arrived} == stored_ids
