"""The pip-built layer: the right pip invocation, a stamp that skips rebuilds, a clear failure."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra import layer
from infra.layer import LayerBuildError, LayerTarget, build_dependency_layer, pip_install_command, requirements_fingerprint


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("pydantic==2.*\n")
    return path


class FakePip:
    """Stands in for `subprocess.run(pip ...)`: records calls, writes a package or fails."""

    def __init__(self, returncode: int = 0, output: str = "") -> None:
        self.calls: list[list[str]] = []
        self.returncode = returncode
        self.output = output

    def __call__(self, command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(command)
        if self.returncode == 0:
            destination = Path(command[command.index("-t") + 1])
            (destination / "pydantic").mkdir(parents=True)
            (destination / "pydantic" / "__init__.py").write_text("")
            (destination / "bin").mkdir()
            (destination / "bin" / "console-script").write_text("#!/host/python\n")
        return subprocess.CompletedProcess(command, self.returncode, stdout="", stderr=self.output)


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
    assert not (layer_root / "python" / "bin").exists()
    assert sorted(p.name for p in layer_root.iterdir()) == ["python"]
    stamp = LayerTarget(requirements=requirements.resolve(), layer_root=layer_root).stamp
    assert stamp.read_text().strip() == requirements_fingerprint(requirements)
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
