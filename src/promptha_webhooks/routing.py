"""Routing: which webhooks an event goes to. Event-type patterns (`fabric.*`, `*`) and payload
filters (paths, comparisons, `$and`/`$or`/`$not`): parsed and checked once against the
catalogue's JSON Schemas, compiled once into closures, and indexed per account (RouteTable)
so a publish evaluates only the webhooks that can match.

A filter document is an object whose entries must all hold:

* ``"path": [v1, v2]``: the field's value is one of the values (the original form: it keeps
  its meaning, `{"fabricId": [...]}`);
* ``"path": {"$op": operand, ...}``: every operator holds, `$eq $ne $gt $gte $lt $lte $in $nin
  $exists $prefix`;
* ``"$and": [filter, ...]``, ``"$or": [filter, ...]``, ``"$not": filter``.

A path names a payload field, dotted for nested ones (`usage.totalTokens`); a leading `data.`
(the envelope's name for the payload) may be written or left out. A field that is absent
matches only `$exists: false`; booleans are never equal to numbers; order comparisons
compare numbers with numbers and strings with strings (code points), never across.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, TypeVar

import orjson

from promptha_webhooks.catalog import (
    EVENT_NAMES,
    EVENT_TYPES,
    OPEN,
    declared_fields,
    field_types,
)
from promptha_webhooks.errors import InvalidRequestError

__all__ = [
    "WILDCARD",
    "CompiledFilter",
    "EventSelector",
    "FilterFailure",
    "Route",
    "RouteTable",
    "check_filter_fits",
    "compile_filter",
    "covered_types",
    "parse_filter",
    "route_of",
    "validate_event_pattern",
    "validate_event_selectors",
]

WILDCARD = "*"
# Bounds a filter document is held to (hostile input: size and nesting, not just meaning).
MAX_FILTER_DEPTH = 6  # nested $and/$or/$not levels
MAX_FILTER_CLAUSES = 50  # comparisons in the whole document
MAX_FILTER_KEYS = 20  # entries of one object
MAX_FILTER_VALUES = 100  # values of one list ($in, $nin, the original form)
MAX_PATH_SEGMENTS = 8
MAX_PATH_LENGTH = 200  # characters of one path
MAX_OPERAND_LENGTH = 1000  # characters of one string operand
# Compiled routes kept per process, keyed by the stored JSON texts (many webhooks share them).
ROUTE_CACHE_SIZE = 20_000

COMPARISONS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$prefix")
LOGICAL = ("$and", "$or", "$not")
_ORDERED = frozenset({"$gt", "$gte", "$lt", "$lte"})
_LISTS = frozenset({"$in", "$nin"})
_NEEDS_FIELD = frozenset(COMPARISONS) - {"$exists"}


# -- event-type patterns ---------------------------------------------------------------------


def _covers(selector: str, name: str) -> bool:
    if selector == WILDCARD:
        return True
    if selector.endswith(".*"):
        return name.startswith(selector[:-1])
    return selector == name


def covered_types(selectors: Iterable[str]) -> list[str]:
    """The catalogue's event types the selectors cover today, in catalogue order."""
    chosen = list(selectors)
    return [t.name for t in EVENT_TYPES if any(_covers(s, t.name) for s in chosen)]


def validate_event_selectors(events: Any, *, field: str = "events") -> list[str]:
    """Event types and patterns a webhook subscribes to, duplicates dropped: a known type,
    `*`, or `<prefix>.*` covering at least one known type (a type added later under the prefix
    is covered too: patterns are stored, not expanded)."""
    if not isinstance(events, list) or not events:
        raise InvalidRequestError(
            "events must be a non-empty list of event types or patterns", field=field
        )
    for index, name in enumerate(events):
        _check_selector(name, field=f"{field}[{index}]")
    return list(dict.fromkeys(events))


def validate_event_pattern(name: Any, *, field: str = "type") -> str:
    """One event type or pattern (a search of events by type): as a subscription's."""
    _check_selector(name, field=field)
    return str(name)


def _check_selector(name: Any, *, field: str) -> None:
    if isinstance(name, str) and name in EVENT_NAMES:
        return
    if isinstance(name, str) and (name == WILDCARD or _is_prefix_pattern(name)):
        if covered_types([name]):
            return
        raise InvalidRequestError(
            f"{field}: the pattern {name!r} covers no event type; known types: "
            f"{', '.join(sorted(EVENT_NAMES))}",
            field=field,
        )
    shown = repr(name)[:80] if isinstance(name, str) else type(name).__name__
    raise InvalidRequestError(
        f"Unknown event type {shown}; give a known type, a pattern such as 'fabric.*', or "
        f"'*'; known types: {', '.join(sorted(EVENT_NAMES))}",
        field=field,
    )


def _is_prefix_pattern(name: str) -> bool:
    if not name.endswith(".*") or len(name) > 100:
        return False
    return all(part and "*" not in part for part in name[:-2].split("."))


@dataclass(frozen=True, slots=True)
class EventSelector:
    """A webhook's event types and patterns, compiled: exact names, prefixes, or every type."""

    names: frozenset[str]
    prefixes: tuple[str, ...] = ()
    everything: bool = False

    @classmethod
    def of(cls, selectors: Iterable[str]) -> EventSelector:
        chosen = list(selectors)
        return cls(
            frozenset(s for s in chosen if not s.endswith("*")),
            tuple(s[:-1] for s in chosen if s.endswith(".*")),
            WILDCARD in chosen,
        )

    def covers(self, name: str) -> bool:
        return (
            self.everything or name in self.names or any(name.startswith(p) for p in self.prefixes)
        )


# -- filters: the parsed document ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """One operator on one path; `field` is where errors and failures point."""

    path: tuple[str, ...]
    op: str
    operand: Any
    field: str
    original_form: bool = False  # {"path": [values]}: $in with the original form's rules


@dataclass(frozen=True, slots=True)
class Logical:
    """`$and` (the implicit one of an object too), `$or` or `$not` of its children."""

    op: str
    children: tuple[Node, ...]
    field: str


Node = Comparison | Logical


def parse_filter(document: Any, *, field: str = "filters") -> Logical:
    """The filter document's tree, or a 400 naming the first bad part (with its field)."""
    counter = [0]
    return _parse_object(document, field, 0, counter)


def _parse_object(document: Any, where: str, depth: int, counter: list[int]) -> Logical:
    if not isinstance(document, dict):
        raise InvalidRequestError(
            f"{where} must be an object of {{path: [values]}} or {{path: {{operator: value}}}}",
            field=where,
        )
    if depth > MAX_FILTER_DEPTH:
        raise InvalidRequestError(
            f"{where}: filters nest at most {MAX_FILTER_DEPTH} levels deep", field=where
        )
    if not document and depth > 0:
        raise InvalidRequestError(f"{where} must not be empty", field=where)
    if len(document) > MAX_FILTER_KEYS:
        raise InvalidRequestError(f"{where}: at most {MAX_FILTER_KEYS} entries", field=where)
    children: list[Node] = []
    for key, value in document.items():
        here = f"{where}.{key}"
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value or len(value) > MAX_FILTER_KEYS:
                raise InvalidRequestError(
                    f"{here} must be a list of 1-{MAX_FILTER_KEYS} filters", field=here
                )
            parts = tuple(
                _parse_object(item, f"{here}[{i}]", depth + 1, counter)
                for i, item in enumerate(value)
            )
            children.append(Logical(key, parts, here))
        elif key == "$not":
            inner = _parse_object(value, here, depth + 1, counter)
            children.append(Logical("$not", (inner,), here))
        elif key.startswith("$"):
            raise InvalidRequestError(
                f"{here}: unknown operator; combine filters with {', '.join(LOGICAL)}", field=here
            )
        else:
            children.extend(_parse_field(key, value, here, counter))
    return Logical("$and", tuple(children), where)


def _parse_path(key: str, where: str) -> tuple[str, ...]:
    if not key or len(key) > MAX_PATH_LENGTH:
        raise InvalidRequestError(
            f"{where}: a path is 1-{MAX_PATH_LENGTH} characters", field=where[:MAX_PATH_LENGTH]
        )
    segments = key.split(".")
    if segments[0] == "data" and len(segments) > 1:
        segments = segments[1:]
    if len(segments) > MAX_PATH_SEGMENTS or not all(segments):
        raise InvalidRequestError(
            f"{where}: a path is 1-{MAX_PATH_SEGMENTS} field names joined by dots, such as "
            "data.usage.totalTokens",
            field=where,
        )
    if segments == ["data"]:
        raise InvalidRequestError(
            f"{where}: name a field of the payload, such as data.fabricId", field=where
        )
    if segments[0] == "eventId":
        raise InvalidRequestError(
            f"{where}: every event has its own eventId, assigned when it is published; a "
            "filter on it would never match",
            field=where,
        )
    return tuple(segments)


def _parse_field(key: str, value: Any, where: str, counter: list[int]) -> list[Comparison]:
    path = _parse_path(key, where)
    if isinstance(value, list):
        # The original form. Its values are strings, numbers or booleans (no null), as before.
        _count(counter, where)
        values = _operand_list(value, where, allow_null=False)
        return [Comparison(path, "$in", tuple(values), where, original_form=True)]
    if not isinstance(value, dict) or not value:
        raise InvalidRequestError(
            f"{where} must be a non-empty list of values or an object of operators "
            f"({', '.join(COMPARISONS)})",
            field=where,
        )
    if len(value) > len(COMPARISONS):
        raise InvalidRequestError(f"{where}: too many operators", field=where)
    comparisons: list[Comparison] = []
    for op, operand in value.items():
        here = f"{where}.{op}"
        _count(counter, here)
        if op not in COMPARISONS:
            raise InvalidRequestError(
                f"{here}: unknown operator; use one of {', '.join(COMPARISONS)}",
                field=here if len(here) <= MAX_PATH_LENGTH + 20 else where,
            )
        comparisons.append(Comparison(path, op, _operand(op, operand, here), here))
    return comparisons


def _count(counter: list[int], where: str) -> None:
    counter[0] += 1
    if counter[0] > MAX_FILTER_CLAUSES:
        raise InvalidRequestError(
            f"filters: at most {MAX_FILTER_CLAUSES} comparisons in one filter", field=where
        )


def _operand(op: str, operand: Any, where: str) -> Any:
    if op in _LISTS:
        if not isinstance(operand, list):
            raise InvalidRequestError(f"{where} must be a non-empty list of values", field=where)
        return tuple(_operand_list(operand, where, allow_null=True))
    if op == "$exists":
        if not isinstance(operand, bool):
            raise InvalidRequestError(f"{where} must be true or false", field=where)
        return operand
    if op == "$prefix":
        if not isinstance(operand, str) or not operand:
            raise InvalidRequestError(f"{where} must be a non-empty string", field=where)
        return _scalar(operand, where, allow_null=False)
    if op in _ORDERED and (isinstance(operand, bool) or not isinstance(operand, str | int | float)):
        raise InvalidRequestError(f"{where} must be a number or a string", field=where)
    return _scalar(operand, where, allow_null=True)


def _operand_list(values: list[Any], where: str, *, allow_null: bool) -> list[Any]:
    if not values:
        raise InvalidRequestError(f"{where} must be a non-empty list of values", field=where)
    if len(values) > MAX_FILTER_VALUES:
        raise InvalidRequestError(f"{where} has more than {MAX_FILTER_VALUES} values", field=where)
    return [_scalar(v, f"{where}[{i}]", allow_null=allow_null) for i, v in enumerate(values)]


def _scalar(value: Any, where: str, *, allow_null: bool) -> Any:
    if value is None and allow_null:
        return None
    if value is None or not isinstance(value, str | int | float | bool):
        raise InvalidRequestError(
            f"{where}: values must be strings, numbers or booleans"
            + (" (or null)" if allow_null else ""),
            field=where,
        )
    if isinstance(value, str) and len(value) > MAX_OPERAND_LENGTH:
        raise InvalidRequestError(
            f"{where}: a string value is at most {MAX_OPERAND_LENGTH} characters", field=where
        )
    if isinstance(value, float) and value != value:  # NaN (not JSON, but be sure)
        raise InvalidRequestError(f"{where}: not a number", field=where)
    return value


# -- filters: checked against the subscribed events' JSON Schemas ----------------------------


def check_filter_fits(tree: Logical, events: Sequence[str], *, field: str | None = None) -> None:
    """A 400 for a filter that does not fit the subscribed event types' JSON Schemas:

    * a comparison every event must pass (directly under the top `$and`) on a path some
      subscribed type lacks would drop every event of that type;
    * a path no subscribed type has is unknown (the original form keeps its old rule: a
      top-level field no type declares is one the platform adds, and passes);
    * an operand of a type the field cannot hold (`$gt: "a"` on a number, `$prefix` on a
      number) can never match.

    `events`: the webhook's types and patterns (valid); `field`: where to point the error
    instead of the filter's own field (an update that changed only the events)."""
    names = covered_types(events)
    if not names:
        return  # no valid events to check against: their own error says so
    for comparison, required in _comparisons(tree, required=True):
        _check_comparison(comparison, required, names, field)


def _comparisons(node: Node, *, required: bool) -> Iterable[tuple[Comparison, bool]]:
    if isinstance(node, Comparison):
        yield node, required
        return
    for child in node.children:
        yield from _comparisons(child, required=required and node.op == "$and")


def _check_comparison(
    comparison: Comparison, required: bool, names: list[str], field: str | None
) -> None:
    where = field or comparison.field
    path = comparison.path
    shown = ".".join(path)
    if comparison.original_form and len(path) == 1 and path[0] not in declared_fields():
        return  # a field the platform adds to its payloads (the original form's rule)
    shapes = {name: field_types(name, path) for name in names}
    lacking = [name for name, types in shapes.items() if types is None]
    needs_field = comparison.op in _NEEDS_FIELD or comparison.operand is True
    if required and needs_field and lacking:
        carriers = sorted(t.name for t in EVENT_TYPES if field_types(t.name, path) is not None)
        if not carriers:
            raise InvalidRequestError(
                f"{comparison.field}: unknown path {shown!r}: no event type's JSON Schema has "
                "it (GET /v1/event-types lists their fields)",
                field=where,
            )
        verb = "has" if len(lacking) == 1 else "have"
        raise InvalidRequestError(
            f"{comparison.field}: {_names(lacking)} {verb} no {shown} (only {_names(carriers)} "
            f"{'does' if len(carriers) == 1 else 'do'}), so the filter would drop every one of "
            f"them: subscribe to {'it' if len(lacking) == 1 else 'them'} on another webhook, "
            "or remove the filter",
            field=where,
        )
    if len(lacking) == len(names):
        raise InvalidRequestError(
            f"{comparison.field}: unknown path {shown!r}: the JSON Schemas of "
            f"{_names(names)} have no such field (GET /v1/event-types lists their fields)",
            field=where,
        )
    wanted = _operand_types(comparison)
    for name, types in shapes.items():
        if types is None or types is OPEN or not wanted:
            continue
        if not wanted <= types:
            kinds = " or ".join(sorted(types))
            raise InvalidRequestError(
                f"{comparison.field}: {shown} is {_article(kinds)} in {name}, so "
                f"{_describe(comparison)} can never match",
                field=where,
            )


def _operand_types(comparison: Comparison) -> set[str]:
    """The JSON types the field must be able to hold for the comparison to ever match."""
    op, operand = comparison.op, comparison.operand
    if op == "$exists":
        return set()
    if op == "$prefix":
        return {"string"}
    values = operand if isinstance(operand, tuple) else (operand,)
    if op in ("$ne", "$nin"):
        return set()  # a value that is never equal is simply always different
    return {_json_type(v) for v in values}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def _describe(comparison: Comparison) -> str:
    operand = comparison.operand
    shown = list(operand) if isinstance(operand, tuple) else operand
    return f"{comparison.op} {orjson.dumps(shown).decode()}"


def _article(kinds: str) -> str:
    return f"an {kinds}" if kinds[0] in "aeiou" else f"a {kinds}"


def _names(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# -- filters: compiled -----------------------------------------------------------------------

_MISSING: Any = object()
Payload = dict[str, Any]
Test = Callable[[Payload], bool]


def _getter(path: tuple[str, ...]) -> Callable[[Payload], Any]:
    if len(path) == 1:
        (key,) = path

        def one(data: Payload) -> Any:
            return data.get(key, _MISSING)

        return one

    def many(data: Payload) -> Any:
        value: Any = data
        for key in path:
            if type(value) is not dict:
                return _MISSING
            value = value.get(key, _MISSING)
            if value is _MISSING:
                return _MISSING
        return value

    return many


def _key(value: Any) -> tuple[str, Any] | None:
    """A hashable key equal for equal JSON scalars, never for a boolean and a number."""
    kind = type(value)
    if kind is str:
        return ("s", value)
    if kind is bool:
        return ("b", value)
    if kind is int or kind is float:
        return ("n", value)
    if value is None:
        return ("z", None)
    return None  # an object or a list equals no operand


def _ordered(op: str, operand: Any) -> Callable[[Any], bool]:
    is_text = isinstance(operand, str)

    def comparable(value: Any) -> bool:
        if is_text:
            return type(value) is str
        return type(value) is int or type(value) is float

    if op == "$gt":
        return lambda v: comparable(v) and v > operand
    if op == "$gte":
        return lambda v: comparable(v) and v >= operand
    if op == "$lt":
        return lambda v: comparable(v) and v < operand
    return lambda v: comparable(v) and v <= operand


def _value_test(comparison: Comparison) -> Callable[[Any], bool]:
    """The comparison on a present value."""
    op, operand = comparison.op, comparison.operand
    if op in ("$eq", "$in", "$ne", "$nin"):
        keys = frozenset(_key(v) for v in (operand if isinstance(operand, tuple) else (operand,)))
        if op in ("$eq", "$in"):
            return lambda v: _key(v) in keys
        return lambda v: _key(v) not in keys
    if op == "$prefix":
        return lambda v: type(v) is str and v.startswith(operand)
    if op == "$exists":
        return lambda v: operand
    return _ordered(op, operand)


def _compile(node: Node) -> Test:
    if isinstance(node, Comparison):
        get = _getter(node.path)
        if node.op == "$exists":
            wanted = bool(node.operand)
            return lambda data: (get(data) is not _MISSING) is wanted
        test = _value_test(node)

        def compare(data: Payload) -> bool:
            value = get(data)
            return value is not _MISSING and test(value)

        return compare
    parts = [_compile(child) for child in node.children]
    if node.op == "$not":
        (inner,) = parts
        return lambda data: not inner(data)
    if node.op == "$or":
        return lambda data: any(part(data) for part in parts)
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda data: first(data) and second(data)
    return lambda data: all(part(data) for part in parts)


@dataclass(frozen=True, slots=True)
class FilterFailure:
    """The clause an event failed: its field in the filter, and why."""

    clause: str
    message: str


def _explain(node: Node, data: Payload) -> FilterFailure | None:
    if isinstance(node, Comparison):
        if _compile(node)(data):
            return None
        value = _getter(node.path)(data)
        shown = "data." + ".".join(node.path)
        if value is _MISSING:
            what = f"{shown} is missing"
        else:
            what = f"{shown} is {orjson.dumps(value).decode()[:200]}"
        return FilterFailure(node.field, f"{what}, so {_describe(node)} does not hold")
    if node.op == "$and":
        for child in node.children:
            failure = _explain(child, data)
            if failure is not None:
                return failure
        return None
    if node.op == "$not":
        if _compile(node.children[0])(data):
            return FilterFailure(node.field, "the filter under $not matches, so $not fails")
        return None
    failures = [_explain(child, data) for child in node.children]
    if all(failures):
        reasons = "; ".join(f.message for f in failures if f is not None)
        return FilterFailure(node.field, f"no branch of $or matches ({reasons})")
    return None


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    """A filter ready to evaluate: `test` is the fast path, `explain` says which clause failed.
    `anchor`: a path and the keys of values one of which the field must equal for the filter
    to match (an `$eq` or `$in` directly under the top `$and`), for RouteTable's index."""

    tree: Logical
    test: Test
    anchor: tuple[tuple[str, ...], frozenset[tuple[str, Any] | None]] | None

    def explain(self, data: Payload) -> FilterFailure | None:
        return _explain(self.tree, data)


def compile_filter(tree: Logical) -> CompiledFilter:
    return CompiledFilter(tree, _compile(tree), _anchor(tree))


def _anchor(tree: Logical) -> tuple[tuple[str, ...], frozenset[tuple[str, Any] | None]] | None:
    for child in tree.children:
        if isinstance(child, Logical):
            if child.op == "$and":
                found = _anchor(child)
                if found is not None:
                    return found
            continue
        if child.op in ("$eq", "$in"):
            values = child.operand if isinstance(child.operand, tuple) else (child.operand,)
            return child.path, frozenset(_key(v) for v in values)
    return None


# -- a webhook's route, and an account's table of them ---------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """A webhook's event selector and filter (None: every payload), compiled."""

    selector: EventSelector
    filter: CompiledFilter | None = None

    def matches(self, event: str, data: Payload) -> bool:
        return self.selector.covers(event) and (self.filter is None or self.filter.test(data))


@lru_cache(maxsize=ROUTE_CACHE_SIZE)
def route_of(events_json: str, filters_json: str | None) -> Route:
    """The route of a stored webhook (its events and filters columns, JSON text), compiled
    once per distinct pair in this process. Stored filters were checked when written."""
    selector = EventSelector.of(orjson.loads(events_json))
    if not filters_json:
        return Route(selector)
    document = orjson.loads(filters_json)
    if document is None:
        return Route(selector)
    return Route(selector, compile_filter(parse_filter(document)))


T = TypeVar("T")


@dataclass(slots=True)
class _Bucket(Generic[T]):
    """The routes of one event type: those to evaluate for every event, and those anchored on
    a field's value (evaluated only when the event's value is one of theirs)."""

    scan: list[tuple[int, T, CompiledFilter | None]] = field(default_factory=list)
    anchored: dict[tuple[str, ...], _Anchored[T]] = field(default_factory=dict)


@dataclass(slots=True)
class _Anchored(Generic[T]):
    """Routes anchored on one path: the path's reader, and the routes by value key."""

    read: Callable[[Payload], Any]
    by_value: dict[tuple[str, Any] | None, list[tuple[int, T, CompiledFilter]]] = field(
        default_factory=dict
    )


class RouteTable(Generic[T]):
    """An account's targets indexed by event type (patterns resolved per type on first use,
    so a type added later is routed by existing patterns) and by the anchor values of their
    filters: `match` evaluates only the targets that can match. Built once per fan-out load;
    the result keeps the targets' order."""

    def __init__(self, entries: Sequence[tuple[T, Route]]) -> None:
        self._entries = list(entries)
        self._buckets: dict[str, _Bucket[T]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _bucket(self, event: str) -> _Bucket[T]:
        bucket: _Bucket[T] = _Bucket()
        for order, (target, route) in enumerate(self._entries):
            if not route.selector.covers(event):
                continue
            compiled = route.filter
            if compiled is None or compiled.anchor is None:
                bucket.scan.append((order, target, compiled))
                continue
            path, keys = compiled.anchor
            anchored = bucket.anchored.get(path)
            if anchored is None:
                anchored = bucket.anchored[path] = _Anchored(_getter(path))
            for key in keys:
                anchored.by_value.setdefault(key, []).append((order, target, compiled))
        if len(self._buckets) < 1000:  # event names are validated, but stay bounded
            self._buckets[event] = bucket
        return bucket

    def match(self, event: str, data: Payload) -> list[T]:
        bucket = self._buckets.get(event)
        if bucket is None:
            bucket = self._bucket(event)
        found = [
            (order, target)
            for order, target, compiled in bucket.scan
            if compiled is None or compiled.test(data)
        ]
        if not bucket.anchored:
            return [target for _, target in found]
        for anchored in bucket.anchored.values():
            value = anchored.read(data)
            if value is _MISSING:
                continue
            for order, target, compiled in anchored.by_value.get(_key(value), ()):
                if compiled.test(data):
                    found.append((order, target))
        found.sort(key=lambda pair: pair[0])
        return [target for _, target in found]
