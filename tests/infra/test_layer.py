"""The pip-built layer: the right pip invocation, CPython 3.12 bytecode for what it installed, a stamp
that skips rebuilds (and names the compiling interpreter), a clear failure. pip is faked (no
download); the compilation is real, with the CPython 3.12 that `make synth` uses."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import layer
from infra.bytecode import (
    CHECKED_HASH_FLAGS,
    INTERPRETER_ENV_VAR,
    BytecodeBuildError,
    BytecodeInterpreter,
    compiled_path,
    find_interpreter,
    pyc_flags,
)
from infra.layer import LayerBuildError, LayerTarget, build_dependency_layer, is_current, pip_install_command, requirements_fingerprint

REAL_RUN = subprocess.run


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("pydantic==2.*\n")
    return path


class FakePip:
    """Stands in for `subprocess.run(pip ...)`: records calls, writes a package or fails. Every other
    command (the bytecode compilation) runs for real."""

    def __init__(self, returncode: int = 0, output: str = "", module_source: str = "VERSION = 2\n") -> None:
        self.calls: list[list[str]] = []
        self.returncode = returncode
        self.output = output
        self.module_source = module_source

    def __call__(self, command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        if command[1:3] != ["-m", "pip"]:
            return REAL_RUN(command, **options)
        self.calls.append(command)
        if self.returncode == 0:
            destination = Path(command[command.index("-t") + 1])
            (destination / "pydantic").mkdir(parents=True)
            (destination / "pydantic" / "__init__.py").write_text(self.module_source)
            (destination / "pydantic" / "fields.py").write_text("FROZEN = frozenset({'a', 'b', 'c'})\n")
            (destination / "bin").mkdir()
            (destination / "bin" / "console-script").write_text("#!/host/python\n")
        return subprocess.CompletedProcess(command, self.returncode, stdout="", stderr=self.output)


@pytest.fixture(scope="module")
def interpreter() -> BytecodeInterpreter:
    return find_interpreter()


def test_pip_targets_arm64_cpython_312_binary_wheels(requirements: Path, tmp_path: Path) -> None:
    target = LayerTarget(requirements=requirements, layer_root=tmp_path / "layer")
    command = pip_install_command(target, target.site_packages)
    joined = " ".join(command)
    assert "--platform manylinux2014_aarch64" in joined
    assert "--implementation cp" in joined
    assert "--python-version 3.12" in joined
    assert "--only-binary=:all:" in command
    assert command[-2:] == ["-t", str(tmp_path / "layer" / "python")]


def test_build_installs_into_python_dir_and_stamps_outside_the_asset(
    requirements: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip = FakePip()
    monkeypatch.setattr(layer.subprocess, "run", pip)
    layer_root = build_dependency_layer(requirements, tmp_path / "build" / "layer")

    assert (layer_root / "python" / "pydantic" / "__init__.py").is_file()
    assert "--no-compile" in pip.calls[0]  # pip would compile with this venv's 3.11
    assert not (layer_root / "python" / "bin").exists()
    assert sorted(p.name for p in layer_root.iterdir()) == ["python"]
    stamp = LayerTarget(requirements=requirements.resolve(), layer_root=layer_root).stamp
    assert stamp.read_text().strip() == requirements_fingerprint(requirements, find_interpreter())
    assert not (tmp_path / "build" / "layer.partial").exists()
    assert len(pip.calls) == 1


def test_unchanged_requirements_skip_pip(requirements: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pip = FakePip()
    monkeypatch.setattr(layer.subprocess, "run", pip)
    build_dependency_layer(requirements, tmp_path / "layer")
    build_dependency_layer(requirements, tmp_path / "layer")
    assert len(pip.calls) == 1

    requirements.write_text("pydantic==2.*\nhttpx==0.28.1\n")
    build_dependency_layer(requirements, tmp_path / "layer")
    assert len(pip.calls) == 2


def test_pip_failure_is_a_clear_error_and_leaves_no_trusted_layer(
    requirements: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layer.subprocess, "run", FakePip(returncode=1, output="ERROR: No matching distribution found"))
    with pytest.raises(LayerBuildError) as failure:
        build_dependency_layer(requirements, tmp_path / "layer")
    message = str(failure.value)
    assert "network access" in message and "aarch64" in message
    assert "No matching distribution found" in message
    assert not (tmp_path / "layer").exists()
    assert not (tmp_path / "layer.partial").exists()
    assert not LayerTarget(requirements=requirements, layer_root=tmp_path / "layer").stamp.exists()


def test_missing_requirements_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match="requirements file not found"):
        build_dependency_layer(tmp_path / "absent.txt", tmp_path / "layer")


def test_layer_ships_checked_hash_bytecode_of_python_312(
    requirements: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: BytecodeInterpreter
) -> None:
    monkeypatch.setattr(layer.subprocess, "run", FakePip())
    site_packages = build_dependency_layer(requirements, tmp_path / "layer", interpreter=interpreter) / "python"

    assert interpreter.cache_tag == "cpython-312"
    for module in ("__init__", "fields"):
        pyc = compiled_path(site_packages / "pydantic" / f"{module}.py", "cpython-312")
        assert pyc.is_file()
        header = pyc.read_bytes()[:16]
        assert header[:4] == bytes.fromhex(interpreter.magic)  # 3.12's magic number
        assert pyc_flags(pyc) == CHECKED_HASH_FLAGS == 0b11  # hash-based and checked: valid in a fixed-timestamp zip
        assert b"/opt/python/pydantic/" in pyc.read_bytes()  # the path it has in Lambda, not this build directory
    assert not list(site_packages.rglob("*.cpython-311.pyc"))


def test_layer_bytecode_does_not_depend_on_where_it_is_built(
    requirements: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: BytecodeInterpreter
) -> None:
    monkeypatch.setattr(layer.subprocess, "run", FakePip())
    first = build_dependency_layer(requirements, tmp_path / "one" / "layer", interpreter=interpreter)
    second = build_dependency_layer(requirements, tmp_path / "elsewhere" / "deeper" / "layer", interpreter=interpreter)
    pycs = sorted(p.relative_to(first) for p in first.rglob("*.pyc"))
    assert pycs and pycs == sorted(p.relative_to(second) for p in second.rglob("*.pyc"))
    assert all((first / p).read_bytes() == (second / p).read_bytes() for p in pycs)


def test_stamp_names_the_compiling_interpreter_and_another_version_rebuilds(
    requirements: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: BytecodeInterpreter
) -> None:
    pip = FakePip()
    monkeypatch.setattr(layer.subprocess, "run", pip)
    layer_root = build_dependency_layer(requirements, tmp_path / "layer", interpreter=interpreter)
    target = LayerTarget(requirements=requirements.resolve(), layer_root=layer_root)
    patched = dataclasses.replace(interpreter, version="3.12.99")
    new_magic = dataclasses.replace(interpreter, magic="00000000")

    assert interpreter.version in interpreter.fingerprint and interpreter.magic in interpreter.fingerprint
    assert is_current(target, interpreter)
    assert not is_current(target, patched) and not is_current(target, new_magic)
    assert len({requirements_fingerprint(requirements, i) for i in (interpreter, patched, new_magic)}) == 3

    build_dependency_layer(requirements, tmp_path / "layer", interpreter=patched)
    assert len(pip.calls) == 2
    assert is_current(target, patched)


def test_missing_interpreter_fails_the_build_before_pip_with_how_to_fix(
    requirements: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip = FakePip()
    monkeypatch.setattr(layer.subprocess, "run", pip)
    monkeypatch.setattr(layer, "find_interpreter", lambda: find_interpreter(environ={"PYENV_ROOT": str(tmp_path / "no-pyenv"), "PATH": str(tmp_path)}))
    if sys.version_info[:2] == (3, 12):
        pytest.skip("this interpreter is itself CPython 3.12, so it is always found")
    with pytest.raises(BytecodeBuildError) as failure:
        build_dependency_layer(requirements, tmp_path / "layer")
    message = str(failure.value)
    assert "no CPython 3.12 found" in message
    assert "pyenv install 3.12" in message and INTERPRETER_ENV_VAR in message
    assert pip.calls == []
    assert not (tmp_path / "layer").exists() and not (tmp_path / "layer.partial").exists()


def test_configured_interpreter_must_exist_and_be_cpython_312(tmp_path: Path) -> None:
    with pytest.raises(BytecodeBuildError, match="does not run"):
        find_interpreter(environ={INTERPRETER_ENV_VAR: str(tmp_path / "python3.12")})
    if sys.version_info[:2] != (3, 12):
        with pytest.raises(BytecodeBuildError, match=r"is cpython 3\.\d+\.\d+, but Lambda runs CPython 3\.12"):
            find_interpreter(environ={INTERPRETER_ENV_VAR: sys.executable})


def test_configured_interpreter_is_used(interpreter: BytecodeInterpreter) -> None:
    assert find_interpreter(environ={INTERPRETER_ENV_VAR: str(interpreter.path)}) == interpreter


def test_module_that_does_not_compile_fails_the_build_and_leaves_no_layer(
    requirements: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: BytecodeInterpreter
) -> None:
    monkeypatch.setattr(layer.subprocess, "run", FakePip(module_source="def broken(:\n"))
    with pytest.raises(BytecodeBuildError, match="could not compile every module"):
        build_dependency_layer(requirements, tmp_path / "layer", interpreter=interpreter)
    assert not (tmp_path / "layer").exists() and not (tmp_path / "layer.partial").exists()
    assert not LayerTarget(requirements=requirements, layer_root=tmp_path / "layer").stamp.exists()
