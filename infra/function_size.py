"""Lambda's limit of 250 MB unzipped per function — its code and every layer it carries together.

Measured on the built assets (the staged `functions/` package, the main layer and each dependency
group's layer: what CDK zips), summed per flow from its declaration's `layers`. `make synth` prints
the table for every function and stops with `FunctionTooLarge` when one is over: a function that
Lambda would refuse at deploy time never leaves this machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.flows import FlowDeclaration

# AWS Lambda quota: "Deployment package (.zip file archive) size: 250 MB (unzipped), including layers".
LAMBDA_UNZIPPED_LIMIT_BYTES = 262_144_000
MAIN_LAYER = "main"


class FunctionTooLarge(RuntimeError):
    """A function's code plus its layers exceed Lambda's unzipped limit."""


def tree_bytes(path: Path) -> int:
    """Bytes of every file under `path` (what unzipping the asset puts on disk)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            total += (Path(folder) / name).stat().st_size
    return total


@dataclass(frozen=True)
class FunctionSize:
    flow: str
    parts: dict[str, int]  # "code", "main" and each group layer -> bytes

    @property
    def total(self) -> int:
        return sum(self.parts.values())


def function_sizes(
    flows: Iterable[FlowDeclaration], code: Path, main_layer: Path, group_layers: Mapping[str, Path]
) -> list[FunctionSize]:
    measured = {"code": tree_bytes(code), MAIN_LAYER: tree_bytes(main_layer)}
    measured.update({name: tree_bytes(path) for name, path in group_layers.items()})
    sizes = []
    for flow in flows:
        missing = [name for name in flow.layers if name not in group_layers]
        if missing:
            raise FunctionTooLarge(f"{flow.name}: no built layer for dependency group(s) {missing}")
        parts = {"code": measured["code"], MAIN_LAYER: measured[MAIN_LAYER], **{name: measured[name] for name in flow.layers}}
        sizes.append(FunctionSize(flow.name, parts))
    return sizes


def size_table(sizes: Iterable[FunctionSize], limit: int = LAMBDA_UNZIPPED_LIMIT_BYTES) -> str:
    rows = [f"{'function':<32}{'unzipped MB':>12}  {'of ' + _mb(limit) + ' MB':>10}  parts"]
    for size in sizes:
        parts = ", ".join(f"{name} {_mb(value)}" for name, value in size.parts.items())
        rows.append(f"{size.flow:<32}{_mb(size.total):>12}  {100 * size.total / limit:>9.0f}%  {parts}")
    return "\n".join(rows)


def check_function_sizes(sizes: Iterable[FunctionSize], limit: int = LAMBDA_UNZIPPED_LIMIT_BYTES) -> None:
    over = [size for size in sizes if size.total > limit]
    if over:
        raise FunctionTooLarge(
            "over Lambda's unzipped limit of " + _mb(limit) + " MB (code + layers): "
            + "; ".join(f"{size.flow} {_mb(size.total)} MB" for size in over)
            + ". Move the heavy dependency to a group only the flows that import it carry (FlowDeclaration.layers)."
        )


def _mb(value: int) -> str:
    return f"{value / 1_048_576:.1f}"
