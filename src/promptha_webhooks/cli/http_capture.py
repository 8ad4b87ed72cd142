"""Reading a captured HTTP/1.1 request (request line, headers, blank line, body) as `verify`
gets it: pasted from a terminal, saved by `nc -l`, or copied from a request inspector.

Captures are often slightly damaged (LF instead of CRLF, a newline added after the body); what
was repaired is recorded in `notes`, so `verify` can say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["CaptureError", "CapturedRequest", "parse_request"]

_REQUEST_LINE_RE = re.compile(r"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/\d(?:\.\d)?\Z")
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


class CaptureError(ValueError):
    """The input is not an HTTP request."""


@dataclass(frozen=True)
class CapturedRequest:
    method: str | None
    target: str | None
    headers: list[tuple[str, str]]
    body: bytes
    notes: list[str] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        """Every value of header `name` (case-insensitive), in order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def header(self, name: str) -> str | None:
        found = self.values(name)
        return found[0] if found else None

    def header_map(self) -> dict[str, str]:
        """Lower-case names to their first value."""
        result: dict[str, str] = {}
        for key, value in self.headers:
            result.setdefault(key.lower(), value)
        return result


def parse_request(raw: bytes) -> CapturedRequest:
    if not raw.strip():
        raise CaptureError("nothing to read: give a captured HTTP request on stdin")
    raw = raw.lstrip(b"\r\n")
    head, body, notes = _split(raw)
    lines = [line.removesuffix("\r") for line in head.decode("latin-1").split("\n")]
    method = target = None
    match = _REQUEST_LINE_RE.match(lines[0])
    if match:
        method, target = match["method"], match["target"]
        lines = lines[1:]
    elif ":" in lines[0] and _HEADER_NAME_RE.match(lines[0].split(":", 1)[0]):
        notes.append("no request line: the input starts with the headers")
    else:
        raise CaptureError(
            f"the first line is not an HTTP request line: {_short(lines[0])!r} "
            "(expected something like 'POST /webhooks/promptha HTTP/1.1')"
        )
    headers = _headers(lines)
    captured = CapturedRequest(method, target, headers, body, notes)
    return _apply_framing(captured)


def _split(raw: bytes) -> tuple[bytes, bytes, list[str]]:
    """Head and body at the first blank line (CRLF CRLF, or LF LF in a pasted capture)."""
    crlf, lf = raw.find(b"\r\n\r\n"), raw.find(b"\n\n")
    candidates = [(i, n) for i, n in ((crlf, 4), (lf, 2)) if i >= 0]
    if not candidates:
        return raw.rstrip(b"\r\n"), b"", ["no blank line after the headers: the body is empty"]
    index, size = min(candidates)
    notes = [] if size == 4 else ["lines end in LF, not CRLF (a pasted or converted capture)"]
    return raw[:index], raw[index + size :], notes


def _headers(lines: list[str]) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for number, line in enumerate(lines, start=1):
        if line[:1] in (" ", "\t") and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if not sep or not _HEADER_NAME_RE.match(name):
            raise CaptureError(f"header line {number} is not 'Name: value': {_short(line)!r}")
        headers.append((name, value.strip(" \t")))
    return headers


def _apply_framing(request: CapturedRequest) -> CapturedRequest:
    """Cut the body where Content-Length or chunked encoding says it ends."""
    body, notes = request.body, list(request.notes)
    encoding = (request.header("transfer-encoding") or "").lower()
    length_header = request.header("content-length")
    if "chunked" in encoding:
        body = _dechunk(body)
    elif length_header is not None:
        if not length_header.isdigit():
            raise CaptureError(f"Content-Length is not a number: {length_header!r}")
        length = int(length_header)
        if len(body) > length:
            extra = body[length:]
            what = "white space" if not extra.strip() else "data"
            notes.append(
                f"ignored {len(extra)} byte(s) of {what} after the {length} the "
                "Content-Length announces"
            )
            body = body[:length]
        elif len(body) < length:
            notes.append(
                f"the body has {len(body)} bytes but Content-Length says {length}: "
                "the capture is cut short"
            )
    return CapturedRequest(request.method, request.target, request.headers, body, notes)


def _dechunk(data: bytes) -> bytes:
    body = bytearray()
    rest = data
    while True:
        size_line, sep, rest = rest.partition(b"\n")
        size_text = size_line.strip().split(b";", 1)[0]
        if not sep or not size_text:
            raise CaptureError("chunked body ends before its last (zero-size) chunk")
        try:
            size = int(size_text, 16)
        except ValueError:
            raise CaptureError(
                f"bad chunk size line: {_short(size_line.decode('latin-1'))!r}"
            ) from None
        if size == 0:
            return bytes(body)
        if len(rest) < size:
            raise CaptureError("a chunk is shorter than its announced size")
        body += rest[:size]
        rest = rest[size:].removeprefix(b"\r\n").removeprefix(b"\n")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
