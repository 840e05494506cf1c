"""Printing a suite's rows as a table and keeping them as JSON under ``var/bench/``."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import Options, Row

RESULTS_DIR = Path(__file__).resolve().parents[1] / "var" / "bench"
_COLUMNS = ("figure", "case", "value", "unit", "ratio", "baseline", "target", "verdict", "note")


def format_value(value: float) -> str:
    """Thousands separators for rates, a few digits for small numbers."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_table(title: str, rows: Sequence[Row]) -> str:
    """A plain-text table, one line per row, columns aligned."""
    cells = [list(_COLUMNS)]
    for row in rows:
        cells.append([
            row.figure, row.case, format_value(row.value), row.unit,
            "" if row.ratio is None else f"{row.ratio:.2f}x", row.baseline, row.target,
            row.verdict, row.note,
        ])
    widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS))]
    right = {2, 4}
    lines = []
    for n, line in enumerate(cells):
        text = "  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                         for i, (cell, w) in enumerate(zip(line, widths, strict=True)))
        lines.append(text.rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return f"== {title} ==\n" + "\n".join(lines)


def machine() -> dict[str, Any]:
    """Where the numbers come from."""
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average": list(os.getloadavg()),
    }


def write_json(suite: str, rows: Sequence[Row], options: Options, started: datetime,
               seconds: float, directory: Path = RESULTS_DIR) -> Path:
    """Write ``var/bench/<suite>-<timestamp>.json`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{suite}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    doc = {
        "suite": suite,
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        "options": asdict(options),
        "machine": machine(),
        "rows": [asdict(row) for row in rows],
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path
