"""The results table (stdout), its notes, and the optional JSON file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench.common import Result, format_number

HEADERS = ("benchmark", "figure", "unit", "baseline", "ratio", "target", "result")


def _figure(result: Result) -> str:
    if result.text is not None:
        return result.text
    if result.figure is None or math.isnan(result.figure):
        return "—"
    return format_number(result.figure)


def _row(result: Result) -> tuple[str, ...]:
    baseline = format_number(result.baseline) if result.baseline else "—"
    # Rounded down, so a ratio shown as meeting a target does meet it.
    ratio = f"{math.floor(result.ratio * 100) / 100:.2f}×" if result.ratio is not None else "—"
    target = result.target.describe() if result.target else "—"
    passed = {True: "PASS", False: "FAIL", None: "—"}[result.passed]
    if result.passed is False and result.target is not None and result.figure is not None:
        passed += " " + result.target.miss(result.figure, result.ratio)
    return (result.name, _figure(result), result.unit, baseline, ratio, target, passed)


def table(results: list[Result]) -> str:
    rows = [HEADERS, *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    right = {1, 3, 4}

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(rows[0]), rule, *(line(row) for row in rows[1:])]
    notes = [f"  {r.name}: " + "; ".join(r.notes) for r in results if r.notes]
    baselines = [f"  {r.name}: baseline is {r.baseline_label}" for r in results if r.baseline_label]
    if notes or baselines:
        out += ["", "notes:", *baselines, *notes]
    return "\n".join(out)


def write_json(path: Path, results: list[Result], meta: dict[str, Any]) -> None:
    def clean(value: float | None) -> float | None:
        return None if value is None or math.isnan(value) or math.isinf(value) else value

    rows = [
        {
            "name": r.name,
            "figure": clean(r.figure),
            "text": r.text,
            "unit": r.unit,
            "baseline": clean(r.baseline),
            "baseline_label": r.baseline_label,
            "ratio": clean(r.ratio),
            "target": r.target.describe() if r.target else None,
            "passed": r.passed,
            "miss": r.target.miss(r.figure, r.ratio)
            if r.passed is False and r.target is not None and r.figure is not None
            else None,
            "notes": r.notes,
        }
        for r in results
    ]
    path.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
