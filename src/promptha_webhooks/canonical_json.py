"""Canonical JSON: bytes identical to JavaScript's ``JSON.stringify(JSON.parse(body))``.

Receivers that re-serialise a parsed body (e.g. Express ``JSON.stringify(req.body)``) can verify us.
"""

from __future__ import annotations

import enum
import json
import math
import re
from json.encoder import encode_basestring  # C-accelerated; escapes exactly like JSON.stringify
from typing import Any, NoReturn

import orjson

__all__ = [
    "MAX_NESTING_DEPTH",
    "MAX_SAFE_INTEGER",
    "CanonicalJSONError",
    "dumps",
    "format_number",
    "loads",
    "loads_input",
    "loads_stored",
    "shows_whole",
]

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer that a JavaScript Number holds exactly (``Number.MAX_SAFE_INTEGER``)."""

_TWO_53 = float(2**53)

MAX_NESTING_DEPTH = 64
"""Deepest nesting of objects and arrays a client may send (``loads_input``), and the depth
beyond which ``loads_stored`` keeps a stored container as its JSON text. The root object is
level 1. (System.Text.Json's default; every API answer that embeds a payload stays well
within the 255 levels its serialiser handles.)"""

_MAX_ARRAY_INDEX = 2**32 - 2
_MAX_SAFE_INTEGER_DIGITS = len(str(MAX_SAFE_INTEGER))  # 16

# Keys that JavaScript treats as array indices: canonical decimal, no sign, no leading zeros.
_ARRAY_INDEX_RE = re.compile(r"(?:0|[1-9][0-9]{0,9})\Z")
_IDENTIFIER_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")


class CanonicalJSONError(ValueError):
    """A value cannot be encoded (or a document decoded) as canonical JSON.

    ``path`` locates the offending value, e.g. ``"data.items[3].x"``; ``"$"`` is the root.
    """

    def __init__(self, reason: str, path: str = "$") -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{reason} (at {path})")


class _EncodeError(Exception):
    """Internal: carries the reason and the path segments, collected while unwinding."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.segments: list[str | int] = []


def _format_path(segments: list[str | int]) -> str:
    if not segments:
        return "$"
    out: list[str] = []
    for seg in reversed(segments):  # collected innermost first
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        elif _IDENTIFIER_RE.match(seg):
            out.append(f".{seg}" if out else seg)
        else:
            out.append(f"[{_escape_lone_surrogates(encode_basestring(seg))}]")
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Numbers


def _format_finite_float(value: float) -> str:
    """ECMA-262 Number::toString(x) (radix 10) for a finite float."""
    text = float.__repr__(value)  # shortest round-trip digits, closest to the true value
    if "e" not in text:
        # repr uses fixed notation for 1e-4 <= |x| < 1e16, where JavaScript does too, with the
        # same digits; only integral values differ ("5.0" vs "5"), and -0.0 is "0".
        if text.endswith(".0"):
            return text[:-2] if value else "0"
        return text
    return _number_text_from_repr(text)


def _number_text_from_repr(text: str) -> str:
    """ECMA-262 Number::toString's digit layout, applied to a float's shortest repr."""
    sign = ""
    if text[0] == "-":
        sign = "-"
        text = text[1:]
    mantissa, _, exp_text = text.partition("e")
    exponent = int(exp_text) if exp_text else 0
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    # value = 0.<digits> * 10**point, where point counts the integer digits
    point = len(int_part) + exponent
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    if not digits:  # +0 and -0
        return "0"
    k = len(digits)
    n = point
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        exp_sign = "+" if e >= 0 else "-"
        lead = digits[0] if k == 1 else f"{digits[0]}.{digits[1:]}"
        body = f"{lead}e{exp_sign}{abs(e)}"
    return sign + body


def format_number(value: int | float) -> str:
    """Return ECMAScript ``Number::toString(value)``, i.e. what ``String(x)`` gives in JavaScript.

    ``NaN`` and the infinities give ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` as in JavaScript
    (``dumps`` rejects them instead). Integers must be within ±MAX_SAFE_INTEGER.
    """
    if isinstance(value, bool):
        raise CanonicalJSONError(f"expected a number, got bool {value!r}")
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return int.__repr__(int(value))
        raise CanonicalJSONError(_int_range_reason(value))
    if isinstance(value, float):
        value = float(value)
        if math.isfinite(value):
            return _format_finite_float(value)
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    raise CanonicalJSONError(f"expected int or float, got {type(value).__name__}")


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…({len(text)} chars)"


def _int_range_reason(value: int | str) -> str:
    literal = _short(value) if isinstance(value, str) else _short(int.__repr__(int(value)))
    return f"integer {literal} is outside ±(2^53-1) and cannot be represented in JSON.stringify"


# ---------------------------------------------------------------------------------------------
# Encoding


_DIGITS = frozenset("0123456789")
# '"key":' for keys seen before (and not array indices): keys repeat a lot across objects.
_KEY_PREFIX_CACHE: dict[str, str] = {}
_KEY_PREFIX_CACHE_MAX_ENTRIES = 4096
_KEY_PREFIX_CACHE_MAX_LEN = 64


def _is_array_index(key: str) -> bool:
    return (
        key[:1] in _DIGITS
        and _ARRAY_INDEX_RE.match(key) is not None
        and int(key) <= _MAX_ARRAY_INDEX
    )


def _key_prefix(key: object) -> str | None:
    """Return '"key":' for a str key that is not an array index, None for an array index."""
    if not isinstance(key, str):
        raise _EncodeError(
            f"object keys must be str, got {type(key).__name__} key {_short(repr(key))}"
        )
    if _is_array_index(key):
        return None
    prefix = encode_basestring(key) + ":"
    if (
        type(key) is str
        and len(key) <= _KEY_PREFIX_CACHE_MAX_LEN
        and len(_KEY_PREFIX_CACHE) < _KEY_PREFIX_CACHE_MAX_ENTRIES
    ):
        _KEY_PREFIX_CACHE[key] = prefix
    return prefix


def _encode(value: object, parts: list[str], active: set[int]) -> None:
    cls = type(value)
    if cls is str:
        parts.append(encode_basestring(value))  # type: ignore[arg-type]
    elif cls is dict:
        _encode_dict(value, parts, active)  # type: ignore[arg-type]
    elif cls is list or cls is tuple:
        _encode_list(value, parts, active)  # type: ignore[arg-type]
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    # isinstance also admits subclasses (StrEnum, IntEnum, OrderedDict, ...); they are written
    # by their underlying str/int/float/dict/list value.
    elif isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            parts.append(int.__repr__(value))
        else:
            raise _EncodeError(_int_range_reason(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _EncodeError(
                f"{float.__repr__(value)} is not a finite number; JSON.stringify would write null"
            )
        parts.append(_format_finite_float(value))
    elif isinstance(value, str):
        parts.append(encode_basestring(value))
    elif isinstance(value, dict):
        _encode_dict(value, parts, active)
    elif isinstance(value, list | tuple):
        _encode_list(value, parts, active)
    else:
        raise _EncodeError(
            f"values of type {cls.__module__}.{cls.__qualname__} are not JSON-serialisable"
        )


def _encode_dict(value: dict[Any, Any], parts: list[str], active: set[int]) -> None:
    if not value:
        parts.append("{}")
        return
    marker = id(value)
    if marker in active:
        raise _EncodeError("circular reference")
    active.add(marker)
    append = parts.append
    append("{")
    start = len(parts)
    cached_prefix = _KEY_PREFIX_CACHE.get
    # Members with array-index keys are written aside: JavaScript orders them first, ascending.
    index_members: list[tuple[int, list[str]]] = []
    for key, item in value.items():
        prefix = cached_prefix(key) if type(key) is str else None
        if prefix is None:
            prefix = _key_prefix(key)
            if prefix is None:
                member = [f'"{key}":']  # array indices are plain digits
                try:
                    _encode(item, member, active)
                except _EncodeError as exc:
                    exc.segments.append(str.__str__(key))
                    raise
                member.append(",")
                index_members.append((int(key), member))
                continue
        append(prefix)
        cls = type(item)
        try:
            if cls is str:
                append(encode_basestring(item))
            elif cls is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                append(int.__repr__(item))
            else:
                _encode(item, parts, active)
        except _EncodeError as exc:
            exc.segments.append(str.__str__(key))
            raise
        append(",")
    if index_members:
        index_members.sort(key=_first)
        parts[start:start] = [text for _, member in index_members for text in member]
    parts[-1] = "}"  # replaces the trailing ","
    active.discard(marker)


def _first(pair: tuple[int, list[str]]) -> int:
    return pair[0]


def _encode_list(value: list[Any] | tuple[Any, ...], parts: list[str], active: set[int]) -> None:
    if not value:
        parts.append("[]")
        return
    marker = id(value)
    if marker in active:
        raise _EncodeError("circular reference")
    active.add(marker)
    append = parts.append
    append("[")
    for index, item in enumerate(value):
        cls = type(item)
        try:
            if cls is str:
                append(encode_basestring(item))
            elif cls is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                append(int.__repr__(item))
            else:
                _encode(item, parts, active)
        except _EncodeError as exc:
            exc.segments.append(index)
            raise
        append(",")
    parts[-1] = "]"  # replaces the trailing ","
    active.discard(marker)


def _escape_surrogates(text: str) -> str:
    """Join surrogate pairs into code points and escape lone surrogates as JSON.stringify does.

    A Python str may hold a high+low surrogate pair as two code points; in JavaScript that is one
    character (written raw), so pairs are combined first. Only string contents can hold surrogates,
    and ``encode_basestring`` never separates two adjacent characters it leaves unescaped.
    """
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return _escape_lone_surrogates(joined)


def _escape_lone_surrogates(text: str) -> str:
    return _LONE_SURROGATE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def dumps(value: object) -> bytes:
    """Serialise ``value`` to the UTF-8 bytes JavaScript's ``JSON.stringify`` would produce.

    Accepts dict (str keys), list, tuple, str, int (within ±MAX_SAFE_INTEGER), finite float, bool
    and None. Raises :class:`CanonicalJSONError` (with ``.path``) for anything else.
    """
    # orjson (in C, about 10x faster) writes what JSON.stringify writes for plain values: no
    # float (number formatting differs), no integer beyond ±MAX_SAFE_INTEGER, no key that
    # JavaScript would move first (an array index), no subclass; it refuses lone surrogates
    # and nesting deeper than 254, which the encoder below then handles.
    if _plain(value):
        try:
            return orjson.dumps(value)
        except orjson.JSONEncodeError:
            pass
    return _dumps(value)


# Values the orjson shortcut inspects at most: a value holding itself never ends the walk, and
# one with more nodes than a 256 KiB body can hold is not worth it.
_PLAIN_MAX_NODES = 200_000


def _plain(value: object) -> bool:
    pending = [value]
    budget = _PLAIN_MAX_NODES
    while pending:
        budget -= 1
        if not budget:
            return False
        item = pending.pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:  # type: ignore[operator]
                return False
        elif kind is dict:
            for key in item:  # type: ignore[attr-defined]
                if type(key) is not str or key[:1] in _DIGITS:
                    return False
            pending.extend(item.values())  # type: ignore[attr-defined]
        elif kind is list:
            pending.extend(item)  # type: ignore[arg-type]
        else:
            return False
    return True


def _dumps(value: object) -> bytes:
    """The encoder itself, for any value (the reference for the orjson shortcut)."""
    parts: list[str] = []
    try:
        _encode(value, parts, set())
    except _EncodeError as exc:
        raise CanonicalJSONError(exc.reason, _format_path(exc.segments)) from None
    except RecursionError:
        raise CanonicalJSONError("value is nested too deeply") from None
    text = "".join(parts)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone or split surrogates inside some string
        return _escape_surrogates(text).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Decoding


def _reject_constant(name: str) -> NoReturn:
    raise CanonicalJSONError(f"{name} is not valid JSON")


def _parse_int(literal: str) -> int:
    digits = len(literal) - (literal[0] == "-")
    if digits <= _MAX_SAFE_INTEGER_DIGITS:
        number = int(literal)
        if -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
            return number
    raise CanonicalJSONError(_int_range_reason(literal))


def _parse_float(literal: str) -> float:
    number = float(literal)
    if math.isinf(number):
        raise CanonicalJSONError(f"number {_short(literal)} overflows a 64-bit float")
    return number


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Strictly parse a JSON document.

    Rejects invalid UTF-8, invalid JSON, the NaN/Infinity literals, integers outside
    ±MAX_SAFE_INTEGER and numbers that overflow a float, all with :class:`CanonicalJSONError`.
    Lone surrogate escapes such as ``"\\ud800"`` are accepted (``dumps`` writes them back escaped).
    """
    # orjson first (about 5x faster): it rejects all that this module rejects except numbers
    # beyond ±MAX_SAFE_INTEGER (an integer literal past 2^64 even comes back as a float), and
    # also rejects lone surrogate escapes. A document it refuses, or whose numbers are not all
    # plainly safe, is parsed again by the strict parser, which accepts or words the error.
    if isinstance(data, bytes | bytearray | memoryview | str):
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        else:
            if _numbers_plainly_safe(value):
                return value
    return _strict_loads(data)


def _numbers_plainly_safe(value: Any) -> bool:
    """No integer beyond ±MAX_SAFE_INTEGER, and no float as large as 2^53 (which may have
    been written as an integer literal)."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return False
        elif kind is float and not -_TWO_53 < item < _TWO_53:
            return False
    return True


def _strict_loads(data: bytes | bytearray | memoryview | str) -> Any:
    if isinstance(data, str):
        text = data
    elif isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CanonicalJSONError(
                f"body is not valid UTF-8: byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"
            ) from None
    else:
        raise CanonicalJSONError(f"expected bytes or str, got {type(data).__name__}")
    try:
        return json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as exc:
        raise CanonicalJSONError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
        ) from None
    except RecursionError:
        raise CanonicalJSONError("invalid JSON: document is nested too deeply") from None


# ---------------------------------------------------------------------------------------------
# The two policies: what a client may send, and how what was stored is read back


def loads_input(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse a document a client sent (API bodies, the dashboard's JSON fields).

    ``loads``, and moreover: no string or key holding a lone surrogate (``"\\ud800"``: not
    text, and no UTF-8 encoder, PostgreSQL or strict JSON parser takes it), no nesting deeper
    than MAX_NESTING_DEPTH. The error's ``path`` names the offending value, e.g.
    ``data.items[3].name``.
    """
    # As in loads: orjson first, which refuses lone surrogates itself; one walk then checks
    # the numbers and the depth. Only a refused document has its path worked out.
    if isinstance(data, bytes | bytearray | memoryview | str):
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        else:
            verdict = _input_verdict(value)
            if verdict is _Verdict.PLAIN:
                return value
            if verdict is _Verdict.TOO_DEEP:
                _raise_input_problem(value)
    value = _strict_loads(data)
    _raise_input_problem(value)
    return value


class _Verdict(enum.Enum):
    PLAIN = enum.auto()
    UNSAFE_NUMBER = enum.auto()  # the strict parser words the error
    TOO_DEEP = enum.auto()


def _input_verdict(value: Any) -> _Verdict:
    """Numbers as _numbers_plainly_safe, and the depth: one level of containers at a time."""
    level = [value]
    depth = 0
    while level:
        below: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is dict:
                if depth >= MAX_NESTING_DEPTH:
                    return _Verdict.TOO_DEEP
                below.extend(item.values())
            elif kind is list:
                if depth >= MAX_NESTING_DEPTH:
                    return _Verdict.TOO_DEEP
                below.extend(item)
            elif kind is int:
                if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                    return _Verdict.UNSAFE_NUMBER
            elif kind is float and not -_TWO_53 < item < _TWO_53:
                return _Verdict.UNSAFE_NUMBER
        level = below
        depth += 1
    return _Verdict.PLAIN


def _raise_input_problem(value: Any) -> None:
    problem = _input_problem(value)
    if problem is not None:
        reason, segments = problem
        raise CanonicalJSONError(reason, _format_path(segments[::-1]))


def _input_problem(value: Any) -> tuple[str, list[str | int]] | None:
    """(reason, path segments outermost first) of the first value ``loads_input`` refuses."""
    pending: list[tuple[Any, list[str | int]]] = [(value, [])]
    while pending:
        item, path = pending.pop()
        kind = type(item)
        if kind is str:
            if _LONE_SURROGATE_RE.search(item):
                return _lone_surrogate_reason(item), path
        elif kind is dict or kind is list:
            if len(path) >= MAX_NESTING_DEPTH:
                return f"nested deeper than {MAX_NESTING_DEPTH} levels of objects and arrays", path
            if kind is dict:
                for key, member in item.items():
                    if _LONE_SURROGATE_RE.search(key):
                        return _lone_surrogate_reason(key), [*path, key]
                    pending.append((member, [*path, key]))
            else:
                pending.extend((member, [*path, index]) for index, member in enumerate(item))
    return None


def shows_whole(value: Any) -> bool:
    """No lone surrogate and no nesting deeper than MAX_NESTING_DEPTH: ``value`` renders as
    JSON text or in a page as it is (what ``loads_input`` admits, numbers aside)."""
    return _input_problem(value) is None


def _lone_surrogate_reason(text: str) -> str:
    found = _LONE_SURROGATE_RE.search(text)
    assert found is not None
    return (
        f"holds a lone surrogate \\u{ord(found.group()):04x}, which is not text: send each "
        "character outside the Basic Multilingual Plane as a surrogate pair"
    )


def loads_stored(text: str | bytes) -> Any:
    """Read back a document this service stored, as any version of it wrote it, for an answer
    or a page: never fails on what was once accepted.

    Integers of any size are kept; a lone surrogate (which older versions stored escaped)
    becomes U+FFFD, the replacement character; a container nested deeper than
    MAX_NESTING_DEPTH (older versions accepted more) is kept as its JSON text, a string.
    Raises CanonicalJSONError only for a document no version wrote (not JSON at all).
    """
    if not isinstance(text, str):
        text = text.decode("utf-8", "replace")
    # Stored documents are canonical JSON: no NaN, no 1e400. json, not orjson: it keeps the
    # integers beyond 64 bits that JSON.stringify writes for large whole floats (1e20).
    try:
        value = json.loads(text)
        deep = _deeper_than(value, MAX_NESTING_DEPTH)
    except json.JSONDecodeError as exc:
        raise CanonicalJSONError(f"invalid JSON: {exc.msg}") from None
    except RecursionError:  # deeper than the parser goes
        deep = True
    if deep:
        try:
            value = json.loads(_deep_containers_as_strings(text))
        except json.JSONDecodeError as exc:
            raise CanonicalJSONError(f"invalid JSON: {exc.msg}") from None
    if _SURROGATE_ESCAPE_RE.search(text) is None:  # nearly always: nothing to replace
        return value
    return _without_lone_surrogates(value)


# How a stored document holds a surrogate: text from the database holds no surrogate itself.
_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")


def _deeper_than(value: Any, limit: int) -> bool:
    level = [value]
    for _ in range(limit):
        level = [
            member
            for item in level
            if type(item) is dict or type(item) is list
            for member in (item.values() if type(item) is dict else item)
        ]
        if not level:
            return False
    return any(type(item) is dict or type(item) is list for item in level)


# A JSON string (whose brackets do not count) or a bracket.
_STRING_OR_BRACKET_RE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _deep_containers_as_strings(text: str) -> str:
    """`text` with every container that opens below MAX_NESTING_DEPTH levels written as a
    JSON string of its own text: a document the parser then reads without going deeper."""
    parts: list[str] = []
    depth = 0
    copied = 0  # text[:copied] is in parts
    span_start = -1
    for token in _STRING_OR_BRACKET_RE.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            if depth == MAX_NESTING_DEPTH:
                span_start = token.start()
            depth += 1
        elif bracket in "]}":
            depth -= 1
            if depth == MAX_NESTING_DEPTH and span_start >= 0:
                parts.append(text[copied:span_start])
                parts.append(json.dumps(text[span_start : token.end()], ensure_ascii=False))
                copied = token.end()
                span_start = -1
    parts.append(text[copied:])
    return "".join(parts)


def _without_lone_surrogates(value: Any) -> Any:
    """``value`` with each lone surrogate replaced by U+FFFD (recursion: at most
    MAX_NESTING_DEPTH levels, as loads_stored leaves it)."""
    kind = type(value)
    if kind is str:
        return _LONE_SURROGATE_RE.sub("\ufffd", value)
    if kind is dict:
        return {
            _LONE_SURROGATE_RE.sub("\ufffd", key): _without_lone_surrogates(member)
            for key, member in value.items()
        }
    if kind is list:
        return [_without_lone_surrogates(member) for member in value]
    return value
