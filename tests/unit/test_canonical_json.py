"""Canonical JSON: known cases, error cases, and cross-checks against V8 (via mini_racer)."""

from __future__ import annotations

import enum
import json
import math
import random
import struct
from collections import OrderedDict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptha_webhooks.canonical_json import (
    MAX_NESTING_DEPTH,
    MAX_SAFE_INTEGER,
    CanonicalJSONError,
    dumps,
    format_number,
    loads,
    loads_input,
    loads_stored,
    shows_whole,
)
from promptha_webhooks.canonical_json import _dumps as _dumps
from promptha_webhooks.canonical_json import _number_text_from_repr as _number_text_from_repr
from promptha_webhooks.canonical_json import _strict_loads as _strict_loads

# -- strategies ------------------------------------------------------------------------------

# Any code point incl. lone surrogates, plus the characters JSON.stringify treats specially.
_CHARS = st.one_of(
    st.characters(exclude_categories=()),
    st.characters(categories=["Cs"]),
    st.sampled_from('"\\/\x00\x01\x1f\x7f\x80\u2028\u2029\ufeff\b\f\n\r\t\U0001f600'),
)
TEXT = st.text(alphabet=_CHARS, max_size=20)
WELL_FORMED_TEXT = st.text(max_size=20)  # no surrogates: hypothesis' default alphabet
SAFE_INTS = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
# Keys that exercise JavaScript's "array index first" property order.
KEYS = st.one_of(
    TEXT,
    st.integers(min_value=0, max_value=2**32 + 5).map(str),
    st.integers(min_value=0, max_value=30).map(str),
    st.from_regex(r"-?[0-9]{1,11}(\.0)?", fullmatch=True),
    st.sampled_from(
        ["", "0", "00", "01", "-0", "-1", "1.0", "4294967294", "4294967295", "__proto__"]
    ),
)


def json_values(text: st.SearchStrategy[str], floats: st.SearchStrategy[float]) -> Any:
    scalars = st.none() | st.booleans() | SAFE_INTS | floats | text
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=6) | st.dictionaries(KEYS, children, max_size=6)
        ),
        max_leaves=25,
    )


def _loads_safe_float(x: float) -> bool:
    """dumps writes integral floats in [2^53, 1e21) as integer literals, which loads rejects."""
    return not (x.is_integer() and 2.0**53 <= abs(x) < 1e21)


VALUES = json_values(TEXT, FLOATS)
ROUND_TRIP_VALUES = json_values(TEXT, FLOATS.filter(_loads_safe_float))


def _json_equal(a: Any, b: Any) -> bool:
    """Equality that also compares dict key order (as JSON text does)."""
    if isinstance(a, dict):
        return (
            isinstance(b, dict) and list(a) == list(b) and all(_json_equal(a[k], b[k]) for k in a)
        )
    if isinstance(a, list | tuple):
        return (
            isinstance(b, list)
            and len(a) == len(b)
            and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, float) or isinstance(b, float):
        return not isinstance(a, bool) and not isinstance(b, bool) and a == b
    return type(a) is type(b) and a == b


# -- V8 --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def v8() -> Iterator[Any]:
    mini_racer = pytest.importorskip("py_mini_racer")
    with mini_racer.MiniRacer() as ctx:
        yield ctx


def js_literal(text: str) -> str:
    """A JavaScript string literal for any Python str (ASCII-only, lone surrogates escaped)."""
    return json.dumps(text, ensure_ascii=True)


def v8_restringify(v8: Any, body: str) -> str:
    result = v8.eval(f"JSON.stringify(JSON.parse({js_literal(body)}))")
    assert isinstance(result, str)
    return result


# -- known cases -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-17, "-17"),
        (MAX_SAFE_INTEGER, "9007199254740991"),
        (-MAX_SAFE_INTEGER, "-9007199254740991"),
        (1.0, "1"),
        (-0.0, "0"),
        (0.5, "0.5"),
        (-2.5, "-2.5"),
        (0.1, "0.1"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (0.0000015, "0.0000015"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e21, "1.5e+21"),
        (123456789012345680000.0, "123456789012345680000"),
        (2.0**53, "9007199254740992"),
        (1e16, "10000000000000000"),
        (123.456, "123.456"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (-1.5e300, "-1.5e+300"),
        ("", '""'),
        ("plain", '"plain"'),
        ('q"b\\s/', '"q\\"b\\\\s/"'),
        ("\b\f\n\r\t", '"\\b\\f\\n\\r\\t"'),
        ("\x00\x01\x1f", '"\\u0000\\u0001\\u001f"'),
        ("\x7f\x80\u2028\u2029", '"\x7f\x80\u2028\u2029"'),
        ("héllo 世界 \U0001f600", '"héllo 世界 \U0001f600"'),
        ("\ud800", '"\\ud800"'),
        ("a\udfffb", '"a\\udfffb"'),
        ("\udc00\ud800", '"\\udc00\\ud800"'),
        ("\ud83d\ude00", '"\U0001f600"'),  # a surrogate pair held as two code points
        ("\ud83d\ud83d\ude00", '"\\ud83d\U0001f600"'),
        ([], "[]"),
        ((), "[]"),
        ({}, "{}"),
        ([1, [2, [3]], {"a": None}], '[1,[2,[3]],{"a":null}]'),
        ((1, "a"), '[1,"a"]'),
        ({"b": 1, "a": 2}, '{"b":1,"a":2}'),
        (
            {"b": 1, "10": 2, "2": 3, "a": 4, "01": 5, "-1": 6, "1.0": 7, "0": 8},
            '{"0":8,"2":3,"10":2,"b":1,"a":4,"01":5,"-1":6,"1.0":7}',
        ),
        (
            {"4294967295": 1, "x": 2, "4294967294": 3, "99999999999": 4},
            '{"4294967294":3,"4294967295":1,"x":2,"99999999999":4}',
        ),
        ({"\ud800": "k", "é": "\n"}, '{"\\ud800":"k","é":"\\n"}'),
    ],
)
def test_known_dumps(value: object, expected: str) -> None:
    assert dumps(value) == expected.encode("utf-8", "surrogatepass")


def test_dumps_returns_utf8_bytes() -> None:
    out = dumps({"k": "é\U0001f600"})
    assert isinstance(out, bytes)
    assert out == b'{"k":"\xc3\xa9\xf0\x9f\x98\x80"}'


def test_subclasses_are_written_as_their_base_value() -> None:
    class Color(enum.StrEnum):
        RED = "red"

    class Level(enum.IntEnum):
        HIGH = 3

    class Ratio(float):
        pass

    class Items(list[Any]):
        pass

    point = NamedTuple("Point", [("x", int), ("y", int)])(1, 2)
    ordered = OrderedDict([("z", 1), ("1", 2)])
    value = {
        Color.RED: [Color.RED, Level.HIGH, Ratio(2.5), Ratio(3.0)],
        "o": ordered,
        "l": Items([point, Items()]),
        "e": {"k": Level.HIGH, "s": Color.RED},
    }
    assert dumps(value) == (
        b'{"red":["red",3,2.5,3],"o":{"1":2,"z":1},"l":[[1,2],[]],"e":{"k":3,"s":"red"}}'
    )


def test_shared_references_are_not_cycles() -> None:
    shared = [1]
    assert dumps({"a": shared, "b": shared, "c": [shared, shared]}) == (
        b'{"a":[1],"b":[1],"c":[[1],[1]]}'
    )


def test_duplicate_keys_keep_first_position_and_last_value() -> None:
    parsed = loads('{"a":1,"b":2,"a":3,"2":4,"2":5}')
    assert dumps(parsed) == b'{"2":5,"a":3,"b":2}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("null", None),
        ("true", True),
        (' [1, -0, 1.0, 1E2, -1.5e-3, "\\u00e9"] ', [1, 0, 1.0, 100.0, -0.0015, "é"]),
        ('{"a":{"b":[]}}', {"a": {"b": []}}),
        ('"\\ud800"', "\ud800"),
        ('"\\ud83d\\ude00"', "\U0001f600"),
        ("9007199254740991", MAX_SAFE_INTEGER),
        ("-9007199254740991", -MAX_SAFE_INTEGER),
        ("1e-400", 0.0),
        ("1.7976931348623157e308", 1.7976931348623157e308),
    ],
)
def test_known_loads(text: str, expected: object) -> None:
    assert _json_equal(loads(text), expected)
    assert _json_equal(loads(text.encode("utf-8")), expected)


def test_loads_accepts_bytes_like() -> None:
    assert loads(bytearray(b"[1]")) == [1]
    assert loads(memoryview(b'{"a":2}')) == {"a": 2}


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "path", "fragment"),
    [
        (math.nan, "$", "not a finite number"),
        (math.inf, "$", "not a finite number"),
        (-math.inf, "$", "not a finite number"),
        (MAX_SAFE_INTEGER + 1, "$", "outside ±(2^53-1)"),
        (-MAX_SAFE_INTEGER - 1, "$", "outside ±(2^53-1)"),
        (10**400, "$", "chars)"),
        ({1: "a"}, "$", "keys must be str, got int"),
        ({None: "a"}, "$", "keys must be str, got NoneType"),
        ({("a",): 1}, "$", "keys must be str, got tuple"),
        ({1, 2}, "$", "builtins.set"),
        (b"bytes", "$", "builtins.bytes"),
        (Decimal("1.5"), "$", "decimal.Decimal"),
        (object(), "$", "builtins.object"),
        ({"data": {"items": [0, 1, 2, {"x": math.nan}]}}, "data.items[3].x", "finite"),
        ([0, [1, {"y": 2**60}]], "[1][1].y", "outside"),
        ({"a b": {"": [{"ok": 1, "é": {3: 4}}]}}, '["a b"][""][0]["é"]', "keys must be str"),
        ({"$ok_1": [None, set()]}, "$ok_1[1]", "set"),
        ({"a": {"x": 1, "7": [math.inf]}}, 'a["7"][0]', "finite"),
    ],
)
def test_dumps_errors(value: object, path: str, fragment: str) -> None:
    with pytest.raises(CanonicalJSONError) as info:
        dumps(value)
    assert info.value.path == path
    assert fragment in str(info.value)
    assert str(info.value).endswith(f"(at {info.value.path})")
    assert isinstance(info.value, ValueError)


def test_dumps_rejects_cycles() -> None:
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    with pytest.raises(CanonicalJSONError, match="circular") as info:
        dumps(cyclic)
    assert info.value.path == "[1]"

    node: dict[str, Any] = {}
    node["self"] = {"again": node}
    with pytest.raises(CanonicalJSONError, match="circular") as info:
        dumps({"root": node})
    assert info.value.path == "root.self.again"


def test_dumps_rejects_excessive_nesting() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(CanonicalJSONError, match="nested too deeply"):
        dumps(deep)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\xff", "not valid UTF-8: byte 0xff at offset 0"),
        (b'{"a":"\xc3"}', "not valid UTF-8: byte 0xc3 at offset 6"),
        (b'"\xed\xa0\x80"', "not valid UTF-8"),  # an encoded surrogate is not UTF-8
        (b"\xef\xbb\xbf[]", "BOM"),
        ("", "invalid JSON: Expecting value at line 1 column 1"),
        ("[1,", "invalid JSON"),
        ('{"a":1,}', "line 1 column 8"),
        ("[1]\n[2]", "Extra data at line 2 column 1"),
        ("{'a':1}", "invalid JSON"),
        ('"\t"', "Invalid control character"),
        ("[01]", "invalid JSON"),
        ("[.5]", "invalid JSON"),
        ("[+1]", "invalid JSON"),
        ("[0x10]", "invalid JSON"),
        ("NaN", "NaN is not valid JSON"),
        ("[Infinity]", "Infinity is not valid JSON"),
        ('{"a":-Infinity}', "-Infinity is not valid JSON"),
        ("9007199254740992", "integer 9007199254740992 is outside"),
        ("[-9007199254740992]", "outside ±(2^53-1)"),
        ("1" * 5000, "(5000 chars)"),
        ("100000000000000000000", "outside"),  # what dumps(1e20) writes: see test below
        ("1e400", "number 1e400 overflows"),
        ("[-1.8e308]", "overflows"),
        ("[" * 100_000, "nested too deeply"),
    ],
)
def test_loads_errors(data: bytes | str, fragment: str) -> None:
    with pytest.raises(CanonicalJSONError) as info:
        loads(data)
    assert fragment in str(info.value)
    assert info.value.path == "$"


def test_loads_rejects_non_text() -> None:
    with pytest.raises(CanonicalJSONError, match="expected bytes or str, got int"):
        loads(42)  # type: ignore[arg-type]


def test_large_integral_floats_are_dumped_as_integers_that_loads_rejects() -> None:
    # Documented asymmetry: JSON.stringify writes 1e20 as a 21-digit integer literal, and loads
    # rejects integer literals beyond ±(2^53-1) (a JS receiver would parse it back exactly).
    body = dumps({"n": 1e20})
    assert body == b'{"n":100000000000000000000}'
    with pytest.raises(CanonicalJSONError, match="outside"):
        loads(body)


# -- format_number ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (-5, "-5"),
        (MAX_SAFE_INTEGER, "9007199254740991"),
        (0.0, "0"),
        (-0.0, "0"),
        (1e21, "1e+21"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (-1e-7, "-1e-7"),
        (1.2345e-5, "0.000012345"),
        (123e18, "123000000000000000000"),
        (1.25e25, "1.25e+25"),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
    ],
)
def test_format_number(value: int | float, expected: str) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize("value", [True, False, 2**53, -(2**53), "1", None, Decimal(1)])
def test_format_number_rejects(value: Any) -> None:
    with pytest.raises(CanonicalJSONError):
        format_number(value)


@settings(max_examples=300)
@given(FLOATS)
def test_general_layout_agrees_with_fixed_notation_fast_path(value: float) -> None:
    # format_number takes a shortcut when repr() is in fixed notation; the general ECMA-262
    # layout must give the same text for those values too.
    assert _number_text_from_repr(float.__repr__(value)) == format_number(value)


def test_format_number_float_subclass() -> None:
    class Money(float):
        pass

    assert format_number(Money(0.25)) == "0.25"


# -- properties ------------------------------------------------------------------------------


# Documents near every edge the two parsers draw differently: unsafe integers (also past 2^64,
# which orjson reads as a float), large floats, lone surrogates, control characters, BOM.
EDGE_DOCUMENTS = st.one_of(
    st.builds(
        lambda value, indent: json.dumps(value, indent=indent, ensure_ascii=False),
        json_values(TEXT, FLOATS),
        st.none() | st.just(1),
    ),
    st.builds(
        lambda n: f'{{"x":[{n}]}}',
        st.integers(min_value=-(2**70), max_value=2**70)
        | st.sampled_from([2**53 - 1, 2**53, -(2**53), 2**64, 2**64 - 1, -(2**63) - 1]),
    ),
    st.builds(lambda f: f"[{f!r}]", FLOATS),
    st.sampled_from(['"\\udc00"', '["\\ud800x"]', '"\t"', "\ufeff[]", "[1e400]", "[-0]"]),
)


@settings(max_examples=500)
@given(EDGE_DOCUMENTS, st.booleans())
def test_loads_answers_as_the_strict_parser(text: str, as_bytes: bool) -> None:
    """loads tries orjson first; whatever it returns or raises is what the strict parser alone
    would (same value, same key order, same error)."""
    data: str | bytes = text.encode("utf-8", "surrogatepass") if as_bytes else text
    try:
        expected: Any = _strict_loads(data)
    except CanonicalJSONError as exc:
        with pytest.raises(CanonicalJSONError) as info:
            loads(data)
        assert str(info.value) == str(exc)
        return
    parsed = loads(data)
    assert _json_equal(parsed, expected)
    assert dumps(parsed) == dumps(expected)


def _normalise(value: Any) -> Any:
    """Value as JSON sees it: tuples are lists, surrogate pairs joined, dict order ignored."""
    if isinstance(value, dict):
        return {_normalise(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, str):
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return value


@settings(max_examples=300)
@given(ROUND_TRIP_VALUES)
def test_round_trip(value: Any) -> None:
    body = dumps(value)
    parsed = loads(body)
    assert dumps(parsed) == body  # idempotent
    # Same value (key order aside, which dumps canonicalises); 1.0 == 1 and -0.0 == 0.
    assert _normalise(parsed) == _normalise(value)
    # Python's own parser reads our output to the same value too.
    assert _normalise(json.loads(body)) == _normalise(value)


# Values without floats, often with big integers, digit keys, surrogates and deep nesting:
# the ones dumps writes through orjson, and those next to its limits.
PLAIN_VALUES = st.recursive(
    st.none() | st.booleans() | SAFE_INTS | st.integers(min_value=-(2**64), max_value=2**64) | TEXT,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=25,
)


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PLAIN_VALUES | VALUES)
def test_dumps_answers_as_the_encoder(value: Any) -> None:
    """dumps writes plain values with orjson; whatever it returns or raises is what the
    JSON.stringify encoder alone would (same bytes, same error and path)."""
    try:
        expected: bytes | tuple[str, str] = _dumps(value)
    except CanonicalJSONError as exc:
        expected = (exc.reason, exc.path)
    try:
        got: bytes | tuple[str, str] = dumps(value)
    except CanonicalJSONError as exc:
        got = (exc.reason, exc.path)
    assert got == expected


@pytest.mark.parametrize("depth", [253, 254, 255, 300])
def test_deep_nesting_answers_as_the_encoder(depth: int) -> None:
    assert dumps(_deep(depth)) == _dumps(_deep(depth))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES)
def test_matches_v8_json_stringify(v8: Any, value: Any) -> None:
    ours = dumps(value).decode("utf-8")
    # Independent input text (stdlib json, insertion order, ASCII escapes) parsed by V8 ...
    assert v8_restringify(v8, json.dumps(value)) == ours
    # ... and the wire contract itself: V8 re-serialises our body to exactly the same text.
    assert v8_restringify(v8, ours) == ours


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, st.integers(0, 9), max_size=12))
def test_key_order_matches_v8(v8: Any, value: dict[str, int]) -> None:
    assert v8_restringify(v8, json.dumps(value)) == dumps(value).decode("utf-8")


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53) + 1, 2**53 - 1))
def test_format_number_matches_v8(v8: Any, value: float | int) -> None:
    literal = float.__repr__(value) if isinstance(value, float) else str(value)
    assert v8.eval(f"String({literal})") == format_number(value)


def test_format_number_matches_v8_on_random_bit_patterns(v8: Any) -> None:
    rng = random.Random(20240601)
    values: list[float] = []
    while len(values) < 20_000:
        (x,) = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))
        if math.isfinite(x):
            values.append(x)
    # Decades around every formatting threshold, and integers near 2^53.
    for exponent in range(-330, 310):
        for mantissa in (1.0, 1.5, 9.999999999999999, 1.2345678901234567):
            candidate = float(f"{mantissa}e{exponent}")
            if math.isfinite(candidate):
                values.append(candidate)
    values += [float(2**53 + d) for d in range(-3, 4)] + [5e-324, 2.2250738585072014e-308]
    values += [-v for v in values[-20:]]
    source = ",".join(float.__repr__(v) for v in values)
    result = v8.eval(f"[{source}].map(String).join(' ')")
    assert isinstance(result, str)
    expected = result.split(" ")
    mismatches = [
        (v, e, format_number(v))
        for v, e in zip(values, expected, strict=True)
        if format_number(v) != e
    ]
    assert mismatches == []


def test_known_cases_match_v8(v8: Any) -> None:
    samples: list[Any] = [
        {"b": 1, "10": 2, "2": 3, "a": 4, "01": 5, "-1": 6, "1.0": 7, "0": 8},
        {"4294967295": 1, "x": 2, "4294967294": 3, "__proto__": {"k": [1e21, 1e-7, -0.0]}},
        ["\ud800", "\ud83d\ude00", "\x7f\u2028\u2029", '\x00\x1f\b\f\n\r\t"\\/'],
        [5e-324, 1.7976931348623157e308, 123456789012345680000.0, 0.000001, 1.5e-7],
    ]
    for sample in samples:
        assert v8_restringify(v8, json.dumps(sample)) == dumps(sample).decode("utf-8")


# -- what a client may send (loads_input) and how stored documents read back (loads_stored) ----


def _nested(depth: int, leaf: str = "1") -> str:
    """`depth` levels of arrays around `leaf`: [[…[leaf]…]]."""
    return "[" * depth + leaf + "]" * depth


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


@pytest.mark.parametrize(
    ("text", "path", "fragment"),
    [
        ('{"data": {"executionId": "e\\ud800"}}', "data.executionId", "lone surrogate \\ud800"),
        ('{"data": {"items": [1, {"k": "\\udfff"}]}}', "data.items[1].k", "\\udfff"),
        ('{"filters": {"fabricId": ["a", "\\udc00b"]}}', "filters.fabricId[1]", "\\udc00"),
        ('{"a\\ud800": 1}', '["a\\ud800"]', "lone surrogate"),  # the key itself
        ('"\\ud800"', "$", "lone surrogate"),
        ('{"\\ud83d\\ude00": "\\ud83d\\ude00x", "ok": 1, "x": "\\ude00"}', "x", "\\ude00"),
        (
            '{"a": ' + _nested(MAX_NESTING_DEPTH) + "}",
            "a" + "[0]" * (MAX_NESTING_DEPTH - 1),
            f"deeper than {MAX_NESTING_DEPTH}",
        ),
        (_nested(MAX_NESTING_DEPTH + 1), "[0]" * MAX_NESTING_DEPTH, "nested deeper"),
    ],
)
def test_loads_input_refuses_lone_surrogates_and_deep_nesting_naming_where(
    text: str, path: str, fragment: str
) -> None:
    assert loads(text) is not None  # the plain parser takes it: only loads_input refuses
    with pytest.raises(CanonicalJSONError) as caught:
        loads_input(text)
    assert caught.value.path == path
    assert fragment in caught.value.reason


def test_loads_input_takes_surrogate_pairs_and_the_deepest_allowed_nesting() -> None:
    assert loads_input('{"s": "\\ud83d\\ude00"}') == {"s": "\U0001f600"}
    deepest = _nested(MAX_NESTING_DEPTH)
    assert loads_input(deepest) == loads(deepest)
    assert loads_input(deepest.encode()) == loads(deepest)


@pytest.mark.parametrize(
    "text",
    [b'{"x": NaN}', b'{"x": 9007199254740993}', b'{"x": 1e400}', b'{"x": "\xff"}', b"{", b""],
)
def test_loads_input_refuses_what_loads_refuses(text: bytes) -> None:
    with pytest.raises(CanonicalJSONError) as plain:
        loads(text)
    with pytest.raises(CanonicalJSONError) as strict:
        loads_input(text)
    assert strict.value.reason == plain.value.reason


@given(ROUND_TRIP_VALUES)
def test_loads_input_is_loads_without_lone_surrogates(value: Any) -> None:
    """Any document dumps writes: loads_input gives loads' value, or refuses it exactly when
    that value holds a lone surrogate (these values are shallower than the limit)."""
    body = dumps(value)
    parsed = loads(body)
    if _has_lone_surrogate(parsed):
        with pytest.raises(CanonicalJSONError, match="lone surrogate"):
            loads_input(body)
        assert not shows_whole(parsed)
    else:
        assert _json_equal(loads_input(body), parsed)
        assert shows_whole(parsed)


def test_loads_stored_reads_what_older_versions_stored() -> None:
    big = 123456789012345678901234567890
    stored = (
        '{"event":"x","data":{"s":"a\\ud800b","\\udc00":1,"n":'
        + str(big)
        + ',"d":'
        + _nested(300)
        + "}}"
    )
    with pytest.raises(CanonicalJSONError):
        loads_input(stored)
    value = loads_stored(stored)
    data = value["data"]
    assert data["s"] == "a\ufffdb" and data["\ufffd"] == 1 and data["n"] == big
    deep = data["d"]
    levels = 0
    while isinstance(deep, list):
        deep, levels = deep[0], levels + 1
    # root → data → d → …: containers past MAX_NESTING_DEPTH are kept as their JSON text
    assert levels == MAX_NESTING_DEPTH - 2
    assert deep == _nested(300 - levels)
    assert shows_whole(value)
    assert json.loads(json.dumps(value)) == value  # renders as JSON, whole


@given(VALUES)
def test_loads_stored_shows_every_stored_document_whole(value: Any) -> None:
    shown = loads_stored(dumps(value))
    assert shows_whole(shown)
    assert not _has_lone_surrogate(shown)
    assert json.dumps(shown, ensure_ascii=False).encode("utf-8")  # no lone surrogate left


def test_loads_stored_refuses_only_what_is_not_json() -> None:
    with pytest.raises(CanonicalJSONError):
        loads_stored("not json")
    assert loads_stored(_nested(900)) is not None  # any depth the parser reads
