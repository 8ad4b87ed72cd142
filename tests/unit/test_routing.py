"""routing.py: event-type patterns, the filter language (parse, check against the catalogue's
JSON Schemas, compile, explain) and the account's route table."""

from __future__ import annotations

from typing import Any

import pytest

from promptha_webhooks import routing
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.routing import (
    EventSelector,
    Route,
    RouteTable,
    check_filter_fits,
    compile_filter,
    covered_types,
    parse_filter,
    route_of,
    validate_event_selectors,
)

COMPLETED = {
    "executionId": "e",
    "fabricId": "product-description",
    "result": {"score": 0.9, "labels": ["a"]},
    "usage": {"promptTokens": 10, "completionTokens": 5, "totalTokens": 2500},
}


def matches(document: dict[str, Any], data: dict[str, Any]) -> bool:
    return compile_filter(parse_filter(document)).test(data)


def error(call: Any, *args: Any, **kwargs: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        call(*args, **kwargs)
    return caught.value


# -- patterns --------------------------------------------------------------------------------


def test_patterns_cover_their_group_and_later_types() -> None:
    assert covered_types(["fabric.*"]) == ["fabric.started", "fabric.completed", "fabric.failed"]
    assert covered_types(["ask.*"]) == ["ask.session.created", "ask.message", "ask.session.ended"]
    assert covered_types(["ask.session.*"]) == ["ask.session.created", "ask.session.ended"]
    assert len(covered_types(["*"])) == 13
    selector = EventSelector.of(["fabric.*", "credits.low"])
    # A type the catalogue gains later is covered by the stored pattern.
    assert selector.covers("fabric.cancelled") and selector.covers("credits.low")
    assert not selector.covers("credits.depleted") and not selector.covers("fabricx.started")
    assert EventSelector.of(["*"]).covers("anything.new")


def test_event_selectors_are_validated() -> None:
    assert validate_event_selectors(["fabric.*", "*", "fabric.*", "credits.low"]) == [
        "fabric.*",
        "*",
        "credits.low",
    ]
    for bad, field in (
        (["billing.*"], "events[0]"),
        (["fabric.completed", "fab*"], "events[1]"),
        (["*.completed"], "events[0]"),
        (["fabric..*"], "events[0]"),
        ([1], "events[0]"),
        ([], "events"),
        ("fabric.*", "events"),
    ):
        assert error(validate_event_selectors, bad).field == field, bad


# -- the filter language ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"fabricId": ["product-description", "x"]}, True),
        ({"fabricId": ["x"]}, False),
        ({"data.usage.totalTokens": {"$gt": 1000}}, True),
        ({"usage.totalTokens": {"$gt": 2500}}, False),
        ({"usage.totalTokens": {"$gte": 2500, "$lte": 2500}}, True),
        ({"usage.totalTokens": {"$lt": 2500.5}}, True),
        ({"usage.totalTokens": {"$eq": 2500.0}}, True),
        ({"usage.totalTokens": {"$ne": 2500}}, False),
        ({"usage.totalTokens": {"$in": [1, 2500]}}, True),
        ({"usage.totalTokens": {"$nin": [1, 2500]}}, False),
        ({"result.score": {"$gte": 0.9}}, True),
        ({"result.missing": {"$exists": False}}, True),
        ({"result.score": {"$exists": True}}, True),
        ({"result.missing": {"$ne": 1}}, False),  # absent matches only $exists: false
        ({"fabricId": {"$prefix": "product-"}}, True),
        ({"fabricId": {"$prefix": "seo-"}}, False),
        ({"fabricId": {"$gt": "a"}}, True),  # strings compare with strings
        ({"usage.totalTokens": {"$gt": "a"}}, False),  # never across types
        ({"$or": [{"fabricId": ["x"]}, {"usage.totalTokens": {"$gt": 1000}}]}, True),
        ({"$or": [{"fabricId": ["x"]}, {"usage.totalTokens": {"$gt": 9000}}]}, False),
        (
            {
                "$and": [
                    {"fabricId": ["product-description"]},
                    {"$not": {"result.score": {"$lt": 0.5}}},
                ]
            },
            True,
        ),
        ({"$not": {"fabricId": ["product-description"]}}, False),
        ({}, True),
    ],
)
def test_operators(document: dict[str, Any], expected: bool) -> None:
    assert matches(document, COMPLETED) is expected


def test_booleans_are_not_numbers_and_objects_equal_nothing() -> None:
    data = {"flag": True, "one": 1, "nested": {"a": 1}}
    assert matches({"flag": [True]}, data) and not matches({"flag": [1]}, data)
    assert matches({"one": [1.0]}, data) and not matches({"one": [True]}, data)
    assert not matches({"nested": {"$eq": 1}}, data)
    assert matches({"nested": {"$ne": 1}}, data)
    assert not matches({"nested.a.b": {"$exists": True}}, data)  # a number has no fields
    assert matches({"none": {"$eq": None}}, {"none": None})


def test_explain_names_the_failing_clause() -> None:
    compiled = compile_filter(
        parse_filter({"fabricId": ["product-description"], "usage.totalTokens": {"$gt": 9000}})
    )
    failure = compiled.explain(COMPLETED)
    assert failure is not None
    assert failure.clause == "filters.usage.totalTokens.$gt"
    assert "data.usage.totalTokens is 2500" in failure.message
    assert (
        compile_filter(parse_filter({"fabricId": ["product-description"]})).explain(COMPLETED)
        is None
    )
    either = compile_filter(
        parse_filter({"$or": [{"fabricId": ["x"]}, {"zzz": {"$exists": True}}]})
    )
    failed = either.explain(COMPLETED)
    assert failed is not None and failed.clause == "filters.$or"
    assert "data.zzz is missing" in failed.message
    negated = compile_filter(parse_filter({"$not": {"fabricId": ["product-description"]}}))
    assert (negated.explain(COMPLETED) or routing.FilterFailure("", "")).clause == "filters.$not"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "filters"),
        ({"fabricId": []}, "filters.fabricId"),
        ({"fabricId": "a"}, "filters.fabricId"),
        ({"fabricId": [{"nested": 1}]}, "filters.fabricId[0]"),
        ({"fabricId": [None]}, "filters.fabricId[0]"),
        ({"fabricId": {"$regex": "a"}}, "filters.fabricId.$regex"),
        ({"fabricId": {}}, "filters.fabricId"),
        ({"$nor": []}, "filters.$nor"),
        ({"$or": []}, "filters.$or"),
        ({"$or": [{}]}, "filters.$or[0]"),
        ({"$not": [1]}, "filters.$not"),
        ({"usage.totalTokens": {"$gt": True}}, "filters.usage.totalTokens.$gt"),
        ({"usage.totalTokens": {"$in": "a"}}, "filters.usage.totalTokens.$in"),
        ({"x": {"$exists": 1}}, "filters.x.$exists"),
        ({"x": {"$prefix": 1}}, "filters.x.$prefix"),
        ({"a..b": [1]}, "filters.a..b"),
        ({"data": [1]}, "filters.data"),
        ({"eventId": ["evt_1"]}, "filters.eventId"),
        ({"x": ["a" * 1001]}, "filters.x[0]"),
        ({"x": list(range(101))}, "filters.x"),
        ({".".join("a" * 9): [1]}, "filters." + ".".join("a" * 9)),
    ],
)
def test_bad_documents(document: Any, field: str) -> None:
    assert error(parse_filter, document).field == field


def test_hostile_sizes_are_bounded() -> None:
    deep: dict[str, Any] = {"x": [1]}
    for _ in range(routing.MAX_FILTER_DEPTH + 1):
        deep = {"$not": deep}
    assert "nest at most" in error(parse_filter, deep).message
    wide = {"$or": [{f"f{i}": [1], f"g{i}": [2], f"h{i}": [3]} for i in range(20)]}
    assert "at most 50 comparisons" in error(parse_filter, wide).message
    assert error(parse_filter, {f"k{i}": [1] for i in range(21)}).field == "filters"


# -- checked against the JSON Schemas --------------------------------------------------------


def fits(document: dict[str, Any], events: list[str]) -> None:
    check_filter_fits(parse_filter(document), events)


def test_schema_checks() -> None:
    fits({"anything": {"$gt": 1}}, [])  # no events: nothing to check against (their own 400)
    fits({"usage.totalTokens": {"$gt": 1000}}, ["fabric.completed"])
    fits({"data.result.score": {"$gte": 0.5}}, ["fabric.completed"])  # result: any shape
    fits({"fabricId": ["a"]}, ["fabric.*"])
    fits({"tier": ["pro"]}, ["credits.low"])  # the original form's rule: a platform field
    fits({"$or": [{"usage.totalTokens": {"$gt": 5}}, {"fabricId": ["a"]}]}, ["fabric.*"])
    fits({"usage.totalTokens": {"$exists": False}}, ["fabric.*"])
    fits({"lastFailureReason": {"$eq": None}}, ["webhook.disabled"])
    unknown = error(fits, {"usage.totalTokenz": {"$gt": 1}}, ["fabric.completed"])
    assert unknown.field == "filters.usage.totalTokenz.$gt" and "unknown path" in unknown.message
    nested = error(fits, {"$or": [{"tier": {"$eq": "a"}}, {"fabricId": ["a"]}]}, ["fabric.*"])
    assert nested.field == "filters.$or[0].tier.$eq"
    drops = error(fits, {"usage.totalTokens": {"$gt": 1}}, ["fabric.*"])
    assert drops.field == "filters.usage.totalTokens.$gt"
    assert "fabric.started and fabric.failed have no usage.totalTokens" in drops.message
    mistyped = error(fits, {"usage.totalTokens": {"$gt": "a"}}, ["fabric.completed"])
    assert mistyped.field == "filters.usage.totalTokens.$gt"
    assert "can never match" in mistyped.message
    assert error(fits, {"fabricId": [1]}, ["fabric.completed"]).field == "filters.fabricId"
    assert error(fits, {"remaining": {"$prefix": "1"}}, ["credits.low"]).field == (
        "filters.remaining.$prefix"
    )
    legacy = error(fits, {"fabricId": ["a"]}, ["credits.low", "credits.depleted"])
    assert legacy.message.startswith(
        "filters.fabricId: credits.low and credits.depleted have no fabricId (only "
        "fabric.completed, fabric.failed and fabric.started do)"
    )


# -- routes and the table --------------------------------------------------------------------


def test_route_of_is_cached_per_definition() -> None:
    first = route_of('["fabric.*"]', '{"fabricId": ["a"]}')
    assert route_of('["fabric.*"]', '{"fabricId": ["a"]}') is first
    assert first.matches("fabric.completed", {"fabricId": "a"})
    assert not first.matches("credits.low", {"fabricId": "a"})
    assert route_of('["*"]', None).matches("credits.low", {})
    assert route_of('["*"]', "null").filter is None


def test_route_table_matches_what_every_route_would_and_keeps_the_order() -> None:
    definitions = [
        ('["fabric.*"]', '{"fabricId": ["a", "b"]}'),
        ('["*"]', None),
        ('["fabric.completed"]', '{"usage.totalTokens": {"$gt": 100}}'),
        ('["fabric.*"]', '{"fabricId": {"$eq": "b"}, "usage.totalTokens": {"$gt": 100}}'),
        ('["credits.*"]', '{"userId": ["u"]}'),
        ('["fabric.*"]', '{"$and": [{"fabricId": ["a"]}], "executionId": ["e"]}'),
        ('["fabric.*"]', '{"$or": [{"fabricId": ["a"]}, {"fabricId": ["c"]}]}'),
        ('["fabric.*"]', '{"fabricId": [true, 1]}'),
    ]
    entries = [(index, route_of(*pair)) for index, pair in enumerate(definitions)]
    table: RouteTable[int] = RouteTable(entries)
    assert len(table) == len(definitions)
    payloads: list[tuple[str, dict[str, Any]]] = [
        ("fabric.completed", {"fabricId": "a", "executionId": "e", "usage": {"totalTokens": 5}}),
        ("fabric.completed", {"fabricId": "b", "usage": {"totalTokens": 500}}),
        ("fabric.completed", {"fabricId": "c", "usage": {}}),
        ("fabric.failed", {"fabricId": 1}),
        ("fabric.failed", {"fabricId": True}),
        ("fabric.failed", {"fabricId": 1.0}),
        ("fabric.failed", {"fabricId": ["a"]}),
        ("fabric.failed", {}),
        ("credits.low", {"userId": "u"}),
        ("fabric.brand-new", {"fabricId": "a"}),
    ]
    for name, data in payloads:
        expected = [index for index, route in entries if route.matches(name, data)]
        assert table.match(name, data) == expected, (name, data)
        assert table.match(name, data) == expected  # the cached bucket answers alike


def test_route_without_filter() -> None:
    route = Route(EventSelector.of(["credits.low"]))
    assert route.matches("credits.low", {}) and not route.matches("credits.depleted", {})
