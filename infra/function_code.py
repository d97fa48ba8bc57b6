"""Stages the functions' code asset: the `functions` package's sources plus their CPython 3.12 bytecode.

The asset is a directory of its own (`build/functions`, holding `functions/...`), not the project
root filtered by exclude patterns: only a copy can carry `.pyc` files built by Lambda's Python
without mixing in the 3.11 `__pycache__` that the venv, the tests and the sandbox leave in the
checkout. Handlers keep their import path `functions.flows.<flow>.handler.handler`, because Lambda
puts the asset's root (/var/task) on sys.path.

The copy leaves out what Lambda never imports (tests, caches, editor litter), then infra/bytecode.py
compiles it (checked-hash .pyc recorded as living under /var/task). The bytes depend only on the
sources and the interpreter, so the CDK asset hash changes exactly when the code or the compiling
interpreter does, wherever the checkout lives. It is rebuilt on every synth (a second or two): a copy
that could fall out of step with the sources is not worth the saving.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from infra.bytecode import BytecodeInterpreter, compile_tree, find_interpreter

PACKAGE = "functions"
FUNCTION_RUNTIME_PATH = "/var/task"  # where Lambda unpacks a function's code
# Left out of the copy (shutil.ignore_patterns, matched against each file or directory name).
NOT_SHIPPED: tuple[str, ...] = (
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "tests",
    "test_*.py",
    "conftest.py",
    ".DS_Store",
    ".*.swp",
)


def stage_function_code(project_root: Path, destination: Path, *, interpreter: BytecodeInterpreter | None = None) -> Path:
    """Copy `project_root/functions` into `destination/functions`, compile it, and return `destination`
    (the asset directory). Built beside the destination and swapped in, so a failure never leaves a
    half-compiled asset behind."""
    source = project_root.resolve() / PACKAGE
    if not (source / "__init__.py").is_file():
        raise FileNotFoundError(f"no {PACKAGE} package at {source}")
    interpreter = interpreter or find_interpreter()
    destination = destination.resolve()
    staging = destination.with_name(f"{destination.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        shutil.copytree(source, staging / PACKAGE, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
        compile_tree(interpreter, staging, FUNCTION_RUNTIME_PATH)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(destination, ignore_errors=True)
    staging.rename(destination)
    return destination
