"""Figures, their targets and verdicts; the printed table and bench/results.json."""

from __future__ import annotations

import json
import math
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Comparison = Literal["<=", ">=", "=="]
Status = Literal["pass", "miss", "error", "info"]


@dataclass
class Figure:
    name: str
    value: float | None
    target: float | None
    comparison: Comparison = "<="
    unit: str = ""
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    informational: bool = False
    error: str | None = None

    @property
    def status(self) -> Status:
        if self.error is not None or (self.value is None and not self.informational):
            return "error"
        if self.informational or self.target is None or self.value is None:
            return "info"
        return "pass" if meets(self.value, self.target, self.comparison) else "miss"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status
        data.pop("informational")
        return data


def figure_from_json(data: dict[str, Any]) -> Figure:
    """A figure as `Figure.as_json` wrote it (a part measured in a child process)."""
    fields = {name: data[name] for name in ("name", "value", "target", "comparison", "unit", "note", "details", "error") if name in data}
    return Figure(**fields, informational=data.get("status") == "info" and data.get("error") is None)


def meets(value: float, target: float, comparison: Comparison) -> bool:
    if math.isnan(value):
        return False
    if comparison == "<=":
        return value <= target
    if comparison == ">=":
        return value >= target
    return value == target


def format_value(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if float(value).is_integer() and abs(value) < 1e6 and not unit.startswith("ms"):
        text = f"{int(value)}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
    return f"{text} {unit}".strip()


def format_target(figure: Figure) -> str:
    if figure.target is None:
        return "-"
    return f"{figure.comparison} {format_value(figure.target, figure.unit)}"


def table(figures: list[Figure], width: int = 100) -> str:
    rows = [("figure", "value", "target", "status")]
    rows += [(f.name, format_value(f.value, f.unit), format_target(f), f.status.upper()) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f for f in figures if f.note or f.error]
    if notes:
        lines.append("")
        for figure in notes:
            text = f"{figure.name}: " + (f"ERROR {figure.error}. " if figure.error else "") + figure.note
            lines.append(textwrap.fill(text, width=width, subsequent_indent="    "))
    return "\n".join(lines)


def write_results(path: Path, figures: list[Figure], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**meta, "figures": [f.as_json() for f in figures]}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
