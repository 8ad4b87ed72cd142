"""The hostile-input table: requests across every API route that must each get a 4xx in the
error shape and change nothing. Built from the seeded objects' ids (`Seeded`), so a case can
use a real id, another account's id or an unknown one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

LONE = "\ud800"  # a lone surrogate: json.dumps writes it as the escape \ud800
NUL = "\x00"
LONG = "x" * 10_000
COMPLETED = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}
DEEP_DATA = {
    "executionId": "e",
    "fabricId": "f",
    "usage": {},
    "result": json.loads("[" * 80 + "]" * 80),
}


@dataclass(frozen=True)
class Seeded:
    """Ids of the account the requests are made as, and of another account."""

    account: str
    key: str
    key_id: str
    webhook: str
    event: str
    delivery: str
    other_account: str
    other_webhook: str
    other_event: str
    other_delivery: str
    listen_delivery: str


@dataclass(frozen=True)
class Hostile:
    """One request and what it must get: a status in `statuses` and, when given, `field`."""

    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    as_admin: bool = False
    statuses: frozenset[int] = frozenset({400})
    field: str | None = None
    raw_headers: tuple[tuple[bytes, bytes], ...] = ()


def body_of(value: Any) -> bytes:
    """JSON text as a client would write it; lone surrogates as their \\uXXXX escape."""
    return json.dumps(value).encode()


def cases(s: Seeded) -> Iterator[Hostile]:
    """Every case of the table (a few hundred)."""
    yield from _lone_surrogates(s)
    yield from _bad_values(s)
    yield from _bad_bodies(s)
    yield from _ids(s)
    yield from _auth(s)
    yield from _queries(s)
    yield from _headers(s)


# -- a lone surrogate (and other hostile strings) in every JSON field ---------------------------


ALL = frozenset({"NUL", "overlong", "number", "object", "null"})
TEXT_ONLY = frozenset()  # any JSON value, or any text, is valid there


def _json_fields(
    s: Seeded,
) -> Iterator[tuple[str, str, dict[str, Any], str, bool, frozenset[str]]]:
    """Per JSON field: (method, path, a valid body, the field's path, as admin, which of the
    hostile values of `_bad_values` it must refuse)."""
    webhook = {"url": "http://127.0.0.1:9/x", "events": ["fabric.completed"]}
    patch = f"/v1/webhooks/{s.webhook}"
    yield "POST", "/v1/accounts", {"name": "Acme"}, "name", True, ALL
    for name in ("url", "secret", "description"):
        valid = webhook | {"secret": "s" * 20, "description": "d"}
        refused = ALL - {"null"} if name == "secret" else ALL  # a null secret: generate one
        yield "POST", "/v1/webhooks", valid, name, False, refused
        yield "PATCH", patch, {name: valid[name]}, name, False, refused
    signing = webhook | {"signatureFormat": "standard", "signatureAlgorithm": "hmac-sha256"}
    for name in ("signatureFormat", "signatureAlgorithm"):
        yield "POST", "/v1/webhooks", signing, name, False, ALL
        yield "PATCH", patch, {name: signing[name]}, name, False, ALL
    # A static header's value: visible ASCII, at most 1,024 characters.
    gateway = webhook | {"headers": {"Authorization": "k"}}
    yield "POST", "/v1/webhooks", gateway, "headers.Authorization", False, ALL
    yield "PATCH", patch, {"headers": {"Authorization": "k"}}, "headers.Authorization", False, ALL
    yield "POST", "/v1/webhooks", webhook, "events[0]", False, ALL
    yield "PATCH", patch, {"events": ["fabric.completed"]}, "events[0]", False, ALL
    # A filter value may be any string, number or boolean.
    filters = webhook | {"filters": {"fabricId": ["a", "b"]}}
    yield "POST", "/v1/webhooks", filters, "filters.fabricId[1]", False, {"object", "null"}
    one = {"filters": {"fabricId": ["a"]}}
    yield "PATCH", patch, one, "filters.fabricId[0]", False, frozenset({"object", "null"})
    # Operators: a string for $prefix; a number for $gt on a number field (a string there can
    # never match: a 400 too).
    operators = {"url": "http://127.0.0.1:9/x", "events": ["credits.low"]} | {
        "filters": {"userId": {"$prefix": "u"}, "remaining": {"$gt": 1}}
    }
    prefix_refused = frozenset({"number", "object", "null"})
    yield "POST", "/v1/webhooks", operators, "filters.userId.$prefix", False, prefix_refused
    yield "POST", "/v1/webhooks", operators, "filters.remaining.$gt", False, ALL - {"number"}
    probe = {
        "events": ["credits.*"],
        "filters": operators["filters"] | {"threshold": [10]},
        "event": "credits.low",
        "data": {"remaining": 5, "threshold": 10, "userId": "u"},
    }
    yield "POST", "/v1/webhooks/test-filter", probe, "events[0]", False, ALL
    yield "POST", "/v1/webhooks/test-filter", probe, "filters.userId.$prefix", False, prefix_refused
    yield (
        "POST",
        "/v1/webhooks/test-filter",
        probe,
        "filters.remaining.$gt",
        False,
        ALL - {"number"},
    )
    yield "POST", "/v1/webhooks/test-filter", probe, "filters.threshold[0]", False, ALL - {"number"}
    yield "POST", "/v1/webhooks/test-filter", probe, "event", False, ALL
    yield "POST", "/v1/webhooks/test-filter", probe, "data.userId", False, ALL
    publish = {"event": "fabric.completed", "data": COMPLETED}
    yield "POST", "/v1/events", publish, "event", False, ALL
    yield "POST", "/v1/events", publish, "data.executionId", False, TEXT_ONLY
    yield "POST", "/v1/events", publish | {"account": s.account}, "account", True, ALL
    batch = {"events": [{"event": "fabric.completed", "data": COMPLETED, "idempotencyKey": "k1"}]}
    yield "POST", "/v1/events/batch", batch, "events[0].event", False, ALL
    yield "POST", "/v1/events/batch", batch, "events[0].data.executionId", False, TEXT_ONLY
    key_refused = ALL - {"null"}  # null: no key
    yield "POST", "/v1/events/batch", batch, "events[0].idempotencyKey", False, key_refused
    test = {"webhookId": s.webhook, "event": "fabric.completed", "data": {"executionId": "t"}}
    yield "POST", "/v1/webhooks/test", test, "webhookId", False, ALL
    yield "POST", "/v1/webhooks/test", test, "event", False, ALL
    yield "POST", "/v1/webhooks/test", test, "data.executionId", False, TEXT_ONLY
    rotate = {"secret": "s" * 20, "gracePeriodSeconds": 60}
    rotate_path = f"/v1/webhooks/{s.webhook}/rotate-secret"
    yield "POST", rotate_path, rotate, "secret", False, ALL - {"null"}  # null: generate one
    grace_refused = frozenset({"NUL", "overlong", "object"})  # null: the default
    yield "POST", rotate_path, rotate, "gracePeriodSeconds", False, grace_refused
    recover = {"since": "2026-01-01T00:00:00Z", "dryRun": True}
    since_refused = ALL - {"number"}  # a number is Unix seconds
    yield "POST", f"/v1/webhooks/{s.webhook}/recover", recover, "since", False, since_refused
    answer = {
        "status": 200,
        "headers": {"server": "local"},
        "body": "ok",
        "durationMs": 1.5,
        "error": "e",
        "requestHeaders": {"accept": "*/*"},
    }
    # What the developer's endpoint answered: any text.
    for name in ("body", "error", "headers.server", "requestHeaders.accept"):
        yield "POST", f"/v1/listen/deliveries/{s.listen_delivery}", answer, name, False, TEXT_ONLY


def _signing_schemes(s: Seeded) -> Iterator[Hostile]:
    """Secrets that do not fit the signing scheme, and schemes that do not go together."""
    webhook = {"url": "http://127.0.0.1:9/x", "events": ["fabric.completed"]}
    standard = webhook | {"signatureFormat": "standard"}
    ed25519 = standard | {"signatureAlgorithm": "ed25519"}
    whsk = "whsk_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
    refused = {
        "standard: not whsec_": standard | {"secret": "s" * 20},
        "standard: whsec_ of 8 bytes": standard | {"secret": "whsec_MDEyMzQ1Njc="},
        "standard: whsec_ not base64": standard | {"secret": "whsec_" + "!" * 40},
        "standard: whsec_ of 65 bytes": standard | {"secret": "whsec_" + "A" * 88},
        "standard: whsec_ + lone surrogate": standard | {"secret": "whsec_" + LONE * 40},
        "standard: a whsk_ key for hmac-sha256": standard | {"secret": whsk},
        "standard: a whpk_ public key": standard | {"secret": "whpk_" + whsk[5:]},
        "ed25519: a whsec_ secret": ed25519 | {"secret": "whsec_" + whsk[5:]},
        "ed25519: whsk_ of 31 bytes": ed25519 | {"secret": "whsk_" + "A" * 40 + "AA=="},
        "promptha: a whsk_ key": webhook | {"secret": whsk},
        "standard: overlong secret": standard | {"secret": "whsec_" + LONG},
    }
    for name, body in refused.items():
        yield Hostile(f"{name} (POST)", "POST", "/v1/webhooks", body_of(body), field="secret")
    yield Hostile(
        "ed25519 with the promptha format",
        "POST",
        "/v1/webhooks",
        body_of(webhook | {"signatureAlgorithm": "ed25519"}),
        field="signatureAlgorithm",
    )
    patch = f"/v1/webhooks/{s.webhook}"
    for name, body, culprit in (
        ("ed25519 on a promptha webhook", {"signatureAlgorithm": "ed25519"}, "signatureAlgorithm"),
        # The seeded webhook's whsec_ secret is no Ed25519 key: a new one must come along.
        (
            "ed25519 without a key",
            {"signatureFormat": "standard", "signatureAlgorithm": "ed25519"},
            "secret",
        ),
        (
            "standard with a promptha-only secret",
            {"signatureFormat": "standard", "secret": "s" * 20},
            "secret",
        ),
        ("a whsk_ key on a promptha webhook", {"secret": whsk}, "secret"),
    ):
        yield Hostile(f"PATCH {name}", "PATCH", patch, body_of(body), field=culprit)


def _spoil(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `body` with the value at `path` (a.b[0].c) replaced."""
    copy = json.loads(json.dumps(body))
    parts = path.replace("[", ".[").split(".")
    target: Any = copy
    for part in parts[:-1]:
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    last = parts[-1]
    if last.startswith("["):
        target[int(last[1:-1])] = value
    else:
        target[last] = value
    return copy


def _lone_surrogates(s: Seeded) -> Iterator[Hostile]:
    for method, path, body, spoiled, admin, _refused in _json_fields(s):
        for where, value in (("alone", LONE), ("inside", f"a{LONE}b"), ("low", "\udc00")):
            yield Hostile(
                f"lone surrogate ({where}) in {method} {path} {spoiled}",
                method,
                path,
                body_of(_spoil(body, spoiled, value)),
                as_admin=admin,
                field=spoiled,
            )
    # in a key, and deep inside a payload
    data = COMPLETED | {f"k{LONE}": 1}
    yield Hostile(
        "lone surrogate in a payload key",
        "POST",
        "/v1/events",
        body_of({"event": "fabric.completed", "data": data}),
        field='data["k\\ud800"]',
    )
    nested = COMPLETED | {"result": {"items": [{"name": "ok"}, {"name": LONE}]}}
    yield Hostile(
        "lone surrogate deep in a payload",
        "POST",
        "/v1/events",
        body_of({"event": "fabric.completed", "data": nested}),
        field="data.result.items[1].name",
    )
    yield Hostile(
        "lone surrogate in an unknown field's name",
        "POST",
        "/v1/webhooks",
        body_of({"url": "http://127.0.0.1:9/x", "events": ["fabric.completed"], LONE: 1}),
        field='["\\ud800"]',
    )


def _bad_values(s: Seeded) -> Iterator[Hostile]:
    """NUL, overlong strings, wrong types and numbers JSON.stringify cannot write."""
    hostile_values = {
        "NUL": f"a{NUL}b",
        "overlong": LONG,
        "number": 42,
        "object": {"x": 1},
        "null": None,
    }
    for method, path, body, spoiled, admin, refused in _json_fields(s):
        for label in sorted(refused):
            # an id PostgreSQL cannot hold (NUL) may be refused as such, or not found
            found_or_not = spoiled in ("account", "webhookId") and label in ("NUL", "overlong")
            yield Hostile(
                f"{label} in {method} {path} {spoiled}",
                method,
                path,
                body_of(_spoil(body, spoiled, hostile_values[label])),
                as_admin=admin,
                statuses=frozenset({400, 404}) if found_or_not else frozenset({400}),
            )
    publish = (
        b'{"event": "fabric.completed", '
        b'"data": {"executionId": "e", "fabricId": "f", "result": %s, "usage": {}}}'
    )
    for literal in (
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b"1e400",
        b"9007199254740992",
        b"-9007199254740993",
        b"123456789012345678901234567890",
    ):
        yield Hostile(f"{literal.decode()} in a payload", "POST", "/v1/events", publish % literal)
        yield Hostile(
            f"{literal.decode()} in a test payload",
            "POST",
            "/v1/webhooks/test",
            b'{"webhookId": "%s", "event": "fabric.completed", "data": {"result": %s}}'
            % (s.webhook.encode(), literal),
        )
        yield Hostile(
            f"{literal.decode()} in a filter",
            "POST",
            "/v1/webhooks",
            b'{"url": "http://127.0.0.1:9/x", "events": ["fabric.completed"], '
            b'"filters": {"fabricId": [%s]}}' % literal,
        )
        yield Hostile(
            f"{literal.decode()} as recover's since",
            "POST",
            f"/v1/webhooks/{s.webhook}/recover",
            b'{"since": %s}' % literal,
        )
    yield Hostile(
        "payload nested deeper than 64",
        "POST",
        "/v1/events",
        body_of({"event": "fabric.completed", "data": DEEP_DATA}),
        field="data.result" + "[0]" * 62,
    )
    yield Hostile(
        "test payload nested deeper than 64",
        "POST",
        "/v1/webhooks/test",
        body_of({"webhookId": s.webhook, "event": "fabric.completed", "data": DEEP_DATA}),
        field="data.result" + "[0]" * 62,
    )
    yield Hostile(
        "document nested 100,000 deep",
        "POST",
        "/v1/events",
        b'{"event": "fabric.completed", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    )
    yield Hostile(
        "body over 256 KiB",
        "POST",
        "/v1/events",
        body_of({"event": "fabric.completed", "data": COMPLETED | {"result": "x" * 300_000}}),
        statuses=frozenset({413}),
    )
    yield Hostile(
        "batch of 1,001 events",
        "POST",
        "/v1/events/batch",
        body_of({"events": [{"event": "fabric.completed", "data": COMPLETED}] * 1001}),
    )
    yield Hostile("empty batch", "POST", "/v1/events/batch", body_of({"events": []}))
    for value in (0, -1, 10**9, 101, "x", True, 1.5, [2], {"n": 2}):
        for method, path in (("POST", "/v1/webhooks"), ("PATCH", f"/v1/webhooks/{s.webhook}")):
            yield Hostile(
                f"maxConcurrency {value!r} ({method})",
                method,
                path,
                body_of(
                    {"url": "http://127.0.0.1:9/x", "events": ["fabric.completed"]}
                    | {"maxConcurrency": value}
                    if method == "POST"
                    else {"maxConcurrency": value}
                ),
                field="maxConcurrency",
            )
    pacing_cases: list[tuple[str, Any]] = [
        *(("rateLimit", v) for v in (0, -1, 1001, 10**12, "5", True, 2.5, [2], {"n": 2}, LONE)),
        *(("ordering", v) for v in ("lifo", "FIFO", "", LONE, LONG, 1, True, [], None)),
    ]
    for name, value in pacing_cases:
        for method, path in (("POST", "/v1/webhooks"), ("PATCH", f"/v1/webhooks/{s.webhook}")):
            if method == "POST" and name == "ordering" and value is None:
                continue  # null on create: the default
            yield Hostile(
                f"{name} {str(value)[:20]!r} ({method})",
                method,
                path,
                body_of(
                    {"url": "http://127.0.0.1:9/x", "events": ["fabric.completed"]} | {name: value}
                    if method == "POST"
                    else {name: value}
                ),
                field=name,
            )
    yield from _delivery_settings(s)
    rotate_path = f"/v1/webhooks/{s.webhook}/rotate-secret"
    for value in (-1, 604_801, 10**9, "x", "60", True, 1.5, [2], {"n": 2}):
        yield Hostile(
            f"gracePeriodSeconds {value!r}",
            "POST",
            rotate_path,
            body_of({"gracePeriodSeconds": value}),
            field="gracePeriodSeconds",
        )
    for label, secret in (("short", "s" * 15), ("overlong", "s" * 257), ("tab", "s" * 20 + "\t")):
        yield Hostile(
            f"{label} secret to rotate-secret", "POST", rotate_path, body_of({"secret": secret})
        )
    yield from _signing_schemes(s)
    many = {f"k{i}": ["v"] for i in range(21)}
    yield Hostile(
        "21 filter keys",
        "POST",
        "/v1/webhooks",
        body_of({"url": "http://127.0.0.1:9/x", "events": ["fabric.completed"], "filters": many}),
        field="filters",
    )
    yield Hostile(
        "101 filter values",
        "POST",
        "/v1/webhooks",
        body_of(
            {
                "url": "http://127.0.0.1:9/x",
                "events": ["fabric.completed"],
                "filters": {"fabricId": [str(i) for i in range(101)]},
            }
        ),
        field="filters.fabricId",
    )
    deep: dict[str, Any] = {"fabricId": ["a"]}
    for _ in range(7):
        deep = {"$not": deep}
    wide = {"$or": [{f"f{i}": [1], f"g{i}": [2], f"h{i}": [3]} for i in range(20)]}
    for label, filters, where in (
        ("filter nested 7 deep", deep, "filters" + ".$not" * 7),
        ("filter of 60 comparisons", wide, "filters.$or[16].h16"),
        ("filter path of 9 segments", {".".join("a" * 9): [1]}, "filters." + ".".join("a" * 9)),
        ("unknown filter operator", {"fabricId": {"$where": "1"}}, "filters.fabricId.$where"),
        ("unknown filter path", {"usage.nope": {"$gt": 1}}, "filters.usage.nope.$gt"),
    ):
        for path in ("/v1/webhooks", "/v1/webhooks/test-filter"):
            yield Hostile(
                f"{label} ({path})",
                "POST",
                path,
                body_of(
                    {"url": "http://127.0.0.1:9/x", "events": ["fabric.completed"]}
                    | {"filters": filters}
                    if path == "/v1/webhooks"
                    else {"events": ["fabric.completed"], "filters": filters, "event": "x"}
                ),
                field=where,
            )
    yield Hostile(
        "filter nested 20,000 deep",
        "POST",
        "/v1/webhooks/test-filter",
        b'{"event": "fabric.completed", "filters": '
        + b'{"$not": ' * 20_000
        + b"{}"
        + b"}" * 20_000
        + b"}",
    )
    for status, duration in ((99, 1), (600, 1), (200, -1), (200, 1e12), (200, 1e308)):
        yield Hostile(
            f"reported status {status}, duration {duration}",
            "POST",
            f"/v1/listen/deliveries/{s.listen_delivery}",
            body_of({"status": status, "durationMs": duration}),
        )
    for since, until in (("yesterday", None), ("2026-02-30T00:00:00Z", None), (10**20, None)):
        yield Hostile(
            f"recover since {since!r}",
            "POST",
            f"/v1/webhooks/{s.webhook}/recover",
            body_of({"since": since, "until": until}),
        )
    yield Hostile(
        "recover dryRun 'no'",
        "POST",
        f"/v1/webhooks/{s.webhook}/recover",
        body_of({"since": "2026-01-01T00:00:00Z", "dryRun": "no"}),
        field="dryRun",
    )


def _delivery_settings(s: Seeded) -> Iterator[Hostile]:
    """A webhook's static headers, retry schedule and timeout out of bounds (POST and PATCH)."""
    webhook = {"url": "http://127.0.0.1:9/x", "events": ["fabric.completed"]}
    bad: list[tuple[str, str, Any]] = [
        ("headers", "a name of ours", {"X-Promptha-Signature": "x"}),
        ("headers", "a Standard Webhooks name", {"webhook-signature": "x"}),
        ("headers", "hop-by-hop", {"Transfer-Encoding": "chunked"}),
        ("headers", "a name with a space", {"X Api": "x"}),
        ("headers", "a name with a lone surrogate", {f"X-{LONE}": "x"}),
        ("headers", "a NUL name", {f"X{NUL}": "x"}),
        ("headers", "CR LF in a value", {"X-A": "a\r\nX-B: b"}),
        ("headers", "21 headers", {f"X-{i}": "v" for i in range(21)}),
        ("headers", "a list", ["X-A: 1"]),
        ("headers", "deeply nested", json.loads('{"X-A": ' + "[" * 80 + "]" * 80 + "}")),
        ("retrySchedule", "10 retries", [1] * 10),
        ("retrySchedule", "over 3 days", [259_200, 1]),
        ("retrySchedule", "a negative delay", [-1]),
        ("retrySchedule", "a huge delay", [1e308]),
        ("retrySchedule", "a string", ["5s"]),
        ("retrySchedule", "a number", 5),
        ("retrySchedule", "nested", [[1]]),
        ("timeoutSeconds", "0", 0),
        ("timeoutSeconds", "31", 31),
        ("timeoutSeconds", "huge", 10**30),
        ("timeoutSeconds", "a fraction", 1.5),
        ("timeoutSeconds", "a string", "10"),
        ("timeoutSeconds", "true", True),
    ]
    for name, label, value in bad:
        yield Hostile(
            f"{name}: {label} (POST)", "POST", "/v1/webhooks", body_of(webhook | {name: value})
        )
        yield Hostile(
            f"{name}: {label} (PATCH)", "PATCH", f"/v1/webhooks/{s.webhook}", body_of({name: value})
        )


def _bad_bodies(s: Seeded) -> Iterator[Hostile]:
    """Not JSON, not UTF-8, not an object, or not sent as JSON, on every route with a body."""
    routes = [
        ("POST", "/v1/accounts", True),
        ("POST", "/v1/webhooks", False),
        ("PATCH", f"/v1/webhooks/{s.webhook}", False),
        ("POST", "/v1/events", False),
        ("POST", "/v1/events/batch", False),
        ("POST", "/v1/webhooks/test", False),
        ("POST", f"/v1/webhooks/{s.webhook}/recover", False),
        ("POST", f"/v1/webhooks/{s.webhook}/rotate-secret", False),
        ("POST", f"/v1/listen/deliveries/{s.listen_delivery}", False),
    ]
    bodies: list[tuple[str, bytes, str]] = [
        ("truncated JSON", b'{"a": ', "application/json"),
        ("not JSON", b"hello", "application/json"),
        ("invalid UTF-8", b'{"name": "\xff\xfe"}', "application/json"),
        ("an encoded surrogate", b'{"name": "\xed\xa0\x80"}', "application/json"),
        ("an overlong encoding", b'{"name": "\xc0\xaf"}', "application/json"),
        ("a JSON array", b"[1, 2]", "application/json"),
        ("a JSON string", b'"text"', "application/json"),
        ("JSON null", b"null", "application/json"),
        ("empty", b"", "application/json"),
        ("a NaN literal", b'{"x": NaN}', "application/json"),
        ("plain text", b'{"name": "x"}', "text/plain"),
        ("a form", b"name=x", "application/x-www-form-urlencoded"),
        ("XML", b"<name>x</name>", "application/xml"),
        ("a BOM", b'\xef\xbb\xbf{"name": "x"}', "application/json"),
    ]
    for method, path, admin in routes:
        for label, body, content_type in bodies:
            yield Hostile(
                f"{label} to {method} {path}",
                method,
                path,
                body,
                headers={"Content-Type": content_type},
                as_admin=admin,
            )
    yield Hostile(
        "unknown field",
        "POST",
        "/v1/webhooks",
        body_of({"url": "http://127.0.0.1:9/x", "events": ["fabric.completed"], "colour": 1}),
        field="colour",
    )


def _ids(s: Seeded) -> Iterator[Hostile]:
    """Unknown ids, another account's ids, and ids no id looks like, on every route."""
    not_found = frozenset({404})
    bad_ids = {
        "unknown": "wh_06H4A8CTXDFPPP34W9NY7DWDTW",
        "overlong": "wh_" + LONG,
        "NUL": "wh_%00",
        "percent-encoded surrogate": "wh_%ED%A0%80",
        "dot-dot": "..%2F..%2Fetc",
    }
    templates = [
        ("GET", "/v1/webhooks/{}"),
        ("PATCH", "/v1/webhooks/{}"),
        ("DELETE", "/v1/webhooks/{}"),
        ("GET", "/v1/webhooks/{}/secret"),
        ("GET", "/v1/webhooks/{}/public-key"),
        ("GET", "/v1/webhooks/{}/headers"),
        ("GET", "/v1/webhooks/{}/deliveries"),
        ("GET", "/v1/webhooks/{}/stats"),
        ("GET", "/v1/webhooks/{}/stats/hourly"),
        ("GET", "/v1/webhooks/{}/stats/series"),
        ("POST", "/v1/webhooks/{}/recover"),
        ("POST", "/v1/webhooks/{}/rotate-secret"),
        ("POST", "/v1/webhooks/{}/rotate-secret/complete"),
        ("GET", "/v1/deliveries/{}"),
        ("POST", "/v1/deliveries/{}/retry"),
        ("POST", "/v1/listen/deliveries/{}"),
        ("GET", "/v1/events/{}"),
        ("DELETE", "/v1/keys/{}"),
    ]
    bodies = {
        "PATCH": {"description": "x"},
        "POST": {"since": "2026-01-01T00:00:00Z", "status": 200, "durationMs": 1},
    }
    for method, template in templates:
        for label, value in bad_ids.items():
            body = bodies.get(method)
            if body is not None and template.endswith("/recover"):
                body = {"since": "2026-01-01T00:00:00Z"}
            elif body is not None and template.endswith("/rotate-secret"):
                body = {}
            elif body is not None and template.endswith("/complete"):
                body = None
            elif body is not None and "listen" in template:
                body = {"status": 200, "durationMs": 1}
            elif body is not None and template.endswith("/retry"):
                body = None
            yield Hostile(
                f"{label} id: {method} {template}",
                method,
                template.format(value),
                body_of(body) if body is not None else None,
                # an id PostgreSQL cannot hold (NUL) may be refused as such
                statuses=not_found | {400} if label == "NUL" else not_found,
            )
    other = {
        "webhook": s.other_webhook,
        "delivery": s.other_delivery,
        "event": s.other_event,
    }
    for method, template in templates:
        kind = (
            "event"
            if "/events/" in template
            else "delivery"
            if "deliver" in template.split("/")[2] or "listen" in template
            else "webhook"
        )
        target = other[kind]
        body = None
        if method == "PATCH":
            body = {"description": "mine now"}
        elif template.endswith("/recover"):
            body = {"since": "2026-01-01T00:00:00Z"}
        elif template.endswith("/rotate-secret"):
            body = {}
        elif "listen" in template:
            body = {"status": 200, "durationMs": 1}
        yield Hostile(
            f"another account's {kind}: {method} {template}",
            method,
            template.format(target),
            body_of(body) if body is not None else None,
            statuses=not_found,
        )
    for label, body in (
        ("another account's webhook", {"webhookId": s.other_webhook, "event": "fabric.completed"}),
        ("an unknown webhook", {"webhookId": "wh_nope", "event": "fabric.completed"}),
    ):
        yield Hostile(
            f"test event to {label}",
            "POST",
            "/v1/webhooks/test",
            body_of(body),
            statuses=not_found,
            field="webhookId",
        )
    yield Hostile(
        "publish to another account with an account key",
        "POST",
        "/v1/events",
        body_of({"account": s.other_account, "event": "fabric.completed", "data": COMPLETED}),
        statuses=not_found,
        field="account",
    )
    yield Hostile(
        "admin publish to an unknown account",
        "POST",
        "/v1/events",
        body_of({"account": "acct_nope", "event": "fabric.completed", "data": COMPLETED}),
        as_admin=True,
        statuses=not_found,
    )
    for method, template in (
        ("GET", "/v1/accounts/{}"),
        ("DELETE", "/v1/accounts/{}"),
        ("POST", "/v1/accounts/{}/keys"),
        ("GET", "/v1/accounts/{}/keys"),
        ("DELETE", "/v1/accounts/{}/keys/key_nope"),
    ):
        for label, value in (
            ("unknown", "acct_nope"),
            ("overlong", "acct_" + LONG),
            ("NUL", "acct_%00"),
        ):
            yield Hostile(
                f"{label} account: {method} {template}",
                method,
                template.format(value),
                as_admin=True,
                statuses=not_found | {400} if label == "NUL" else not_found,
            )
    yield Hostile(
        "another account's key",
        "DELETE",
        f"/v1/accounts/{s.other_account}/keys/{s.key_id}",
        as_admin=True,
        statuses=not_found,
    )
    yield Hostile("unknown route", "GET", "/v1/nothing", statuses=not_found)
    yield Hostile("unknown method", "PUT", "/v1/webhooks", statuses=frozenset({405}))
    yield Hostile(
        "unknown method on an id", "POST", f"/v1/events/{s.event}", statuses=frozenset({405})
    )


def _auth(s: Seeded) -> Iterator[Hostile]:
    """No key, a wrong key, the wrong kind of key, and keys no header can carry."""
    unauthorised = frozenset({401})
    account_routes = [
        ("GET", "/v1/webhooks"),
        ("POST", "/v1/webhooks"),
        ("GET", f"/v1/webhooks/{s.webhook}"),
        ("POST", f"/v1/webhooks/{s.webhook}/rotate-secret"),
        ("POST", f"/v1/webhooks/{s.webhook}/rotate-secret/complete"),
        ("GET", f"/v1/deliveries/{s.delivery}"),
        ("GET", "/v1/events"),
        ("POST", "/v1/events"),
        ("GET", "/v1/stats"),
        ("GET", "/v1/listen"),
        ("GET", "/v1/event-types"),
        ("GET", "/v1/keys"),
        ("POST", "/v1/keys"),
        ("DELETE", f"/v1/keys/{s.key_id}"),
        ("GET", f"/v1/webhooks/{s.webhook}/stats/series"),
    ]
    body = body_of({"event": "fabric.completed", "data": COMPLETED})
    for method, path in account_routes:
        for label, value in (
            ("no key", None),
            ("a wrong key", "Bearer pwk_wrong"),
            ("not Bearer", f"Basic {s.key}"),
            ("an empty bearer", "Bearer "),
        ):
            headers = {} if value is None else {"Authorization": value}
            yield Hostile(
                f"{label}: {method} {path}",
                method,
                path,
                body if method == "POST" else None,
                headers=headers | {"X-No-Default-Auth": "1"},
                statuses=unauthorised,
            )
        yield Hostile(
            f"a key of invalid UTF-8: {method} {path}",
            method,
            path,
            body if method == "POST" else None,
            headers={"X-No-Default-Auth": "1"},
            raw_headers=((b"authorization", b"Bearer \xff\xfe\xed\xa0\x80"),),
            statuses=unauthorised,
        )
    for method, path in (
        ("GET", "/v1/accounts"),
        ("POST", "/v1/accounts"),
        ("GET", f"/v1/accounts/{s.account}"),
    ):
        yield Hostile(
            f"an account key on an admin route: {method} {path}",
            method,
            path,
            body_of({"name": "x"}) if method == "POST" else None,
            statuses=frozenset({403}),
        )
    for method, path in (
        ("GET", "/v1/webhooks"),
        ("GET", f"/v1/deliveries/{s.delivery}"),
        ("GET", "/v1/listen"),
        ("GET", "/v1/keys"),
        ("POST", "/v1/keys"),
        ("DELETE", f"/v1/keys/{s.key_id}"),
    ):
        yield Hostile(
            f"the admin key on an account route: {method} {path}",
            method,
            path,
            as_admin=True,
            statuses=frozenset({403}),
        )


def _queries(s: Seeded) -> Iterator[Hostile]:
    """Bad limits, cursors, filters and windows on every list."""
    lists = [
        "/v1/webhooks",
        "/v1/events",
        f"/v1/webhooks/{s.webhook}/deliveries",
    ]
    for path in lists:
        for query, culprit in (
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=-1", "limit"),
            ("limit=abc", "limit"),
            ("limit=1e3", "limit"),
            ("limit=99999999999999999999999", "limit"),
            ("cursor=zzz", "cursor"),
            ("cursor=%00", "cursor"),
            ("cursor=%ED%A0%80", "cursor"),
            (f"cursor={'c' * 5000}", "cursor"),
        ):
            yield Hostile(f"{query[:40]} on {path}", "GET", f"{path}?{query}", field=culprit)
    yield Hostile("accounts limit=0", "GET", "/v1/accounts?limit=0", as_admin=True, field="limit")
    yield Hostile(
        "accounts cursor=zzz", "GET", "/v1/accounts?cursor=zzz", as_admin=True, field="cursor"
    )
    for query, culprit in (
        ("since=yesterday", "since"),
        ("since=99999999999999999999", "since"),
        ("since=%00", "since"),
        ("undelivered=maybe", "undelivered"),
    ):
        yield Hostile(f"events {query}", "GET", f"/v1/events?{query}", field=culprit)
    deliveries = f"/v1/webhooks/{s.webhook}/deliveries"
    for query, culprit in (
        ("status=exploded", "status"),
        ("status=%00", "status"),
        ("event=fabric.exploded", "event"),
        (f"event={'e' * 5000}", "event"),
        ("event=%ED%A0%80", "event"),
    ):
        yield Hostile(f"deliveries {query[:40]}", "GET", f"{deliveries}?{query}", field=culprit)
    for query in ("hours=0", "hours=169", "hours=x", "hours=1e400"):
        yield Hostile(
            f"hourly {query}",
            "GET",
            f"/v1/webhooks/{s.webhook}/stats/hourly?{query}",
            field="hours",
        )
    for query in ("window=2d", "window=", "window=%00"):
        yield Hostile(f"stats {query}", "GET", f"/v1/stats?{query}", field="window")
    for query in ("window=2d", "window=", "window=%00", "window=%ED%A0%80", "window=" + LONG):
        yield Hostile(
            f"series {query[:40]}",
            "GET",
            f"/v1/webhooks/{s.webhook}/stats/series?{query}",
            field="window",
        )
    for query, culprit in (
        ("events=fabric.exploded", "events[0]"),
        ("events=fabric.completed,credits.nope", "events[1]"),
        ("events=%ED%A0%80", "events[0]"),
        ("device=" + "d" * 65, "device"),
        ("device=a%20b", "device"),
        ("device=%00", "device"),
        ("device=..%2F", "device"),
    ):
        yield Hostile(f"listen {query[:40]}", "GET", f"/v1/listen?{query}", field=culprit)


def _headers(s: Seeded) -> Iterator[Hostile]:
    """The Idempotency-Key header: bytes that are not text, control characters, length."""
    body = body_of({"event": "fabric.completed", "data": COMPLETED})
    for label, raw in (
        ("an encoded surrogate", b"key-\xed\xa0\x80"),
        ("invalid UTF-8", b"key-\xff"),
        ("Latin-1", b"cl\xe9"),
        ("a tab", b"a\tb"),
        ("DEL", b"a\x7fb"),
        ("overlong", b"k" * 256),
    ):
        for as_admin in (False, True):
            payload = body
            if as_admin:
                payload = body_of(
                    {"account": s.account, "event": "fabric.completed", "data": COMPLETED}
                )
            yield Hostile(
                f"Idempotency-Key with {label}{' (admin)' if as_admin else ''}",
                "POST",
                "/v1/events",
                payload,
                raw_headers=((b"idempotency-key", raw),),
                as_admin=as_admin,
                field="Idempotency-Key",
            )
    for key in (f"a{NUL}b", "a\u0085b", "caf\u00e9", LONE):
        yield Hostile(
            f"batch idempotencyKey {key!r}",
            "POST",
            "/v1/events/batch",
            body_of(
                {
                    "events": [
                        {"event": "fabric.completed", "data": COMPLETED, "idempotencyKey": key}
                    ]
                }
            ),
            field="events[0].idempotencyKey" if key == LONE else "events[0].Idempotency-Key",
        )
