"""Canonical JSON: bytes identical to JavaScript's ``JSON.stringify(JSON.parse(body))``.

Receivers that re-serialise a parsed body (e.g. Express ``JSON.stringify(req.body)``) can verify us.
"""

from __future__ import annotations

import json
import math
import re
from json.encoder import encode_basestring  # C-accelerated; escapes exactly like JSON.stringify
from typing import Any, NoReturn

__all__ = [
    "MAX_SAFE_INTEGER",
    "CanonicalJSONError",
    "dumps",
    "format_number",
    "loads",
]

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer that a JavaScript Number holds exactly (``Number.MAX_SAFE_INTEGER``)."""

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
    if value.is_integer() and -(2.0**53) < value < 2.0**53:
        # Exact integer: its digits are the shortest round-trip digits; -0.0 becomes "0".
        return int.__repr__(int(value))
    text = float.__repr__(value)  # shortest round-trip digits, closest to the true value
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


def _encode(value: object, parts: list[str], active: set[int]) -> None:
    # isinstance also admits subclasses (StrEnum, IntEnum, OrderedDict, ...); they are written
    # by their underlying str/int/float/dict/list value.
    if isinstance(value, str):
        parts.append(encode_basestring(value))
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
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
    elif isinstance(value, dict):
        _encode_dict(value, parts, active)
    elif isinstance(value, list | tuple):
        _encode_list(value, parts, active)
    else:
        cls = type(value)
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

    index_keys: list[tuple[int, str]] = []
    for key in value:
        if not isinstance(key, str):
            raise _EncodeError(
                f"object keys must be str, got {type(key).__name__} key {_short(repr(key))}"
            )
        if _ARRAY_INDEX_RE.match(key) is not None:
            number = int(key)
            if number <= _MAX_ARRAY_INDEX:
                index_keys.append((number, key))

    if index_keys:
        # JavaScript property order: array indices ascending, then other keys by insertion.
        index_keys.sort()
        index_set = {key for _, key in index_keys}
        items: list[tuple[str, Any]] = [(key, value[key]) for _, key in index_keys]
        items.extend(item for item in value.items() if item[0] not in index_set)
    else:
        items = list(value.items())

    sep = "{"
    for key, item in items:
        parts.append(sep)
        parts.append(encode_basestring(key))
        parts.append(":")
        try:
            _encode(item, parts, active)
        except _EncodeError as exc:
            exc.segments.append(str.__str__(key))
            raise
        sep = ","
    parts.append("}")
    active.discard(marker)


def _encode_list(value: list[Any] | tuple[Any, ...], parts: list[str], active: set[int]) -> None:
    if not value:
        parts.append("[]")
        return
    marker = id(value)
    if marker in active:
        raise _EncodeError("circular reference")
    active.add(marker)
    sep = "["
    for index, item in enumerate(value):
        parts.append(sep)
        try:
            _encode(item, parts, active)
        except _EncodeError as exc:
            exc.segments.append(index)
            raise
        sep = ","
    parts.append("]")
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
