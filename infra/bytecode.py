"""Bytecode for what Lambda runs, compiled by the interpreter Lambda runs.

Without `.pyc` files every cold start compiles every imported module of the layer and the function
code (about a second of CPU for the publisher, `make bench`). Bytecode is specific to the
interpreter's minor version (the magic number in the header and the `cpython-312` tag in the file
name), so it must be built by CPython 3.12 (`LAMBDA_PYTHON_VERSION`, the runtime in
infra/flow_constructs.py), not by the 3.11 of the project's venv: a 3.11 `.pyc` is ignored by 3.12
and would only make the asset larger.

How it is compiled, and why:
- `compileall --invalidation-mode checked-hash`: the `.pyc` records a hash of its source instead of
  the source's modification time. CDK zips assets with fixed timestamps, so timestamp-checked
  bytecode would be stale in Lambda and recompiled on every cold start; a checked hash stays valid
  wherever the files land. (Checking costs one SipHash of each source at import, far below compiling.)
- `-s <tree> -p <where Lambda mounts it>`: the path recorded in each code object is the one in
  Lambda (`/opt/python/...`, `/var/task/...`), never this machine's build directory, so the bytes
  (and therefore the CDK asset hash) do not depend on where the checkout lives.
- `PYTHONHASHSEED=0` and an otherwise empty environment: constant sets are marshalled in hash order,
  so a fixed seed keeps the bytes reproducible; a stray `PYTHONPYCACHEPREFIX` would send the `.pyc`
  files elsewhere.

The interpreter comes from `LAMBDA_BYTECODE_PYTHON` (a path) when set, else the first CPython 3.12
found as this interpreter itself, under pyenv (`$PYENV_ROOT` or `~/.pyenv`, newest patch release
first) or as `python3.12` on PATH. Without one the build stops with `BytecodeBuildError`: shipping
without bytecode, or with another version's, would silently bring back the slow cold start.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

LAMBDA_PYTHON_VERSION = "3.12"
INTERPRETER_ENV_VAR = "LAMBDA_BYTECODE_PYTHON"
# Header of a .pyc (PEP 552): magic (4 bytes), flags (4 bytes, little endian), then the source hash.
PYC_FLAGS_OFFSET = 4
CHECKED_HASH_FLAGS = 0b11  # bit 0: hash-based, bit 1: check the source
COMPILE_OUTPUT_TAIL_CHARS = 3000
PROBE_TIMEOUT_SECONDS = 30
COMPILE_TIMEOUT_SECONDS = 900

_PROBE = (
    "import json, sys, importlib.util; print(json.dumps({"
    "'implementation': sys.implementation.name, "
    "'version': '%d.%d.%d' % sys.version_info[:3], "
    "'cache_tag': sys.implementation.cache_tag, "
    "'magic': importlib.util.MAGIC_NUMBER.hex()}))"
)


class BytecodeBuildError(RuntimeError):
    """No CPython of Lambda's version to compile with, or the compilation failed or came out incomplete."""


@dataclass(frozen=True)
class BytecodeInterpreter:
    path: Path
    implementation: str
    version: str  # "3.12.1"
    cache_tag: str  # "cpython-312": the infix of every .pyc file name it writes
    magic: str  # hex of the bytecode magic number, which changes with incompatible bytecode

    @property
    def minor_version(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def fingerprint(self) -> str:
        """What decides the bytes it writes; recorded in build stamps so another interpreter rebuilds."""
        return f"{self.implementation} {self.version} {self.cache_tag} magic {self.magic}"


def probe_interpreter(path: Path) -> BytecodeInterpreter | None:
    """What `path` is, asked of itself; None when it does not run."""
    try:
        completed = subprocess.run(
            [str(path), "-S", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            env=_clean_environment(),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if completed.returncode != 0:
        return None
    try:
        facts = json.loads(completed.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return BytecodeInterpreter(path=path, **facts)


def candidate_interpreters(version: str = LAMBDA_PYTHON_VERSION, environ: Mapping[str, str] = os.environ) -> Iterator[Path]:
    """Where a CPython `version` may be, in the order they are tried (see the module docstring)."""
    yield Path(sys.executable)
    pyenv_root = Path(environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    releases = sorted(
        (path for path in (pyenv_root / "versions").glob(f"{version}.*") if path.name.removeprefix(f"{version}.").isdigit()),
        key=lambda path: int(path.name.removeprefix(f"{version}.")),
        reverse=True,
    )
    for release in releases:
        yield release / "bin" / f"python{version}"
    on_path = shutil.which(f"python{version}", path=environ.get("PATH"))
    if on_path:
        yield Path(on_path)


def find_interpreter(version: str = LAMBDA_PYTHON_VERSION, environ: Mapping[str, str] = os.environ) -> BytecodeInterpreter:
    """The CPython `version` to compile with, or a BytecodeBuildError that says how to provide one."""
    configured = environ.get(INTERPRETER_ENV_VAR)
    if configured:
        found = probe_interpreter(Path(configured))
        if found is None:
            raise BytecodeBuildError(f"{INTERPRETER_ENV_VAR}={configured} does not run; point it at a CPython {version} interpreter.")
        if found.implementation != "cpython" or found.minor_version != version:
            raise BytecodeBuildError(
                f"{INTERPRETER_ENV_VAR}={configured} is {found.implementation} {found.version}, but Lambda runs CPython "
                f"{version}: its bytecode would be ignored there. Point it at a CPython {version} interpreter."
            )
        return found
    tried: list[str] = []
    for path in candidate_interpreters(version, environ):
        tried.append(str(path))
        found = probe_interpreter(path) if path.exists() else None
        if found is not None and found.implementation == "cpython" and found.minor_version == version:
            return found
    raise BytecodeBuildError(
        f"no CPython {version} found to compile the Lambda code with (Lambda runs python{version}; bytecode from another "
        f"version is ignored there, and shipping none makes every cold start compile every module).\n"
        f"Install it (for example `pyenv install {version}`) or set {INTERPRETER_ENV_VAR}=/path/to/python{version}.\n"
        f"tried: {', '.join(dict.fromkeys(tried)) or 'nothing'}"
    )


def _clean_environment() -> dict[str, str]:
    """Only what compiling needs: a fixed hash seed, and none of the PYTHON* variables of this shell."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0", "LC_ALL": "C.UTF-8"}


def compile_tree(interpreter: BytecodeInterpreter, tree: Path, runtime_path: str) -> int:
    """Compile every .py under `tree` into `__pycache__` (checked hash), recording `runtime_path` (where
    Lambda mounts `tree`) as their location; return how many sources were compiled."""
    tree = tree.resolve()
    command = [
        str(interpreter.path),
        "-S",
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        "checked-hash",
        "-s",
        str(tree),
        "-p",
        runtime_path,
        str(tree),
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, env=_clean_environment(), timeout=COMPILE_TIMEOUT_SECONDS, check=False
    )
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr)[-COMPILE_OUTPUT_TAIL_CHARS:]
        raise BytecodeBuildError(
            f"CPython {interpreter.version} could not compile every module under {tree}: a module that does not compile "
            f"here would not import in Lambda either.\ncommand: {' '.join(command)}\n--- compileall output (tail) ---\n{output}"
        )
    return len(require_bytecode(tree, interpreter.cache_tag))


def compiled_path(source: Path, cache_tag: str) -> Path:
    return source.parent / "__pycache__" / f"{source.stem}.{cache_tag}.pyc"


def pyc_flags(pyc: Path) -> int:
    """The PEP 552 flags field: 0 for timestamp-checked, 0b01 unchecked hash, 0b11 checked hash."""
    with pyc.open("rb") as handle:
        header = handle.read(PYC_FLAGS_OFFSET + 4)
    return int.from_bytes(header[PYC_FLAGS_OFFSET:], "little")


def require_bytecode(tree: Path, cache_tag: str = f"cpython-{LAMBDA_PYTHON_VERSION.replace('.', '')}") -> list[Path]:
    """Every source under `tree` with its checked-hash `.pyc` for `cache_tag`; BytecodeBuildError names
    the sources without one, so an uncompiled asset never reaches a stack."""
    sources = sorted(path for path in tree.rglob("*.py") if "__pycache__" not in path.parts)
    missing = [source for source in sources if not compiled_path(source, cache_tag).is_file()]
    wrong = [source for source in sources if source not in missing and pyc_flags(compiled_path(source, cache_tag)) != CHECKED_HASH_FLAGS]
    if missing or wrong:
        examples = ", ".join(str(path.relative_to(tree)) for path in (missing + wrong)[:5])
        raise BytecodeBuildError(
            f"{tree}: {len(missing)} of {len(sources)} modules have no {cache_tag} .pyc and {len(wrong)} are not "
            f"checked-hash (e.g. {examples}); build it with infra.bytecode.compile_tree."
        )
    return sources
