"""The table ``python -m bench`` prints, the machine it ran on, and the JSON it writes."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import Result

__all__ = ["RESULTS_DIR", "format_table", "format_value", "machine", "write_json"]

#: Where runs are written (``$FIREBELL_BENCH_RESULTS`` moves it, e.g. for the smoke test).
RESULTS_DIR = Path(
    os.environ.get("FIREBELL_BENCH_RESULTS") or Path(__file__).resolve().parent / "results"
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPUs, CPU model, Python, SQLite, OS."""
    import sqlite3

    import sqlalchemy

    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "platform": platform.platform(),
    }


def format_value(value: float | None, unit: str) -> str:
    """``value`` in ``unit``, rounded for reading (``12,345/s``, ``3.2 ms``, ``1.25 s``)."""
    if value is None:
        return "-"
    if unit == "/s":
        return f"{value:,.0f}/s" if value >= 100 else f"{value:,.1f}/s"
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 1000 else f"{value / 1000:,.2f} s"
    if unit == "s":
        return f"{value:,.2f} s"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.0f} {unit}".strip() if value >= 100 else f"{value:g} {unit}".strip()


def _goal_text(result: Result) -> str:
    if result.goal is None:
        return ""
    sign = ">=" if result.better == "higher" else "<="
    if result.baseline is not None:
        return f"{sign} {result.goal:g}x"
    if result.goal == 0:
        return "= 0"
    return f"{'>=' if result.better == 'higher' else '<'} {format_value(result.goal, result.unit)}"


def _met_text(result: Result) -> str:
    met = result.met
    return "" if met is None else ("yes" if met else "NO")


def format_table(results: Sequence[Result]) -> str:
    """The results as a Markdown table (readable in a terminal, pasteable into the docs)."""
    header = ("part", "measure", "Firebell", "baseline", "ratio", "goal", "met")
    rows = [header]
    for r in results:
        baseline = (
            f"{format_value(r.baseline, r.unit)} ({r.baseline_name})"
            if r.baseline is not None
            else ""
        )
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
        rows.append(
            (
                r.part,
                r.measure,
                format_value(r.value, r.unit),
                baseline,
                ratio,
                _goal_text(r),
                _met_text(r),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    lines = [line(rows[0]), separator, *(line(row) for row in rows[1:])]
    notes = [f"- {r.part} / {r.measure}: {r.note}" for r in results if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def write_json(
    results: Sequence[Result], *, mode: str, parts: Sequence[str], options: dict[str, Any]
) -> Path:
    """Write the run to ``bench/results/<UTC time>-<mode>.json`` and ``latest-<mode>.json``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    document = {
        "when": stamp.isoformat(),
        "mode": mode,
        "parts": list(parts),
        "options": options,
        "machine": machine(),
        "results": [r.to_json() for r in results],
    }
    text = json.dumps(document, indent=2, default=str)
    path = RESULTS_DIR / f"{stamp:%Y%m%dT%H%M%SZ}-{mode}.json"
    path.write_text(text)
    (RESULTS_DIR / f"latest-{mode}.json").write_text(text)
    return path
