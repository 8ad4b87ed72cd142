"""Routing end to end on SQLite and PostgreSQL: event-type patterns and payload filters decide
which real receivers get an event; bad filters are 400s naming the field and store nothing;
POST /v1/webhooks/test-filter answers whether an event matches and which clause failed."""

from __future__ import annotations

from typing import Any

from support import Receiver, Service

BIG = {
    "executionId": "e1",
    "fabricId": "product-description",
    "result": {"score": 0.93},
    "usage": {"promptTokens": 2000, "completionTokens": 500, "totalTokens": 2500},
}
SMALL = BIG | {"usage": {"totalTokens": 40}, "result": {"score": 0.1}}
LOW = {"remaining": 5, "threshold": 10, "userId": "u"}
STARTED = {"executionId": "e1", "fabricId": "product-description", "inputs": {}}


def error_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def test_patterns_and_filters_route_to_real_receivers(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    hooks = {
        "fabric": await service.create_webhook(
            auth, url=receiver.url("/fabric"), events=["fabric.*"]
        ),
        "all": await service.create_webhook(auth, url=receiver.url("/all"), events=["*"]),
        "credits": await service.create_webhook(
            auth, url=receiver.url("/credits"), events=["credits.*"]
        ),
        "expensive": await service.create_webhook(
            auth,
            url=receiver.url("/expensive"),
            events=["fabric.completed"],
            filters={"data.usage.totalTokens": {"$gt": 1000}},
        ),
        "combined": await service.create_webhook(
            auth,
            url=receiver.url("/combined"),
            events=["fabric.completed"],
            filters={
                "fabricId": ["product-description", "seo-optimizer"],
                "$or": [
                    {"result.score": {"$gte": 0.9}},
                    {"$not": {"usage.totalTokens": {"$lt": 100}}},
                ],
                "executionId": {"$prefix": "e"},
            },
        ),
    }
    assert hooks["fabric"]["events"] == ["fabric.*"]  # stored as the pattern

    big = await service.publish(account_id, "fabric.completed", BIG)
    assert big["deliveryCount"] == 4  # fabric, all, expensive, combined
    small = await service.publish(account_id, "fabric.completed", SMALL)
    assert small["deliveryCount"] == 2  # fabric, all
    started = await service.publish(account_id, "fabric.started", STARTED)
    assert started["deliveryCount"] == 2  # fabric, all
    low = await service.publish(account_id, "credits.low", LOW)
    assert low["deliveryCount"] == 2  # all, credits

    await receiver.wait_for(3, path="/fabric")
    await receiver.wait_for(4, path="/all")
    await receiver.wait_for(1, path="/credits")
    [expensive] = await receiver.wait_for(1, path="/expensive")
    [combined] = await receiver.wait_for(1, path="/combined")
    assert big["id"].encode() in expensive.body and big["id"].encode() in combined.body
    for name, count in (("expensive", 1), ("combined", 1), ("credits", 1), ("fabric", 3)):
        page = await service.client.get(
            f"/v1/webhooks/{hooks[name]['id']}/deliveries", params={"limit": 100}, headers=auth
        )
        assert len(page.json()["data"]) == count, name


async def test_changing_a_pattern_or_filter_applies_to_the_next_publish(
    service: Service, receiver: Receiver
) -> None:
    account_id, auth = await service.create_account()
    hook = await service.create_webhook(auth, url=receiver.url("/h"), events=["credits.*"])
    assert (await service.publish(account_id, "fabric.completed", BIG))["deliveryCount"] == 0
    patched = await service.client.patch(
        f"/v1/webhooks/{hook['id']}",
        json={
            "events": ["fabric.*"],
            "filters": {"$or": [{"usage.totalTokens": {"$gt": 1000}}, {"fabricId": ["other"]}]},
        },
        headers=auth,
    )
    assert patched.status_code == 200, patched.text
    assert (await service.publish(account_id, "fabric.completed", BIG))["deliveryCount"] == 1
    # fabric.started has no usage (under $or that is allowed) and another fabricId
    assert (await service.publish(account_id, "fabric.started", STARTED))["deliveryCount"] == 0


async def test_bad_filters_are_400s_naming_the_field_and_store_nothing(
    service: Service, receiver: Receiver
) -> None:
    _, auth = await service.create_account()
    url = receiver.url("/bad")
    cases: list[tuple[list[str], Any, str, str]] = [
        (
            ["fabric.completed"],
            {"usage.totalTokenz": {"$gt": 1}},
            "filters.usage.totalTokenz.$gt",
            "unknown path",
        ),
        (
            ["fabric.completed"],
            {"data.usage.totalTokens": {"$gt": "many"}},
            "filters.data.usage.totalTokens.$gt",
            "can never match",
        ),
        (
            ["fabric.*"],
            {"usage.totalTokens": {"$gt": 1}},
            "filters.usage.totalTokens.$gt",
            "fabric.started and fabric.failed have no usage.totalTokens",
        ),
        (["fabric.completed"], {"fabricId": {"$regex": "x"}}, "filters.fabricId.$regex", ""),
        (["fabric.completed"], {"$nor": [{}]}, "filters.$nor", "unknown operator"),
        (["billing.*"], None, "events[0]", "covers no event type"),
    ]
    for events, filters, field, words in cases:
        body: dict[str, Any] = {"url": url, "events": events}
        if filters is not None:
            body["filters"] = filters
        error = error_of(await service.client.post("/v1/webhooks", json=body, headers=auth))
        assert error["field"] == field and words in error["message"], error
    listed = await service.client.get("/v1/webhooks", headers=auth)
    assert listed.json()["data"] == []
    # An update that leaves events and filters unfit is refused and changes nothing.
    hook = await service.create_webhook(
        auth, url=url, events=["fabric.completed"], filters={"usage.totalTokens": {"$gt": 1}}
    )
    widened = await service.client.patch(
        f"/v1/webhooks/{hook['id']}", json={"events": ["fabric.*"]}, headers=auth
    )
    assert error_of(widened)["field"] == "events"
    stored = (await service.client.get(f"/v1/webhooks/{hook['id']}", headers=auth)).json()
    assert stored["events"] == ["fabric.completed"]


async def test_test_filter_answers_match_and_the_failing_clause(service: Service) -> None:
    _, auth = await service.create_account()

    async def probe(body: dict[str, Any]) -> Any:
        return await service.client.post("/v1/webhooks/test-filter", json=body, headers=auth)

    filters = {"fabricId": ["product-description"], "usage.totalTokens": {"$gt": 1000}}
    yes = await probe({"events": ["fabric.*"], "filters": {}, "event": "fabric.completed"})
    assert yes.status_code == 200, yes.text
    assert yes.json() == {
        "object": "filter_test",
        "matches": True,
        "failedClause": None,
        "message": None,
    }
    matched = await probe({"filters": filters, "event": "fabric.completed", "data": BIG})
    assert matched.json()["matches"] is True
    failed = (await probe({"filters": filters, "event": "fabric.completed", "data": SMALL})).json()
    assert failed["matches"] is False
    assert failed["failedClause"] == "filters.usage.totalTokens.$gt"
    assert "data.usage.totalTokens is 40" in failed["message"]
    other_type = (
        await probe({"events": ["credits.*"], "filters": None, "event": "fabric.completed"})
    ).json()
    assert other_type["matches"] is False and other_type["failedClause"] == "events"
    # The sample payload when data is left out (the sample's fabricId is product-description).
    sample = (
        await probe({"filters": {"fabricId": ["seo-optimizer"]}, "event": "fabric.completed"})
    ).json()
    assert sample["failedClause"] == "filters.fabricId"
    # Bad input: 400s naming the field.
    for body, field in (
        ({"filters": {"x": {"$bad": 1}}, "event": "fabric.completed"}, "filters.x.$bad"),
        ({"filters": None, "event": "nope"}, "event"),
        (
            {"events": ["fabric.completed"], "filters": {"usage.nope": [1]}, "event": "x"},
            "filters.usage.nope",
        ),
        (
            {"filters": None, "event": "fabric.completed", "data": BIG | {"fabricId": 1}},
            "data.fabricId",
        ),
        ({"filters": None, "event": "fabric.completed", "data": []}, "data"),
    ):
        assert error_of(await probe(body))["field"] == field, body
    unauthenticated = await service.client.post(
        "/v1/webhooks/test-filter", json={"filters": None, "event": "fabric.completed"}
    )
    assert unauthenticated.status_code == 401
