"""How the ops CLI prints: aligned columns for a person, JSON for a script. Nothing here talks to AWS."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

EMPTY_CELL = "-"


def cell(value: Any) -> str:
    """One table cell: None and empty become "-", booleans "yes"/"no", newlines are flattened so a
    long reason cannot break the alignment."""
    if value is None or value == "" or value == []:
        return EMPTY_CELL
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return " ".join(str(value).split())


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; the last column is not padded (it holds the long text)."""
    cells = [[cell(value) for value in row] for row in rows]
    widths = [max([len(header)] + [len(row[i]) for row in cells]) for i, header in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        padded = [value.ljust(widths[i]) if i < len(values) - 1 else value for i, value in enumerate(values)]
        return "  ".join(padded).rstrip()

    return "\n".join([line(list(headers)), line(["-" * width for width in widths]), *(line(row) for row in cells)])


def print_json(document: Any, stream: TextIO) -> None:
    stream.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
