"""Reading what users type: JSON payloads (`--data`), event lists, `--filter` values,
durations (`--grace-period 24h`) and points in time (`--since 24h`, `--since 2026-11-20`)."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from promptha_webhooks import canonical_json
from promptha_webhooks.delivery_settings import parse_delays
from promptha_webhooks.errors import InvalidRequestError


def json_object(value: str | None, option: str = "--data") -> dict[str, Any] | None:
    """A JSON object given inline, as `@path/to/file.json`, or as `-` (stdin)."""
    if value is None:
        return None
    if value == "-":
        text = sys.stdin.read()
    elif value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {value[1:]}: {exc.strerror}") from None
    else:
        text = value
    try:
        # The service's own strict parser: NaN, Infinity and unsafe integers are refused here.
        document = canonical_json.loads(text.encode("utf-8"))
    except canonical_json.CanonicalJSONError as exc:
        raise typer.BadParameter(f"{option} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise typer.BadParameter(f'{option} must be a JSON object, like \'{{"userId": "u_1"}}\'')
    return document


def event_names(values: Sequence[str]) -> list[str]:
    """`-e a -e b`, `-e a,b` or a mix; order kept, duplicates dropped."""
    names: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if name and name not in names:
                names.append(name)
    return names


def filters(values: Sequence[str]) -> dict[str, list[Any]]:
    """`--filter fabricId=a,b` (strings) or `--filter 'amount=[5000, 10000]'` (JSON values)."""
    result: dict[str, list[Any]] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        key = key.strip()
        if not sep or not key:
            raise typer.BadParameter(f"--filter wants KEY=VALUE[,VALUE…], got {value!r}")
        raw = raw.strip()
        if raw.startswith("["):
            try:
                parsed = canonical_json.loads(raw.encode("utf-8"))
            except canonical_json.CanonicalJSONError as exc:
                raise typer.BadParameter(f"--filter {key}: {exc}") from None
            if not isinstance(parsed, list):  # pragma: no cover - "[" starts an array
                raise typer.BadParameter(f"--filter {key} must be a JSON array")
            items = parsed
        else:
            items = [item.strip() for item in raw.split(",") if item.strip()]
        if not items:
            raise typer.BadParameter(f"--filter {key} needs at least one value")
        result.setdefault(key, []).extend(items)
    return result


_DURATION = re.compile(r"(\d{1,9})\s*([smhd]?)")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def headers(values: Sequence[str]) -> dict[str, str]:
    """`--header 'X-Api-Key: abc'` (or `X-Api-Key=abc`), repeated (the API checks names and
    values)."""
    result: dict[str, str] = {}
    for value in values:
        colon, equals = value.find(":"), value.find("=")
        cut = min(i for i in (colon, equals) if i >= 0) if max(colon, equals) >= 0 else -1
        name, raw = (value[:cut].strip(), value[cut + 1 :].strip()) if cut >= 0 else ("", "")
        if not name:
            raise typer.BadParameter(f"--header wants NAME:VALUE, got {value!r}")
        result[name] = raw
    return result


def retry_schedule(value: str) -> list[float]:
    """`--retry-schedule 5s,30s,5m`: the delays before each retry; `none` for no retries."""
    try:
        delays = parse_delays(value)
    except InvalidRequestError as exc:
        raise typer.BadParameter(f"--retry-schedule: {exc.message}") from None
    if delays is None:
        raise typer.BadParameter("--retry-schedule wants delays like 5s,30s,5m, or none")
    return delays


def duration_seconds(value: str, option: str) -> int:
    """Whole seconds from `90`, `90s`, `30m`, `24h` or `7d` (range checks are the API's)."""
    found = _DURATION.fullmatch(value.strip().lower())
    if found is None:
        raise typer.BadParameter(
            f"{option} wants seconds or a number with a unit (s, m, h, d), like 24h; got {value!r}"
        )
    return int(found.group(1)) * _UNIT_S[found.group(2)]


_AGO = re.compile(r"(\d{1,9})\s*([smhd])")


def point_in_time(value: str, option: str, now: datetime) -> datetime:
    """A time in UTC from `now`, an ISO 8601 date or time (`2026-11-20`,
    `2026-11-20T08:00:00Z`; without a zone: UTC, as the dashboard and the tables show times),
    or how long before `now` with a unit (`90s`, `30m`, `24h`, `7d`). A ValueError says what is
    wrong, in one line."""
    text = value.strip().lower()
    if text == "now":
        return now
    ago = _AGO.fullmatch(text)
    try:
        if ago is not None:
            return now - timedelta(seconds=int(ago.group(1)) * _UNIT_S[ago.group(2)])
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise ValueError(
            f"{option} wants a time: ISO 8601 (2026-11-20, 2026-11-20T08:00:00Z; UTC unless it "
            f"has an offset), how long ago (30m, 24h, 7d) or now; got {value!r}"
        )
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC)


def time_ahead(value: str, option: str) -> datetime:
    """A time to come: how long from now with a unit (`90s`, `30m`, `2h`, `7d`), or an ISO 8601
    time as `point_in_time` reads it (UTC unless it has an offset); a bad value is Typer's
    one-line usage error."""
    now = datetime.now(tz=UTC)
    ahead = _AGO.fullmatch(value.strip().lower())
    if ahead is not None:
        return now + timedelta(seconds=int(ahead.group(1)) * _UNIT_S[ahead.group(2)])
    try:
        return point_in_time(value, option, now)
    except ValueError:
        raise typer.BadParameter(
            f"{option} wants how long from now (90s, 30m, 2h, 7d) or a time "
            f"(2026-12-24T09:00:00Z; UTC unless it has an offset); got {value!r}"
        ) from None


def time_point(value: str, option: str) -> datetime:
    """`point_in_time` from now, for an option: a bad value is Typer's one-line usage error."""
    try:
        return point_in_time(value, option, datetime.now(tz=UTC))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
