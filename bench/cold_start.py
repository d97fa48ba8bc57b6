"""cold_start_ratio: importing each flow's handler module in a fresh interpreter, against `import boto3`
plus creating one DynamoDB client in a fresh interpreter, measured in the same run.

Each sample is a new `python -c` process with the environment a Lambda function would have (region,
dummy credentials, `LAMBDA_TASK_ROOT`, `AWS_LAMBDA_FUNCTION_NAME`, the Powertools variables and the
flow's table/secret/bus names) and nothing that points anywhere (no endpoint URL, instance metadata
disabled): neither side touches the network. The child times only the import (or the boto3 import +
client) with `time.perf_counter`, not interpreter start-up, and reports its CPU time too. Samples are
interleaved (baseline, flow 1, flow 2, ..., repeat) after a warm-up round, so background load on
the machine hits both sides alike; the figure is the ratio of medians.

`LAMBDA_TASK_ROOT` matters: with it, the X-Ray SDK (imported by Powertools' Tracer even when tracing
is disabled) uses Lambda's local sampler; without it, it builds a centralised sampler with two
botocore X-Ray clients at import, which a Lambda function never pays for.

Dependencies: the venv also holds the development tools (moto, pytest, CDK) and what they pull in
(click, requests, pygments, rich, ...). Some runtime libraries import those opportunistically when
present — httpx imports its CLI (click, pygments) if it can; the X-Ray SDK's `patch_all` (Powertools'
Tracer) patches `requests` if it is importable — so measuring in the venv as is would charge the
handlers for packages the Lambda layer does not carry. The child interpreter therefore hides every
installed distribution outside the closure of requirements.txt (the layer's contents, worked out
from the installed packages' metadata, no network) behind a `ModuleNotFoundError`, exactly what the
layer would answer. Both the handlers and the baseline run that way.

Bytecode: by default the venv's cached .pyc files are used (both sides alike). `bytecode=False`
(`--cold-start-no-bytecode`) sends every import through a fresh, empty `PYTHONPYCACHEPREFIX`, so all
sources are compiled on each import, as they are in the deployed functions, whose asset and layer
ship no .pyc (see infra/stack.py FUNCTION_ASSET_EXCLUDES and infra/layer.py `--no-compile`).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.flows import FLOWS, FlowDeclaration

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"
BASELINE = "baseline: import boto3 + boto3.client('dynamodb')"

_HIDE_DEV_PACKAGES = """
import sys as _sys
class _NotInLayer:
    hidden = frozenset({hidden!r})
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.hidden:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
_sys.meta_path.insert(0, _NotInLayer())
"""

_TIMED_IMPORT = """
import json, time, importlib
_wall, _cpu = time.perf_counter(), time.process_time()
_error = None
try:
    importlib.import_module({module!r})
except BaseException as exc:
    _error = type(exc).__name__ + ": " + str(exc)
print(json.dumps({{"wall_ms": (time.perf_counter() - _wall) * 1000, "cpu_ms": (time.process_time() - _cpu) * 1000, "error": _error}}))
"""

_TIMED_CODE = """
import json, time
_wall, _cpu = time.perf_counter(), time.process_time()
{body}
print(json.dumps({{"wall_ms": (time.perf_counter() - _wall) * 1000, "cpu_ms": (time.process_time() - _cpu) * 1000, "error": None}}))
"""

# What the publisher's imports would cost without some of them: the libraries it needs at its core,
# then with each of the two heaviest optional pieces. Measured like the handlers, against the baseline.
_CORE = (
    "import boto3, pydantic, httpx, tenacity\n"
    "from aws_lambda_powertools import Logger, Metrics\n"
    "Logger(); Metrics(namespace='ConsonanceSpotify')\n"
    "import functions.domain.events, functions.domain.models, functions.settings\n"
)
_TRACER = "from aws_lambda_powertools import Tracer\nTracer()\n"
_BATCH = "import aws_lambda_powertools.utilities.batch\n"
WHAT_IF: tuple[tuple[str, str], ...] = (
    ("core: boto3, pydantic, httpx, tenacity, Powertools Logger+Metrics, domain models", _CORE),
    ("core + Powertools Tracer (X-Ray SDK)", _CORE + _TRACER),
    ("core + Powertools batch utility", _CORE + _BATCH),
    ("core + Tracer + batch utility", _CORE + _TRACER + _BATCH),
)

_TIMED_BASELINE = """
import json, time
_wall, _cpu = time.perf_counter(), time.process_time()
import boto3
boto3.client("dynamodb", region_name={region!r})
print(json.dumps({{"wall_ms": (time.perf_counter() - _wall) * 1000, "cpu_ms": (time.process_time() - _cpu) * 1000, "error": None}}))
"""


@dataclass
class Samples:
    name: str
    module: str | None
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def wall_median(self) -> float | None:
        return statistics.median(self.wall_ms) if self.wall_ms else None

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_ms) if self.cpu_ms else None


@dataclass
class ColdStartResult:
    baseline: Samples
    flows: list[Samples]
    repetitions: int
    bytecode: bool
    heaviest_imports: list[dict[str, Any]]
    worst_flow: str | None
    what_if: list[Samples] = field(default_factory=list)

    def ratio(self, samples: Samples, metric: str = "wall") -> float | None:
        ours = samples.wall_median if metric == "wall" else samples.cpu_median
        base = self.baseline.wall_median if metric == "wall" else self.baseline.cpu_median
        return ours / base if ours is not None and base else None

    @property
    def worst(self) -> Samples | None:
        return next((s for s in self.flows if s.name == self.worst_flow), None)


def handler_module(flow: FlowDeclaration) -> str:
    return flow.handler.rpartition(".")[0]


def lambda_environment(flow: FlowDeclaration | None) -> dict[str, str]:
    """What a Lambda execution environment would give the function (values are placeholders)."""
    name = flow.name if flow else "baseline"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": str(PROJECT_ROOT),  # Lambda puts the task root on sys.path
        "LAMBDA_TASK_ROOT": str(PROJECT_ROOT),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
        "AWS_LAMBDA_FUNCTION_NAME": f"consonance-spotify-{name}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(flow.memory_mb if flow else 256),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench-dummy",
        "AWS_SECRET_ACCESS_KEY": "bench-dummy",
        "AWS_SESSION_TOKEN": "bench-dummy",
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": name,
        "POWERTOOLS_METRICS_NAMESPACE": "ConsonanceSpotify",
    }
    if flow is not None:
        from infra.tables import TABLES

        env_vars = {spec.table: spec.env_var for spec in TABLES}
        environment["EVENT_BUS_NAME"] = "consonance-spotify"
        environment["EVENT_SOURCE"] = "consonance-spotify"
        for table in flow.tables:
            if env_vars.get(table):
                environment[env_vars[table]] = f"consonance-spotify-{table.value}"
        for secret in flow.secrets:
            environment[f"{secret.value}_secret_id".upper()] = f"consonance-spotify/{secret.value}"
        environment.update(flow.environment)
    return environment


REQUIREMENTS = PROJECT_ROOT / "requirements.txt"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_distributions(requirements: Path = REQUIREMENTS) -> set[str]:
    """The installed distributions the Lambda layer would hold: requirements.txt and, recursively,
    what they require (with the extras asked for), as the installed metadata says."""
    from importlib import metadata

    from packaging.requirements import Requirement

    wanted: list[tuple[str, frozenset[str]]] = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            wanted.append((requirement.name, frozenset(requirement.extras)))
    seen: set[str] = set()
    while wanted:
        name, extras = wanted.pop()
        key = _normalise(name)
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if key in seen and not extras:
            continue
        seen.add(key)
        for raw in distribution.requires or []:
            requirement = Requirement(raw)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environments):
                if _normalise(requirement.name) not in seen or requirement.extras:
                    wanted.append((requirement.name, frozenset(requirement.extras)))
    return seen


def hidden_top_level_names(requirements: Path = REQUIREMENTS) -> set[str]:
    """Top-level module names provided only by installed distributions outside the runtime closure."""
    from importlib import metadata

    keep = runtime_distributions(requirements)
    provided: dict[str, set[str]] = {}
    for module, distributions in metadata.packages_distributions().items():
        provided[module] = {_normalise(d) for d in distributions}
    hidden = {module for module, owners in provided.items() if not owners & keep}
    return {m for m in hidden if m.isidentifier() and m not in sys.stdlib_module_names and m != "functions"}


def _run(code: str, environment: dict[str, str], extra_args: tuple[str, ...] = ()) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, *extra_args, "-c", code],
        env=environment,
        cwd=tempfile.gettempdir(),  # not the project root: only PYTHONPATH puts it on sys.path
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        return {"error": (completed.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def measure(
    repetitions: int = 9,
    flows: tuple[FlowDeclaration, ...] = FLOWS,
    *,
    bytecode: bool = True,
    what_if: bool = True,
    progress: Any = None,
) -> ColdStartResult:
    say = progress or (lambda message: None)
    baseline = Samples(BASELINE, None)
    samples = [Samples(flow.name, handler_module(flow)) for flow in flows]
    prelude = _HIDE_DEV_PACKAGES.format(hidden=sorted(hidden_top_level_names()))
    jobs: list[tuple[Samples, str, dict[str, str]]] = [(baseline, prelude + _TIMED_BASELINE.format(region=REGION), lambda_environment(None))]
    jobs += [(s, prelude + _TIMED_IMPORT.format(module=s.module), lambda_environment(f)) for s, f in zip(samples, flows)]
    variants = [Samples(name, None) for name, _ in WHAT_IF] if what_if else []
    publisher = next((f for f in flows if f.name == "episode-publisher"), flows[0] if flows else None)
    jobs += [(v, prelude + _TIMED_CODE.format(body=body), lambda_environment(publisher)) for v, (_, body) in zip(variants, WHAT_IF)]
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as scratch:
        for round_number in range(repetitions + 1):  # round 0 warms the page cache and the .pyc files
            for target, code, environment in jobs:
                if target.error is not None:
                    continue
                env = dict(environment)
                if not bytecode:
                    env["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / f"{round_number}-{target.name}")
                    env["PYTHONDONTWRITEBYTECODE"] = "1"
                result = _run(code, env)
                if result.get("error"):
                    target.error = result["error"]
                    continue
                if round_number > 0:
                    target.wall_ms.append(result["wall_ms"])
                    target.cpu_ms.append(result["cpu_ms"])
            if round_number:
                say(f"  cold start: round {round_number}/{repetitions}")
    measured = [s for s in samples if s.cpu_median is not None]
    worst = max(measured, key=lambda s: s.cpu_median or 0.0) if measured else None
    heaviest = heaviest_imports(worst.module, lambda_environment(next(f for f in flows if f.name == worst.name)), prelude) if worst and worst.module else []
    return ColdStartResult(baseline, samples, repetitions, bytecode, heaviest, worst.name if worst else None, variants)


_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def parse_importtime(stderr: str) -> list[dict[str, Any]]:
    """`python -X importtime` lines -> [{module, self_us, cumulative_us, depth}] in output order."""
    rows: list[dict[str, Any]] = []
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            self_us, cumulative_us, indent, module = match.groups()
            rows.append({"module": module, "self_us": int(self_us), "cumulative_us": int(cumulative_us), "depth": (len(indent) - 1) // 2})
    return rows


def top_level_packages(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Self time summed by top-level package (µs), largest first."""
    totals: dict[str, int] = {}
    for row in rows:
        package = row["module"].split(".", 1)[0]
        totals[package] = totals.get(package, 0) + row["self_us"]
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


# Top-level packages by what a developer would call them (the rest is the standard library).
IMPORT_GROUPS: dict[str, frozenset[str]] = {
    "boto3/botocore": frozenset({"boto3", "botocore", "s3transfer", "urllib3", "jmespath", "dateutil", "six"}),
    "powertools": frozenset({"aws_lambda_powertools"}),
    "x-ray sdk": frozenset({"aws_xray_sdk", "wrapt"}),
    "pydantic": frozenset({"pydantic", "pydantic_core", "annotated_types", "typing_extensions", "typing_inspection"}),
    "httpx": frozenset({"httpx", "httpcore", "h11", "anyio", "sniffio", "certifi", "idna"}),
    "tenacity": frozenset({"tenacity"}),
    "project (functions)": frozenset({"functions"}),
}


def import_group(module: str) -> str:
    top = module.split(".", 1)[0]
    return next((name for name, members in IMPORT_GROUPS.items() if top in members), "stdlib/other")


# The package that stands for each group when asking "which project module pulled it in".
GROUP_ENTRY_POINTS: dict[str, str] = {
    "boto3/botocore": "boto3",
    "powertools": "aws_lambda_powertools",
    "x-ray sdk": "aws_xray_sdk",
    "pydantic": "pydantic",
    "httpx": "httpx",
    "tenacity": "tenacity",
}


def first_importers(rows: list[dict[str, Any]]) -> dict[str, str]:
    """For each group, the project module whose import first loaded the group's main package
    (importtime lists a module's imports before it, one level deeper)."""
    found: dict[str, str] = {}
    for index, row in enumerate(rows):
        group = next((g for g, entry in GROUP_ENTRY_POINTS.items() if row["module"] == entry), None)
        if group is None or group in found:
            continue
        depth = row["depth"]
        for later in rows[index + 1 :]:
            if later["depth"] < depth:
                depth = later["depth"]
                if later["module"].startswith("functions."):
                    found[group] = later["module"]
                    break
    return found


# Modules worth naming when a handler loads them: what they cost (cumulative, at first import) and
# which project modules brought them in.
KEY_MODULES = (
    "boto3",
    "pydantic",
    "aws_lambda_powertools",
    "aws_xray_sdk.core",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.parameters",
    "httpx",
    "tenacity",
    "functions.connectors.consonance",
    "functions.connectors.megaphone",
    "functions.connectors.spotify_web",
    "functions.alerts",
    "functions.connectors.consonance.mapping",
)


def key_module_chains(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each KEY_MODULES entry the handler loads: cumulative ms at its first import and the chain of
    project modules that led to it (nearest first)."""
    found: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        if row["module"] not in KEY_MODULES or any(f["name"] == row["module"] for f in found):
            continue
        depth, chain = row["depth"], []
        for later in rows[index + 1 :]:
            if later["depth"] < depth:
                depth = later["depth"]
                if later["module"].startswith("functions."):
                    chain.append(later["module"])
        found.append({"kind": "key module", "name": row["module"], "ms": round(row["cumulative_us"] / 1000, 1), "imported_by": chain})
    return found


def heaviest_imports(module: str, environment: dict[str, str], prelude: str = "", runs: int = 3) -> list[dict[str, Any]]:
    """`-X importtime` runs of `module` (median of `runs`): self time by group of packages, the group's
    first importer among the project modules, and the project modules that cost most themselves."""
    groups: dict[str, list[int]] = {}
    project: dict[str, list[int]] = {}
    importers: dict[str, str] = {}
    keys: list[dict[str, Any]] = []
    for _ in range(runs):
        completed = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"{prelude}\nimport {module}"],
            env=environment,
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        rows = parse_importtime(completed.stderr)
        totals: dict[str, int] = {}
        for row in rows:
            totals[import_group(row["module"])] = totals.get(import_group(row["module"]), 0) + row["self_us"]
            if row["module"].startswith("functions."):
                project.setdefault(row["module"], []).append(row["self_us"])
        for group, us in totals.items():
            groups.setdefault(group, []).append(us)
        importers = importers or first_importers(rows)
        keys = keys or key_module_chains(rows)
    by_group = sorted(((g, statistics.median(v) / 1000) for g, v in groups.items()), key=lambda item: -item[1])
    own = sorted(((m, statistics.median(v) / 1000) for m, v in project.items()), key=lambda item: -item[1])
    return [
        {"kind": "group self time", "name": group, "ms": round(ms, 1), "first_imported_by": importers.get(group)} for group, ms in by_group
    ] + [{"kind": "project module self time", "name": name, "ms": round(ms, 1)} for name, ms in own[:10]] + keys
