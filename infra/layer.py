"""Builds the dependency layer with pip alone, so `cdk synth` needs no Docker.

pip downloads the arm64 (manylinux2014_aarch64) CPython 3.12 wheels of requirements.txt into
`build/layer/python`, the directory Lambda puts on sys.path for a layer. Only binary wheels are
accepted: a package that would need compiling for the target cannot be built on this machine, and
failing is better than shipping an x86 or host-Python build.

Bytecode: pip installs with `--no-compile` (it would compile with this venv's 3.11, whose .pyc
Lambda's 3.12 ignores); then CPython 3.12 compiles the whole layer (infra/bytecode.py: checked-hash
.pyc in `__pycache__`, recorded as living under /opt/python). Without that, every cold start compiled
every module it imported (about a second of CPU for the publisher, `make bench`). No CPython 3.12 on
this machine is a `BytecodeBuildError`, never a layer without bytecode.

boto3 and botocore stay in the layer, compiled, rather than being left to the runtime's copy:
- the Powertools tracer extra needs the X-Ray SDK, which itself requires botocore, so botocore would
  be in the layer anyway, and it would shadow the runtime's botocore beneath the runtime's boto3
  (boto3 pins botocore to one minor release: a mismatched pair is a failure waiting for a runtime
  update);
- the runtime's SDK version changes when AWS updates the runtime, not when we deploy; the layer's is
  the one requirements.txt names and the tests and the sandbox ran against (AWS recommends bundling
  the SDK for that reason);
- compiled, the layer's boto3 imports as fast as the runtime's precompiled one, which was the only
  reason to prefer it (`make bench` measures both sides with the same bytecode).

The build is cached: a stamp file beside the layer records a hash of requirements.txt, the target
platform and the compiling interpreter (version, cache tag, magic number), and a matching stamp
skips pip and the compilation; another interpreter version rebuilds. The build goes to a staging
directory first, so an interrupted or failed pip run or compilation never leaves a half-filled
layer that a later stamp check would trust.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from infra.bytecode import LAMBDA_PYTHON_VERSION, BytecodeInterpreter, compile_tree, find_interpreter

LAMBDA_PLATFORM = "manylinux2014_aarch64"
LAYER_RUNTIME_PATH = "/opt/python"  # where Lambda mounts a layer's python/ directory
PIP_OUTPUT_TAIL_CHARS = 3000


@dataclass(frozen=True)
class LayerTarget:
    requirements: Path
    layer_root: Path  # the asset directory; Lambda sees layer_root/python on sys.path
    platform: str = LAMBDA_PLATFORM

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


def host_platform() -> str:
    """The pip platform tag of this machine, for a copy of the layer that runs here (`make bench`)."""
    if sys.platform != "linux":
        raise LayerBuildError(f"a Lambda-like layer can only be built to run on Linux, not {sys.platform}")
    machine = {"arm64": "aarch64", "amd64": "x86_64"}.get(platform.machine().lower(), platform.machine().lower())
    return f"manylinux2014_{machine}"


def requirements_fingerprint(requirements: Path, interpreter: BytecodeInterpreter, target_platform: str = LAMBDA_PLATFORM) -> str:
    """Hash of what decides the layer's content: the requirements, the target platform and Python,
    and the interpreter that compiles its bytecode."""
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(f"\n{target_platform} cp{LAMBDA_PYTHON_VERSION}".encode())
    digest.update(f"\nbytecode: {interpreter.fingerprint}".encode())
    return digest.hexdigest()


def is_current(target: LayerTarget, interpreter: BytecodeInterpreter) -> bool:
    return (
        target.site_packages.is_dir()
        and target.stamp.is_file()
        and target.stamp.read_text().strip() == requirements_fingerprint(target.requirements, interpreter, target.platform)
    )


def pip_install_command(target: LayerTarget, destination: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--no-compile",  # compiled afterwards by CPython 3.12, see the module docstring
        "--platform",
        target.platform,
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


def build_dependency_layer(
    requirements: Path,
    layer_root: Path,
    *,
    interpreter: BytecodeInterpreter | None = None,
    target_platform: str = LAMBDA_PLATFORM,
) -> Path:
    """Return a directory usable as the layer asset, with 3.12 bytecode; pip and the compilation run
    only when the requirements, the platform or the compiling interpreter changed.

    The interpreter is looked up first (`infra.bytecode.find_interpreter`), so a machine without
    CPython 3.12 fails here even when an old layer is cached."""
    target = LayerTarget(requirements=requirements.resolve(), layer_root=layer_root.resolve(), platform=target_platform)
    if not target.requirements.is_file():
        raise LayerBuildError(f"requirements file not found: {target.requirements}")
    interpreter = interpreter or find_interpreter()
    if is_current(target, interpreter):
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
            f"pip could not build the Lambda layer for {target.platform} / CPython {LAMBDA_PYTHON_VERSION}.\n"
            "It must download binary wheels from the package index: check network access to the index "
            "(PIP_INDEX_URL / pip.conf), and that every package in "
            f"{target.requirements.name} publishes a binary wheel for {target.platform} and Python {LAMBDA_PYTHON_VERSION}.\n"
            f"command: {' '.join(command)}\n--- pip output (tail) ---\n{output}"
        )

    # Console scripts carry this machine's interpreter in their shebang; Lambda never runs them.
    shutil.rmtree(staging_site_packages / "bin", ignore_errors=True)
    try:
        compile_tree(interpreter, staging_site_packages, LAYER_RUNTIME_PATH)
    except BaseException:
        shutil.rmtree(target.staging, ignore_errors=True)
        raise
    shutil.rmtree(target.layer_root, ignore_errors=True)
    target.staging.rename(target.layer_root)
    target.stamp.write_text(requirements_fingerprint(target.requirements, interpreter, target.platform) + "\n")
    return target.layer_root
