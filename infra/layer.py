"""Builds the dependency layer with pip alone, so `cdk synth` needs no Docker.

pip downloads the arm64 (manylinux2014_aarch64) CPython 3.12 wheels of requirements.txt into
`build/layer/python`, the directory Lambda puts on sys.path for a layer. Only binary wheels are
accepted: a package that would need compiling for the target cannot be built on this machine, and
failing is better than shipping an x86 or host-Python build.

The build is cached: a stamp file beside the layer records a hash of requirements.txt and the target
platform, and a matching stamp skips pip entirely. The build goes to a staging directory first, so an
interrupted or failed pip run never leaves a half-filled layer that a later stamp check would trust.

No .pyc files are shipped (`--no-compile`): CDK zips assets with fixed timestamps, so
timestamp-checked bytecode built here would be stale in Lambda anyway, and leaving it out keeps the
asset hash stable.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LAMBDA_PYTHON_VERSION = "3.12"
LAMBDA_PLATFORM = "manylinux2014_aarch64"
PIP_OUTPUT_TAIL_CHARS = 3000


@dataclass(frozen=True)
class LayerTarget:
    requirements: Path
    layer_root: Path  # the asset directory; Lambda sees layer_root/python on sys.path

    @property
    def site_packages(self) -> Path:
        return self.layer_root / "python"

    @property
    def stamp(self) -> Path:
        # Beside, not inside, the layer: the stamp must not become part of the asset.
        return self.layer_root.with_name(f"{self.layer_root.name}.requirements.sha256")

    @property
    def staging(self) -> Path:
        return self.layer_root.with_name(f"{self.layer_root.name}.partial")


class LayerBuildError(RuntimeError):
    """pip could not produce the layer (no network to the index, or a package without an arm64 wheel)."""


def requirements_fingerprint(requirements: Path) -> str:
    """Hash of what decides the layer's content: the requirements and the target interpreter."""
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(f"\n{LAMBDA_PLATFORM} cp{LAMBDA_PYTHON_VERSION}".encode())
    return digest.hexdigest()


def is_current(target: LayerTarget) -> bool:
    return (
        target.site_packages.is_dir()
        and target.stamp.is_file()
        and target.stamp.read_text().strip() == requirements_fingerprint(target.requirements)
    )


def pip_install_command(target: LayerTarget, destination: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--no-compile",
        "--platform",
        LAMBDA_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON_VERSION,
        "--only-binary=:all:",
        "-r",
        str(target.requirements),
        "-t",
        str(destination),
    ]


def build_dependency_layer(requirements: Path, layer_root: Path) -> Path:
    """Return a directory usable as the layer asset, running pip only when requirements changed."""
    target = LayerTarget(requirements=requirements.resolve(), layer_root=layer_root.resolve())
    if not target.requirements.is_file():
        raise LayerBuildError(f"requirements file not found: {target.requirements}")
    if is_current(target):
        return target.layer_root

    shutil.rmtree(target.staging, ignore_errors=True)
    staging_site_packages = target.staging / "python"
    staging_site_packages.mkdir(parents=True)
    command = pip_install_command(target, staging_site_packages)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(target.staging, ignore_errors=True)
        output = (result.stdout + result.stderr)[-PIP_OUTPUT_TAIL_CHARS:]
        raise LayerBuildError(
            f"pip could not build the Lambda layer for {LAMBDA_PLATFORM} / CPython {LAMBDA_PYTHON_VERSION}.\n"
            "It must download binary wheels from the package index: check network access to the index "
            "(PIP_INDEX_URL / pip.conf), and that every package in "
            f"{target.requirements.name} publishes an aarch64 wheel for Python {LAMBDA_PYTHON_VERSION}.\n"
            f"command: {' '.join(command)}\n--- pip output (tail) ---\n{output}"
        )

    # Console scripts carry this machine's interpreter in their shebang; Lambda never runs them.
    shutil.rmtree(staging_site_packages / "bin", ignore_errors=True)
    shutil.rmtree(target.layer_root, ignore_errors=True)
    target.staging.rename(target.layer_root)
    target.stamp.write_text(requirements_fingerprint(target.requirements) + "\n")
    return target.layer_root
