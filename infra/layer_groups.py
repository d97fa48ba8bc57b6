"""Dependency groups: heavy libraries in layers of their own, carried only by the functions that use them.

Every function has the main layer (requirements.txt). A flow's declaration names the further groups
it needs (`FlowDeclaration.layers`, e.g. `("analytics",)` for pyarrow); each group is one requirements
file, built exactly like the main layer (infra/layer.py: pip for manylinux2014_aarch64 / cp312,
CPython 3.12 bytecode, cached by a stamp). A group's file names only what the main layer lacks — two
copies of one package on sys.path would shadow each other (`check_no_overlap`).

Lambda's limit of 250 MB unzipped holds per function, code plus all its layers: `make synth`
prints each function's size and fails when one exceeds it (infra/function_size.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.bytecode import BytecodeInterpreter
from infra.flows import FlowDeclaration
from infra.layer import LAMBDA_PLATFORM, build_dependency_layer


@dataclass(frozen=True)
class LayerGroup:
    name: str
    requirements: str  # a requirements file at the project root
    description: str


LAYER_GROUPS: dict[str, LayerGroup] = {
    "analytics": LayerGroup(
        "analytics",
        "requirements-analytics.txt",
        "pyarrow for the listening-analytics functions (Parquet facts and dimensions)",
    ),
}


class UnknownLayerGroup(ValueError):
    """A declaration names a dependency group no requirements file defines."""


def groups_used(flows: Iterable[FlowDeclaration]) -> list[LayerGroup]:
    """The groups the declarations name, each once; an unknown name is an error."""
    names = list(dict.fromkeys(name for flow in flows for name in flow.layers))
    unknown = [name for name in names if name not in LAYER_GROUPS]
    if unknown:
        raise UnknownLayerGroup(f"flows name unknown dependency groups {unknown}; known: {sorted(LAYER_GROUPS)}")
    return [LAYER_GROUPS[name] for name in names]


def requirement_names(requirements: Path) -> set[str]:
    """The distribution names a requirements file lists (normalised; `-r` includes and comments skipped)."""
    names = set()
    for line in requirements.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text)
        if match:
            names.add(re.sub(r"[-_.]+", "-", match.group(0)).lower())
    return names


def check_no_overlap(project_root: Path, groups: Iterable[LayerGroup]) -> None:
    main = requirement_names(project_root / "requirements.txt")
    for group in groups:
        shared = requirement_names(project_root / group.requirements) & main
        if shared:
            raise UnknownLayerGroup(f"{group.requirements} repeats packages of the main layer: {sorted(shared)}")


def build_group_layers(
    project_root: Path,
    build_root: Path,
    flows: Iterable[FlowDeclaration],
    *,
    interpreter: BytecodeInterpreter,
    target_platform: str = LAMBDA_PLATFORM,
) -> Mapping[str, Path]:
    """Build (or reuse) the layer of every group the declarations name: name -> asset directory."""
    groups = groups_used(flows)
    check_no_overlap(project_root, groups)
    return {
        group.name: build_dependency_layer(
            project_root / group.requirements, build_root / f"layer-{group.name}", interpreter=interpreter, target_platform=target_platform
        )
        for group in groups
    }
