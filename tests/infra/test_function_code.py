"""The staged function code asset: the functions package's sources and CPython 3.12 bytecode only,
the same bytes wherever it is built (so the CDK asset hash changes only with the code)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from infra.bytecode import CHECKED_HASH_FLAGS, BytecodeBuildError, BytecodeInterpreter, compiled_path, find_interpreter, pyc_flags
from infra.function_code import stage_function_code
from infra.stack import PROJECT_ROOT


@pytest.fixture(scope="module")
def interpreter() -> BytecodeInterpreter:
    return find_interpreter()


def small_project(root: Path) -> Path:
    package = root / "functions"
    (package / "flows" / "demo").mkdir(parents=True)
    (package / "tests").mkdir()
    (package / "__pycache__").mkdir()
    (package / "__init__.py").write_text("")
    (package / "flows" / "__init__.py").write_text("")
    (package / "flows" / "demo" / "__init__.py").write_text("")
    (package / "flows" / "demo" / "handler.py").write_text("def handler(event, context):\n    return {'ok': True}\n")
    (package / "tests" / "test_demo.py").write_text("def test_nothing():\n    pass\n")
    (package / "conftest.py").write_text("")
    (package / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"stale 3.11 bytecode")
    return root


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_staged_code_is_the_sources_with_their_312_bytecode(tmp_path: Path, interpreter: BytecodeInterpreter) -> None:
    asset = stage_function_code(small_project(tmp_path / "project"), tmp_path / "build" / "functions", interpreter=interpreter)

    assert sorted(p.name for p in asset.iterdir()) == ["functions"]
    sources = sorted(str(p.relative_to(asset)) for p in asset.rglob("*.py"))
    assert sources == ["functions/__init__.py", "functions/flows/__init__.py", "functions/flows/demo/__init__.py", "functions/flows/demo/handler.py"]
    compiled = sorted(asset.rglob("*.pyc"))
    assert compiled == sorted(compiled_path(asset / source, "cpython-312") for source in sources)
    assert {pyc_flags(pyc) for pyc in compiled} == {CHECKED_HASH_FLAGS}
    handler_pyc = compiled_path(asset / "functions/flows/demo/handler.py", "cpython-312").read_bytes()
    assert b"/var/task/functions/flows/demo/handler.py" in handler_pyc  # Lambda's path, not the build directory
    assert not (tmp_path / "build" / "functions.partial").exists()


def test_staging_is_reproducible_wherever_it_runs(tmp_path: Path, interpreter: BytecodeInterpreter) -> None:
    first = stage_function_code(PROJECT_ROOT, tmp_path / "a" / "functions", interpreter=interpreter)
    second = stage_function_code(PROJECT_ROOT, tmp_path / "b" / "c" / "asset", interpreter=interpreter)
    assert tree_digest(first) == tree_digest(second)


def test_restaging_replaces_what_was_there(tmp_path: Path, interpreter: BytecodeInterpreter) -> None:
    project = small_project(tmp_path / "project")
    asset = stage_function_code(project, tmp_path / "asset", interpreter=interpreter)
    (project / "functions" / "flows" / "demo" / "handler.py").unlink()
    stage_function_code(project, asset, interpreter=interpreter)
    assert not (asset / "functions" / "flows" / "demo" / "handler.py").exists()
    assert not compiled_path(asset / "functions" / "flows" / "demo" / "handler.py", "cpython-312").exists()


def test_code_that_does_not_compile_stops_the_build_and_keeps_the_last_good_asset(tmp_path: Path, interpreter: BytecodeInterpreter) -> None:
    project = small_project(tmp_path / "project")
    asset = stage_function_code(project, tmp_path / "asset", interpreter=interpreter)
    before = tree_digest(asset)
    (project / "functions" / "flows" / "demo" / "handler.py").write_text("def handler(:\n")
    with pytest.raises(BytecodeBuildError, match="could not compile every module"):
        stage_function_code(project, asset, interpreter=interpreter)
    assert tree_digest(asset) == before
    assert not (tmp_path / "asset.partial").exists()
