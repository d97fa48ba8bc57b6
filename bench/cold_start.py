"""cold_start_ratio: a flow's cold start (import its handler module and build its clients) against
`import boto3` plus one DynamoDB client, both on CPython 3.12 (Lambda's runtime) in fresh
interpreters, with and without bytecode, measured in the same run.

Equal work on both sides: the baseline builds a client, so a flow's figure includes building what
its first invocation builds (bench/cold_start_child.py): the functions/dependencies.py factories its
declaration implies (settings, repositories, connectors and the secrets they read), one boto3 client
per AWS service it calls (DynamoDB for its tables, EventBridge if it emits, SQS for a queue flow's
dead letters, SNS for alerts, Secrets Manager for its secrets) and one httpx client per HTTP API.
Secrets Manager is answered in process by a botocore hook, so the request is built, signed and
parsed, and no network is touched.

What runs is what Lambda runs (infra/layer.py, infra/function_code.py): the layer built from
requirements.txt for this machine's platform (same versions, Linux wheels for this CPU instead of
arm64) and the staged function code, each in two copies, one with the checked-hash CPython 3.12
bytecode the deployment ships and one with sources only (what shipped before; the standard library
keeps its bytecode either way, as Lambda's runtime does). The child interpreter starts with `-S`
and PYTHONPATH = staged code : layer, so only the layer's packages are importable, not the venv's
development tools. Its environment is a Lambda function's (region, dummy credentials,
LAMBDA_TASK_ROOT, the flow's table/secret/bus names, AWS_LAMBDA_INITIALIZATION_TYPE=on-demand) and
points nowhere: no endpoint URL, instance metadata disabled.

`LAMBDA_TASK_ROOT` matters: with it, the X-Ray SDK (imported by Powertools' Tracer even when tracing
is disabled) uses Lambda's local sampler; without it, it builds a centralised sampler with two
botocore X-Ray clients at import, which a Lambda function never pays for.

The child times only the work (not interpreter start-up) and reports CPU time (the figure: robust
to other load on this 2-core machine) and wall time. Samples are interleaved (baseline, flow 1,
flow 2, ..., repeat) after a warm-up, so background load hits both sides alike; the figure is the
ratio of medians. Two children run side by side (`CHILDREN_AT_ONCE`, one per core): every sample,
baseline and flow alike, then shares the machine with one other child.

Screen, then confirm: the headline is about the worst flow only, so only the heaviest flows get
every round. The first `SCREENING_ROUNDS` rounds measure the baseline and every flow; the flows are
then ranked by their median so far and the `CONFIRMED_FLOWS` heaviest (a flow that failed is out)
go on with the baseline to the last round (`plan_rounds`, `round_jobs`). The worst flow is the
heaviest of the confirmed ones, by its median over every round; every other flow's median, reported
in the details, is from the screening rounds only. A job measured in some rounds only is divided by
the baseline over those rounds (`ColdStartResult.baseline_for`), so that a ratio compares samples
that met the same load (in the first screened runs the baseline's samples in the screening rounds
were 15% above its later ones).

What a run costs is fresh interpreters, so none is spent on what no figure reads: the warm-up reads
the code trees' files into the page cache and runs one baseline and one flow (not a whole discarded
round of every job); the what-if variants (informational levers in the headline's note) take the
`what_if_repetitions` rounds spread over the run; the analytics flows (dependency-group layer) take
`group_repetitions` rounds spread over it too, against the same baseline; the sources-only
comparison (only figures about the worst flow read it) covers the baseline and the confirmed flows,
in a few of the rounds after the screening, spread too, rather than as a later phase (both sides of
its factor then meet the same load); the `-X importtime` profile runs only where a note reads it
(the headline), its children side by side too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.bytecode import BytecodeInterpreter, find_interpreter
from infra.flows import SECRET_SPECS
from infra.flows import FLOWS, FlowDeclaration, Secret, Table
from infra.function_code import stage_function_code
from infra.layer import build_dependency_layer, host_platform
from infra.layer_groups import build_group_layers

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = PROJECT_ROOT / "requirements.txt"
RUNTIME_ROOT = PROJECT_ROOT / "build" / "bench-runtime"
CHILD = Path(__file__).resolve().parent / "cold_start_child.py"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
BASELINE = "baseline: import boto3 + boto3.client('dynamodb')"
CHILD_TIMEOUT_SECONDS = 120
# Children measured side by side, one per core: each is a single-threaded interpreter, so on this
# 2-core machine each has a core of its own, its CPU time (the figure) is its own, and the samples
# of both sides stay interleaved alike. It halves the part's wall time.
CHILDREN_AT_ONCE = max(1, min(2, os.cpu_count() or 1))

# What a flow's first invocation builds, by what its declaration names (see the module docstring).
TABLE_FACTORIES: dict[Table, str] = {
    Table.LEDGER: "ledger",
    Table.CURSORS: "cursors",
    Table.IDEMPOTENCY: "idempotency",
    Table.AVAILABILITY: "availability",
}
SECRET_FACTORIES: dict[Secret, tuple[str, ...]] = {
    Secret.CONSONANCE: ("consonance",),
    Secret.MEGAPHONE: ("megaphone",),
    Secret.SPOTIFY: ("spotify_web",),
    Secret.WEBHOOK: ("webhook_secrets", "webhook_replay_guard"),
    Secret.SPOTIFY_ACCOUNTS: ("spotify_authorisations",),
    Secret.SPOTIFY_CREATORS: ("spotify_creators",),
}
HTTP_CLIENTS_PER_SECRET: dict[Secret, int] = {
    Secret.CONSONANCE: 1,
    Secret.MEGAPHONE: 1,
    Secret.SPOTIFY: 2,
    Secret.WEBHOOK: 0,
    Secret.SPOTIFY_ACCOUNTS: 1,
    Secret.SPOTIFY_CREATORS: 2,  # the web login's host and the analytics API
}
# Secret values with the shape each connector parses (Spotify's is JSON); never real credentials.
SECRET_VALUES: dict[Secret, str] = {
    Secret.CONSONANCE: "bench-consonance-token",
    Secret.MEGAPHONE: "bench-megaphone-token",
    Secret.SPOTIFY: json.dumps({"client_id": "bench-client", "client_secret": "bench-secret"}),
    Secret.WEBHOOK: "bench-webhook-key",
    Secret.SPOTIFY_ACCOUNTS: "{}",
    Secret.SPOTIFY_CREATORS: json.dumps({"sp_dc": "bench-sp-dc", "sp_key": "bench-sp-key"}),
}
# The flows of the headline ratio: those whose code runs on the main layer alone. A flow that declares
# a dependency group (`FlowDeclaration.layers`: the analytics flows, pyarrow) also has that group's
# layer on its path, as deployed; it is measured apart (`GROUP_LAYER_FLOWS`), since it imports more.
MAIN_LAYER_FLOWS: tuple[FlowDeclaration, ...] = tuple(flow for flow in FLOWS if not flow.layers)
GROUP_LAYER_FLOWS: tuple[FlowDeclaration, ...] = tuple(flow for flow in FLOWS if flow.layers)


@dataclass(frozen=True)
class ClientPlan:
    factories: tuple[str, ...]
    aws_services: tuple[str, ...]
    http_clients: int
    secrets: dict[str, str]  # secret id -> value Secrets Manager answers with

    def as_json(self) -> dict[str, Any]:
        return {"factories": list(self.factories), "aws_services": list(self.aws_services), "http_clients": self.http_clients, "secrets": self.secrets}


def secret_id(secret: Secret) -> str:
    return f"consonance-spotify/{SECRET_SPECS[secret].name}"


def client_plan(flow: FlowDeclaration) -> ClientPlan:
    """What `flow` builds before serving its first event, derived from its declaration."""
    factories = [*(TABLE_FACTORIES[table] for table in flow.tables)]
    if flow.emits:
        factories.append("event_bus")
    if flow.publishes_alerts:
        factories.append("alerts")
    for secret in flow.secrets:
        factories.extend(SECRET_FACTORIES[secret])
    services = [
        service
        for service, used in (
            ("dynamodb", bool(flow.tables)),
            ("events", bool(flow.emits)),
            ("sqs", flow.consumes_queue),
            ("sns", flow.publishes_alerts),
        )
        if used
    ]
    return ClientPlan(
        factories=tuple(dict.fromkeys(factories)),
        aws_services=tuple(services),
        http_clients=sum(HTTP_CLIENTS_PER_SECRET[secret] for secret in flow.secrets),
        secrets={secret_id(secret): SECRET_VALUES[secret] for secret in flow.secrets},
    )


# --- the Lambda-like runtime -------------------------------------------------------------------
@dataclass(frozen=True)
class CodeTree:
    """What PYTHONPATH holds in the child: the staged function code (/var/task) and the layer (/opt/python)."""

    functions: Path
    layer_site_packages: Path
    group_site_packages: dict[str, Path] = field(default_factory=dict)  # dependency-group layers, by name

    @property
    def python_path(self) -> str:
        return os.pathsep.join([str(self.functions), str(self.layer_site_packages)])

    def python_path_for(self, flow: FlowDeclaration | None) -> str:
        """The main layer, then the flow's dependency-group layers (Lambda's layer order)."""
        groups = [str(self.group_site_packages[name]) for name in (flow.layers if flow else ()) if name in self.group_site_packages]
        return os.pathsep.join([self.python_path, *groups])


@dataclass(frozen=True)
class LambdaLikeRuntime:
    interpreter: BytecodeInterpreter
    compiled: CodeTree  # as deployed now: checked-hash CPython 3.12 bytecode
    sources_only: CodeTree  # as deployed before: no .pyc


def _without_bytecode(source: Path, destination: Path) -> Path:
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return destination


def prepare_runtime(root: Path = RUNTIME_ROOT, interpreter: BytecodeInterpreter | None = None, progress: Any = None) -> LambdaLikeRuntime:
    """Build (or reuse) the layer for this machine and stage the code, each with and without bytecode."""
    say = progress or (lambda message: None)
    interpreter = interpreter or find_interpreter()
    say(f"  cold start: layer and code for CPython {interpreter.version} on {host_platform()} ...")
    layer = build_dependency_layer(REQUIREMENTS, root / "layer", interpreter=interpreter, target_platform=host_platform())
    stamp = layer.with_name(f"{layer.name}.requirements.sha256").read_text()
    layer_sources = root / "layer-sources"
    marker = root / "layer-sources.from"
    if not (layer_sources.is_dir() and marker.is_file() and marker.read_text() == stamp):
        _without_bytecode(layer, layer_sources)
        marker.write_text(stamp)
    functions = stage_function_code(PROJECT_ROOT, root / "functions", interpreter=interpreter)
    functions_sources = _without_bytecode(functions, root / "functions-sources")
    groups = build_group_layers(PROJECT_ROOT, root, FLOWS, interpreter=interpreter, target_platform=host_platform())
    return LambdaLikeRuntime(
        interpreter=interpreter,
        compiled=CodeTree(functions=functions, layer_site_packages=layer / "python", group_site_packages={n: p / "python" for n, p in groups.items()}),
        sources_only=CodeTree(functions=functions_sources, layer_site_packages=layer_sources / "python"),
    )


def handler_module(flow: FlowDeclaration) -> str:
    return flow.handler.rpartition(".")[0]


def lambda_environment(flow: FlowDeclaration | None, tree: CodeTree | None = None) -> dict[str, str]:
    """What a Lambda execution environment would give the function (values are placeholders)."""
    name = flow.name if flow else "baseline"
    function_name = f"consonance-spotify-{name}"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONDONTWRITEBYTECODE": "1",  # the sources-only copies must stay without bytecode
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(flow.memory_mb if flow else 256),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench-dummy",
        "AWS_SECRET_ACCESS_KEY": "bench-dummy",
        "AWS_SESSION_TOKEN": "bench-dummy",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",  # clients are built outside an invocation's trace segment
        "POWERTOOLS_SERVICE_NAME": name,
        "POWERTOOLS_METRICS_NAMESPACE": "ConsonanceSpotify",
    }
    if tree is not None:
        environment["PYTHONPATH"] = tree.python_path_for(flow)  # Lambda: /var/task, then /opt/python
        environment["LAMBDA_TASK_ROOT"] = str(tree.functions)
    if flow is not None:
        from infra.tables import TABLES

        env_vars = {spec.table: spec.env_var for spec in TABLES}
        environment["EVENT_BUS_NAME"] = "consonance-spotify"
        environment["EVENT_SOURCE"] = "consonance-spotify"
        for table in flow.tables:
            if env_vars.get(table):
                environment[env_vars[table]] = f"consonance-spotify-{table.value}"
        for secret in flow.secrets:
            environment[SECRET_SPECS[secret].env_var] = secret_id(secret)
        from functions.settings import BUCKET_VARIABLES

        for bucket in flow.buckets:
            environment[BUCKET_VARIABLES[bucket]] = f"consonance-spotify-{bucket.value}"
        if Secret.MEGAPHONE in flow.secrets:
            environment["MEGAPHONE_NETWORK_ID"] = "bench-network"  # required: no sandbox default in a function
        if flow.consumes_queue:
            environment["DEAD_LETTER_QUEUE_URL"] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{function_name}-dlq"
            environment["MAX_RECEIVES"] = str(flow.max_receives)
        if flow.publishes_alerts:
            environment["ALERTS_TOPIC_ARN"] = f"arn:aws:sns:{REGION}:{ACCOUNT}:consonance-spotify-operations-alerts"
        environment.update(flow.environment)
    return environment


# --- what-if: the publisher's imports without some of them ----------------------------------------
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


# --- measuring -----------------------------------------------------------------------------------
SCREENING_ROUNDS = 3
"""Rounds in which every flow is measured before the heaviest are picked. A median of three is the
fewest samples that one disturbed sample (a burst of outside load on one child) cannot move, and the
screen only has to tell the heavy flows from the light ones. It is 3 x 24 of the run's ~150
children, where measuring every flow in every round took 9 x 24 (and 3 x 24 from sources only) of ~350."""

CONFIRMED_FLOWS = 3
"""How many of the screening's heaviest flows go on to every round (and to the sources-only
comparison). The worst flow is not a stable fact of the code: the heavy flows sit within about a
tenth of each other and which one tops them is noise (two full runs on 2 Dec named
availability-monitor at 743 ms and campaign-planner at 877 ms from disjoint top threes, the top
eight of each within 12%; in a screened run the top twelve's screening medians were within 13%).
A flow ranked fourth in the screening can still be the heaviest only by about its gap to the
third, which is smaller than that run-to-run spread; each further flow costs 6 children with
bytecode and 3 from sources only (~4 s of the part's wall time)."""

JobKey = tuple[str, str]  # (part, name): part is one of JOB_PARTS, name the flow's, variant's or BASELINE
JOB_PARTS = ("baseline", "flow", "what-if", "group flow", "sources baseline", "sources flow")


@dataclass
class Samples:
    name: str
    module: str | None
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    import_cpu_ms: list[float] = field(default_factory=list)  # the part spent importing (the rest builds clients)
    error: str | None = None
    built: dict[str, int] = field(default_factory=dict)
    rounds: list[int] = field(default_factory=list)  # the round of each sample (none recorded: every round)

    def add(self, round_number: int, outcome: dict[str, Any]) -> None:
        self.built = outcome.get("built") or self.built
        self.rounds.append(round_number)
        self.wall_ms.append(outcome["wall_ms"])
        self.cpu_ms.append(outcome["cpu_ms"])
        if outcome.get("import_cpu_ms") is not None:
            self.import_cpu_ms.append(outcome["import_cpu_ms"])

    def within(self, rounds: Collection[int]) -> Samples:
        """The samples of `rounds` only (all of them when no rounds were recorded)."""
        if not self.rounds:
            return self
        kept = [i for i, number in enumerate(self.rounds) if number in rounds]
        return Samples(
            self.name, self.module, [self.wall_ms[i] for i in kept], [self.cpu_ms[i] for i in kept],
            [self.import_cpu_ms[i] for i in kept] if len(self.import_cpu_ms) == len(self.rounds) else [],
            self.error, self.built, [self.rounds[i] for i in kept],
        )  # fmt: skip

    @property
    def wall_median(self) -> float | None:
        return statistics.median(self.wall_ms) if self.wall_ms else None

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_ms) if self.cpu_ms else None

    @property
    def import_cpu_median(self) -> float | None:
        return statistics.median(self.import_cpu_ms) if self.import_cpu_ms else None


@dataclass
class ColdStartResult:
    baseline: Samples
    flows: list[Samples]
    repetitions: int
    bytecode: bool
    heaviest_imports: list[dict[str, Any]]
    worst_flow: str | None
    what_if: list[Samples] = field(default_factory=list)
    interpreter: str = ""
    without_bytecode: ColdStartResult | None = None  # the confirmed flows from sources only, in some of the same rounds
    screening_rounds: int = 0  # 0: every flow measured in every round
    confirmed: tuple[str, ...] = ()  # the flows measured in every round; the worst is one of them
    group_layers: ColdStartResult | None = None  # the dependency-group flows, in some of the same rounds, against the same baseline

    def baseline_for(self, samples: Samples) -> Samples:
        """The baseline over the rounds `samples` were measured in: a flow screened out, a what-if
        variant or an analytics flow is divided by the baseline that met the same load."""
        return self.baseline.within(samples.rounds) if samples.rounds else self.baseline

    def ratio(self, samples: Samples, metric: str = "wall") -> float | None:
        baseline = self.baseline_for(samples)
        ours = samples.wall_median if metric == "wall" else samples.cpu_median
        base = baseline.wall_median if metric == "wall" else baseline.cpu_median
        return ours / base if ours is not None and base else None

    @property
    def worst(self) -> Samples | None:
        return next((s for s in self.flows if s.name == self.worst_flow), None)


def child_command(interpreter: BytecodeInterpreter, job: dict[str, Any], extra_args: tuple[str, ...] = ()) -> list[str]:
    """`-S`: no site-packages (only PYTHONPATH's code and layer); `-P`: not the bench's own directory."""
    return [str(interpreter.path), "-S", "-P", *extra_args, str(CHILD), json.dumps(job)]


def _run(interpreter: BytecodeInterpreter, job: dict[str, Any], environment: dict[str, str], extra_args: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    completed = subprocess.run(
        child_command(interpreter, job, extra_args),
        env=environment,
        cwd=tempfile.gettempdir(),  # not the project root: only PYTHONPATH puts code on sys.path
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        return {"error": (completed.stderr.strip().splitlines() or ["no output"])[-1]}, completed.stderr
    return json.loads(lines[-1]), completed.stderr


def flow_job(flow: FlowDeclaration) -> dict[str, Any]:
    return {"kind": "flow", "flow": flow.name, "module": handler_module(flow), "plan": client_plan(flow).as_json(), "region": REGION}


@dataclass(frozen=True)
class RoundPlan:
    """Which rounds each part of the run is measured in (`round_jobs` reads it; no interpreter involved)."""

    repetitions: int
    screening_rounds: int  # every flow in rounds 1..screening_rounds, then the confirmed ones; 0: every flow throughout
    what_if_rounds: frozenset[int] = frozenset()
    group_rounds: frozenset[int] = frozenset()
    sources_rounds: frozenset[int] = frozenset()  # after the screening: only then are the confirmed flows known


def plan_rounds(repetitions: int, flows: int, *, what_if_repetitions: int = 0, group_repetitions: int = 0, sources_repetitions: int = 0) -> RoundPlan:
    """Screen only when it saves children: more rounds than the screening and more flows than are confirmed."""
    screening = SCREENING_ROUNDS if repetitions > SCREENING_ROUNDS and flows > CONFIRMED_FLOWS else 0
    return RoundPlan(
        repetitions=repetitions,
        screening_rounds=screening,
        what_if_rounds=frozenset(spread_rounds(repetitions, what_if_repetitions)) if what_if_repetitions > 0 else frozenset(),
        group_rounds=frozenset(spread_rounds(repetitions, group_repetitions)) if group_repetitions > 0 else frozenset(),
        sources_rounds=frozenset(spread_rounds(repetitions, sources_repetitions, first=screening + 1)) if sources_repetitions > 0 else frozenset(),
    )


def round_jobs(
    round_number: int,
    plan: RoundPlan,
    flows: Sequence[str],
    confirmed: Collection[str] = (),
    variants: Sequence[str] = (),
    group_flows: Sequence[str] = (),
) -> list[JobKey]:
    """The jobs of one round, in the order they start: the baseline; every flow in a screening round (or
    when there is no screening), the confirmed flows after it; then the what-if variants, the
    dependency-group flows and the sources-only baseline and flows (the confirmed ones), each in its
    own rounds. The baseline is in every round: every other job is divided by it."""
    screening = plan.screening_rounds == 0 or round_number <= plan.screening_rounds
    measured = list(flows) if screening else [name for name in flows if name in confirmed]
    keys: list[JobKey] = [("baseline", BASELINE), *(("flow", name) for name in measured)]
    if round_number in plan.what_if_rounds:
        keys += [("what-if", name) for name in variants]
    if round_number in plan.group_rounds:
        keys += [("group flow", name) for name in group_flows]
    if round_number in plan.sources_rounds:
        keys += [("sources baseline", BASELINE), *(("sources flow", name) for name in measured)]
    return keys


def heaviest(samples: Iterable[Samples], count: int) -> tuple[str, ...]:
    """The `count` flows with the highest CPU median so far, heaviest first (ties in the given order);
    a flow that failed is out, whatever it measured before."""
    ranked = sorted((s for s in samples if s.error is None and s.cpu_median is not None), key=lambda s: -(s.cpu_median or 0.0))
    return tuple(s.name for s in ranked[:count])


def measure(
    repetitions: int = 9,
    flows: tuple[FlowDeclaration, ...] = MAIN_LAYER_FLOWS,
    *,
    bytecode: bool = True,
    what_if: bool = True,
    what_if_repetitions: int | None = None,
    without_bytecode_repetitions: int = 0,
    group_flows: tuple[FlowDeclaration, ...] = (),
    group_repetitions: int | None = None,
    import_profile: bool = True,
    runtime: LambdaLikeRuntime | None = None,
    progress: Any = None,
) -> ColdStartResult:
    """`repetitions` interleaved rounds of the baseline and the flows, screened then confirmed
    (`plan_rounds`, `round_jobs`): every flow in the first `SCREENING_ROUNDS`, then the
    `CONFIRMED_FLOWS` heaviest by their median so far; the worst flow is the heaviest confirmed one.
    The what-if variants in `what_if_repetitions` of the rounds (default all) and `group_flows` (their
    dependency-group layer on the path) in `group_repetitions` (default all), spread over the run
    (`spread_rounds`), against the same baseline (`ColdStartResult.group_layers`); with
    `without_bytecode_repetitions`, the baseline and the confirmed flows from sources only too, in
    that many of the rounds after the screening (`ColdStartResult.without_bytecode`), so both sides of
    the with/without comparison meet the same background load; `import_profile`: profile the worst
    flow's imports (`-X importtime`), which only the headline's note reads."""
    say = progress or (lambda message: None)
    runtime = runtime or prepare_runtime(progress=say)
    tree = runtime.compiled if bytecode else runtime.sources_only
    with_sources = bytecode and without_bytecode_repetitions > 0
    plan = plan_rounds(
        repetitions,
        len(flows),
        what_if_repetitions=(repetitions if what_if_repetitions is None else what_if_repetitions) if what_if else 0,
        group_repetitions=(repetitions if group_repetitions is None else group_repetitions) if group_flows else 0,
        sources_repetitions=without_bytecode_repetitions if with_sources else 0,
    )
    publisher = next((f for f in flows if f.name == "episode-publisher"), flows[0] if flows else None)
    jobs: dict[JobKey, tuple[Samples, dict[str, Any], dict[str, str]]] = {}

    def add(key: JobKey, module: str | None, job: dict[str, Any], environment: dict[str, str]) -> Samples:
        jobs[key] = (Samples(key[1], module), job, environment)
        return jobs[key][0]

    baseline_job = {"kind": "baseline", "region": REGION}
    baseline = add(("baseline", BASELINE), None, baseline_job, lambda_environment(None, tree))
    samples = [add(("flow", f.name), handler_module(f), flow_job(f), lambda_environment(f, tree)) for f in flows]
    variants = [add(("what-if", name), None, {"kind": "code", "code": body, "region": REGION}, lambda_environment(publisher, tree)) for name, body in (WHAT_IF if what_if else ())]
    groups = [add(("group flow", f.name), handler_module(f), flow_job(f), lambda_environment(f, tree)) for f in group_flows]
    trees = [tree]
    sources: tuple[Samples, list[Samples]] | None = None
    if with_sources:
        sources = (
            add(("sources baseline", BASELINE), None, baseline_job, lambda_environment(None, runtime.sources_only)),
            [add(("sources flow", f.name), handler_module(f), flow_job(f), lambda_environment(f, runtime.sources_only)) for f in flows],
        )
        trees.append(runtime.sources_only)
    warm_up(runtime.interpreter, trees, [(job, environment) for _, job, environment in list(jobs.values())[:2]], (*flows, *group_flows))
    names = [f.name for f in flows]
    confirmed: tuple[str, ...] = tuple(names) if plan.screening_rounds == 0 else ()
    for round_number in range(1, repetitions + 1):
        if plan.screening_rounds and round_number == plan.screening_rounds + 1:
            confirmed = heaviest(samples, CONFIRMED_FLOWS)
            say(f"  cold start: screened {len(flows)} flows in {plan.screening_rounds} rounds; the baseline and the heaviest go on: {', '.join(confirmed)}")
        keys = round_jobs(round_number, plan, names, confirmed, [v.name for v in variants], [g.name for g in groups])
        live = [jobs[key] for key in keys if jobs[key][0].error is None]
        with ThreadPoolExecutor(max_workers=CHILDREN_AT_ONCE) as pool:
            results = list(pool.map(lambda planned: _run(runtime.interpreter, planned[1], planned[2])[0], live))
        for (target, _, _), outcome in zip(live, results, strict=True):
            if outcome.get("error"):
                target.error = outcome["error"]
            else:
                target.add(round_number, outcome)
        say(f"  cold start ({'bytecode' if bytecode else 'sources only'}{', and sources only' if round_number in plan.sources_rounds else ''}): round {round_number}/{repetitions}, {len(live)} children")
    worst = _worst(samples, among=confirmed)
    heaviest_modules: list[dict[str, Any]] = []
    if worst is not None and import_profile:
        worst_flow = next(f for f in flows if f.name == worst.name)
        heaviest_modules = heaviest_imports(runtime.interpreter, flow_job(worst_flow), lambda_environment(worst_flow, tree))
    fingerprint = runtime.interpreter.fingerprint
    result = ColdStartResult(
        baseline, samples, repetitions, bytecode, heaviest_modules, worst.name if worst else None, variants, fingerprint,
        screening_rounds=plan.screening_rounds, confirmed=confirmed,
    )  # fmt: skip
    if sources is not None:
        measured_sources = [s for s in sources[1] if s.name in confirmed]
        source_worst = _worst(measured_sources)
        result.without_bytecode = ColdStartResult(
            sources[0], measured_sources, len(plan.sources_rounds), False, [], source_worst.name if source_worst else None, interpreter=fingerprint,
            screening_rounds=plan.screening_rounds, confirmed=confirmed,
        )  # fmt: skip
    if groups:
        group_worst = _worst(groups)
        result.group_layers = ColdStartResult(baseline, groups, len(plan.group_rounds), bytecode, [], group_worst.name if group_worst else None, interpreter=fingerprint)
    return result


def _worst(samples: list[Samples], among: Collection[str] | None = None) -> Samples | None:
    """The flow with the highest CPU median, among `among` if given; a flow that failed is out."""
    candidates = (s for s in samples if s.error is None and s.cpu_median is not None and (among is None or s.name in among))
    return max(candidates, key=lambda s: s.cpu_median or 0.0, default=None)


def spread_rounds(repetitions: int, wanted: int, first: int = 1) -> set[int]:
    """`wanted` of the rounds `first`..`repetitions`, evenly spaced from the first to the last: a job
    measured in fewer rounds meets the same stretch of background load as the baseline it is divided by."""
    span = max(1, repetitions - first + 1)
    wanted = max(1, min(span, wanted))
    if wanted == 1:
        return {first}
    return {first + round(i * (span - 1) / (wanted - 1)) for i in range(wanted)}


def warm_up(interpreter: BytecodeInterpreter, trees: list[CodeTree], jobs: list[tuple[dict[str, Any], dict[str, str]]], flows: tuple[FlowDeclaration, ...]) -> None:
    """Before the first measured round: every file the children can import read once (the page
    cache), then `jobs` run once, discarded (the interpreter and the standard library they load).
    The first round's samples then start as warm as the later ones, for a fraction of a whole round."""
    roots = {Path(p) for tree in trees for flow in (None, *flows) for p in tree.python_path_for(flow).split(os.pathsep)}
    for root in sorted(roots):
        for path in root.rglob("*"):
            if path.is_file():
                with path.open("rb") as handle:
                    while handle.read(1 << 20):
                        pass
    with ThreadPoolExecutor(max_workers=CHILDREN_AT_ONCE) as pool:
        list(pool.map(lambda planned: _run(interpreter, planned[0], planned[1]), jobs))


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


def heaviest_imports(interpreter: BytecodeInterpreter, job: dict[str, Any], environment: dict[str, str], runs: int = 3) -> list[dict[str, Any]]:
    """`-X importtime` runs of `job` (median of `runs`): self time by group of packages, the group's
    first importer among the project modules, and the project modules that cost most themselves."""
    groups: dict[str, list[int]] = {}
    project: dict[str, list[int]] = {}
    importers: dict[str, str] = {}
    keys: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=CHILDREN_AT_ONCE) as pool:  # side by side, as the samples ran
        profiles = list(pool.map(lambda _: _run(interpreter, job, environment, ("-X", "importtime"))[1], range(runs)))
    for stderr in profiles:
        rows = parse_importtime(stderr)
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
