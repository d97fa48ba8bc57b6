"""The cold-start bench's parsing and set-up (not its timings): what each flow builds, that the child
builds it without the network, and the environment it runs in."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from bench.cold_start import (
    HTTP_CLIENTS_PER_SECRET,
    PROJECT_ROOT,
    SECRET_FACTORIES,
    TABLE_FACTORIES,
    CodeTree,
    ColdStartResult,
    Samples,
    _run,
    client_plan,
    flow_job,
    handler_module,
    lambda_environment,
    parse_importtime,
    top_level_packages,
)
from infra.bytecode import BytecodeInterpreter, probe_interpreter
from infra.flows import FLOWS, Secret, flow

IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       120 |        120 |   _io
import time:       300 |        300 |     botocore.compat
import time:      1000 |       1300 |   botocore
import time:        50 |       1350 | boto3
import time:       700 |        700 |   pydantic
import time:       200 |        900 | functions.observability
"""


def test_parse_importtime_reads_self_cumulative_and_depth() -> None:
    rows = parse_importtime(IMPORTTIME + "some other stderr line\n")
    assert [r["module"] for r in rows] == ["_io", "botocore.compat", "botocore", "boto3", "pydantic", "functions.observability"]
    assert rows[1] == {"module": "botocore.compat", "self_us": 300, "cumulative_us": 300, "depth": 2}
    assert rows[3]["depth"] == 0 and rows[3]["cumulative_us"] == 1350


def test_top_level_packages_sum_self_time() -> None:
    totals = top_level_packages(parse_importtime(IMPORTTIME))
    assert totals == {"botocore": 1300, "pydantic": 700, "functions": 200, "_io": 120, "boto3": 50}
    assert list(totals) == ["botocore", "pydantic", "functions", "_io", "boto3"]


def test_handler_module_of_each_declaration() -> None:
    assert handler_module(flow("episode-publisher")) == "functions.flows.episode_publisher.handler"
    assert all(not handler_module(f).endswith(".handler.handler") for f in FLOWS)


def test_lambda_environment_looks_like_lambda_and_points_nowhere(tmp_path: Path) -> None:
    tree = CodeTree(functions=tmp_path / "functions", layer_site_packages=tmp_path / "layer" / "python")
    environment = lambda_environment(flow("episode-publisher"), tree)
    assert environment["LAMBDA_TASK_ROOT"] == str(tree.functions) and environment["AWS_LAMBDA_FUNCTION_NAME"].endswith("episode-publisher")
    assert environment["PYTHONPATH"].split(":") == [str(tree.functions), str(tree.layer_site_packages)]  # /var/task first, as in Lambda
    assert environment["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12" and environment["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert environment["DEAD_LETTER_QUEUE_URL"] and environment["PYTHONDONTWRITEBYTECODE"] == "1"
    assert environment["AWS_DEFAULT_REGION"] == environment["AWS_REGION"]
    assert environment["POWERTOOLS_SERVICE_NAME"] == "episode-publisher"
    assert environment["LEDGER_TABLE"] and environment["MEGAPHONE_SECRET_ID"]
    assert not any(name.startswith("AWS_ENDPOINT_URL") or name == "AWS_PROFILE" for name in environment)
    baseline = lambda_environment(None)
    assert "LEDGER_TABLE" not in baseline and baseline["AWS_ACCESS_KEY_ID"]


def test_ratio_of_medians() -> None:
    baseline = Samples("baseline", None, wall_ms=[100, 300, 200], cpu_ms=[100, 120, 110])
    slow = Samples("slow", "m", wall_ms=[250, 240, 260], cpu_ms=[220, 200, 240])
    result = ColdStartResult(baseline, [slow], 3, True, [], "slow")
    assert result.ratio(slow, "wall") == 250 / 200
    assert result.ratio(slow, "cpu") == 220 / 110
    assert result.ratio(Samples("none", "m"), "cpu") is None


def test_first_importers_name_the_project_module_that_loaded_each_group() -> None:
    from bench.cold_start import first_importers

    rows = parse_importtime(
        """\
import time:       300 |        300 |       jmespath
import time:       100 |        400 |     aws_lambda_powertools
import time:        50 |        450 |   functions.observability
import time:      1000 |       1000 |       botocore
import time:        50 |       1050 |     boto3
import time:        10 |       1060 |   functions.state.dynamo
import time:         5 |       1515 | functions.flows.x.handler
"""
    )
    assert first_importers(rows) == {"powertools": "functions.observability", "boto3/botocore": "functions.state.dynamo"}


# --- equal work: what a flow builds, and building it offline ---------------------------------------
# Any real request would go to this closed port and fail: the child must need none.
NO_NETWORK = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}


def test_client_plan_builds_what_the_declaration_names() -> None:
    publisher = client_plan(flow("episode-publisher"))
    assert publisher.factories == ("ledger", "cursors", "idempotency", "event_bus", "megaphone")
    assert publisher.aws_services == ("dynamodb", "events", "sqs")  # tables, emits, its queue's dead letters
    assert publisher.http_clients == 1
    assert list(publisher.secrets) == ["consonance-spotify/megaphone-token"]

    monitor = client_plan(flow("availability-monitor"))
    assert monitor.http_clients == 3  # Megaphone, Spotify accounts, Spotify Web API
    assert "spotify_web" in monitor.factories and "sqs" not in monitor.aws_services  # scheduled: no queue

    recorder = client_plan(flow("availability-recorder"))
    assert "alerts" in recorder.factories and "sns" in recorder.aws_services

    webhook = client_plan(flow("webhook-ingest"))
    assert {"webhook_secrets", "webhook_replay_guard"} <= set(webhook.factories) and webhook.http_clients == 0


def test_every_planned_factory_exists_in_functions_dependencies() -> None:
    """A renamed part of the platform dependencies must fail here, not make the bench silently build less."""
    from functions.dependencies import Dependencies

    named = {"event_bus", "alerts", *TABLE_FACTORIES.values(), *(f for fs in SECRET_FACTORIES.values() for f in fs)}
    assert all(hasattr(Dependencies, name) for name in named), sorted(n for n in named if not hasattr(Dependencies, n))
    assert set(SECRET_FACTORIES) == set(HTTP_CLIENTS_PER_SECRET) == set(Secret)


@pytest.fixture(scope="module")
def this_interpreter() -> BytecodeInterpreter:
    found = probe_interpreter(Path(sys.executable))
    assert found is not None
    return found


def venv_tree() -> CodeTree:
    """The checkout and this venv's packages: the child's logic without building the 3.12 layer."""
    return CodeTree(functions=PROJECT_ROOT, layer_site_packages=Path(sysconfig.get_paths()["purelib"]))


@pytest.mark.parametrize("name", ["episode-publisher", "availability-monitor", "webhook-ingest"])
def test_child_imports_and_builds_a_flows_clients_without_the_network(this_interpreter: BytecodeInterpreter, name: str) -> None:
    declaration = flow(name)
    plan = client_plan(declaration)
    result, stderr = _run(this_interpreter, flow_job(declaration), {**lambda_environment(declaration, venv_tree()), **NO_NETWORK})
    assert result["error"] is None, stderr[-2000:]
    assert result["built"] == {
        "factories": len(plan.factories),
        "aws_clients": len(plan.aws_services) + 1,  # + Secrets Manager's, answered in process
        "http_clients": plan.http_clients,
    }
    assert 0 < result["import_cpu_ms"] <= result["cpu_ms"]


def test_the_no_network_trap_catches_a_real_request(this_interpreter: BytecodeInterpreter) -> None:
    job = {"kind": "code", "code": "import boto3\nboto3.client('secretsmanager').get_secret_value(SecretId='x')\n", "region": "eu-west-1"}
    result, _ = _run(this_interpreter, job, {**lambda_environment(None, venv_tree()), **NO_NETWORK})
    assert result["error"] and "Connect" in result["error"]


def test_baseline_job_times_import_then_one_client(this_interpreter: BytecodeInterpreter) -> None:
    result, stderr = _run(this_interpreter, {"kind": "baseline", "region": "eu-west-1"}, {**lambda_environment(None, venv_tree()), **NO_NETWORK})
    assert result["error"] is None, stderr[-2000:]
    assert 0 < result["import_cpu_ms"] < result["cpu_ms"]


def test_sources_only_copy_has_no_bytecode(tmp_path: Path) -> None:
    from bench.cold_start import _without_bytecode

    (tmp_path / "src" / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "mod.py").write_text("X = 1\n")
    (tmp_path / "src" / "pkg" / "__pycache__" / "mod.cpython-312.pyc").write_bytes(b"\x00")
    copy = _without_bytecode(tmp_path / "src", tmp_path / "copy")
    assert [p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file()] == ["pkg/mod.py"]


# --- figures ---------------------------------------------------------------------------------------
def result_of(bytecode: bool, baseline_ms: float, flow_ms: float) -> ColdStartResult:
    baseline = Samples("baseline", None, wall_ms=[baseline_ms], cpu_ms=[baseline_ms], import_cpu_ms=[baseline_ms * 0.8])
    flows = [
        Samples("episode-publisher", "m", wall_ms=[flow_ms], cpu_ms=[flow_ms], import_cpu_ms=[flow_ms * 0.6], built={"factories": 6, "aws_clients": 4, "http_clients": 1}),
        Samples("release-sweep", "n", wall_ms=[flow_ms / 2], cpu_ms=[flow_ms / 2], import_cpu_ms=[flow_ms / 4]),
    ]
    return ColdStartResult(baseline, flows, 1, bytecode, [], "episode-publisher", [], "cpython 3.12.1 cpython-312 magic cb0d0d0a")


def test_ratio_figure_compares_equal_work_and_explains_a_miss() -> None:
    from bench.figures import COLD_START_TARGET, _cold_start_ratio_figure

    figure = _cold_start_ratio_figure(result_of(True, 150.0, 390.0))
    assert figure.name == "cold_start_ratio" and figure.target == COLD_START_TARGET
    assert figure.value == 2.6 and figure.status == "miss"
    assert "import 234 ms + init 156 ms" in figure.note and "import 120 ms + init 30 ms" in figure.note
    assert "6 dependency factories, 4 boto3 clients, 1 httpx clients" in figure.note
    assert "MISSED" in figure.note and "cpython 3.12.1" in figure.note
    assert figure.details["flows"]["episode-publisher"]["import_cpu_ms_median"] == 234.0

    passing = _cold_start_ratio_figure(result_of(True, 150.0, 180.0))
    assert passing.status == "pass" and "MISSED" not in passing.note


def test_millisecond_figures_report_both_modes_and_the_speed_up() -> None:
    from bench.figures import _cold_start_ms_figure

    compiled, sources = result_of(True, 150.0, 390.0), result_of(False, 340.0, 840.0)
    with_bytecode = _cold_start_ms_figure(compiled, sources, "cold_start_ms_with_bytecode")
    without = _cold_start_ms_figure(sources, compiled, "cold_start_ms_without_bytecode")
    assert (with_bytecode.value, without.value) == (390.0, 840.0)
    assert with_bytecode.status == without.status == "info" and with_bytecode.unit == "ms"
    for figure in (with_bytecode, without):
        assert "390 ms with bytecode vs 840 ms without, 2.2x" in figure.note


def test_spread_rounds_are_evenly_spaced_from_the_first_to_the_last() -> None:
    from bench.cold_start import spread_rounds

    assert spread_rounds(9, 5) == {1, 3, 5, 7, 9}
    assert spread_rounds(9, 3) == {1, 5, 9}
    assert spread_rounds(9, 9) == spread_rounds(9, 20) == set(range(1, 10))
    assert spread_rounds(9, 1) == {1}


def fake_runtime(tmp_path: Path) -> Any:
    """Two code trees (bytecode, sources only) a warm-up can read, for a `measure` whose children are faked."""
    from bench.cold_start import LambdaLikeRuntime

    trees = []
    for name in ("compiled", "sources"):
        (tmp_path / name / "functions").mkdir(parents=True)
        (tmp_path / name / "layer").mkdir()
        (tmp_path / name / "layer" / "module.py").write_text("x = 1\n")
        trees.append(CodeTree(functions=tmp_path / name / "functions", layer_site_packages=tmp_path / name / "layer"))
    interpreter = probe_interpreter(Path(sys.executable))
    assert interpreter is not None
    return LambdaLikeRuntime(interpreter=interpreter, compiled=trees[0], sources_only=trees[1])


def test_measure_spends_interpreters_only_on_what_the_figures_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One warm-up run each of the baseline and the first flow (not a whole discarded round), the
    what-if variants in the rounds asked for only, and no import profile unless asked. Two flows are
    fewer than `CONFIRMED_FLOWS`: no screening, both are measured in every round."""
    import bench.cold_start as cold_start
    from bench.cold_start import WHAT_IF, measure

    runs: list[tuple[str, tuple[str, ...]]] = []

    def fake_run(interpreter: object, job: dict[str, object], environment: dict[str, str], extra_args: tuple[str, ...] = ()) -> tuple[dict[str, object], str]:
        runs.append((str(job.get("flow") or job.get("code") or job["kind"]), extra_args))
        return {"wall_ms": 10.0, "cpu_ms": 10.0 if job["kind"] != "flow" else 20.0, "import_cpu_ms": 5.0, "built": {}}, ""

    monkeypatch.setattr(cold_start, "_run", fake_run)
    flows = tuple(FLOWS[:2])
    result = measure(5, flows, what_if_repetitions=3, without_bytecode_repetitions=2, import_profile=False, runtime=fake_runtime(tmp_path))

    assert len(result.baseline.cpu_ms) == 5 and all(len(s.cpu_ms) == 5 for s in result.flows)
    assert all(len(v.cpu_ms) == 3 for v in result.what_if) and len(result.what_if) == len(WHAT_IF)
    sources = result.without_bytecode
    assert sources is not None and not sources.bytecode and sources.repetitions == 2
    assert len(sources.baseline.cpu_ms) == 2 and all(len(s.cpu_ms) == 2 for s in sources.flows)
    # warm-up, rounds, what-if rounds, sources-only rounds
    assert len(runs) == 2 + 5 * (1 + len(flows)) + 3 * len(WHAT_IF) + 2 * (1 + len(flows))
    assert not any(extra for _, extra in runs)  # no -X importtime
    assert result.worst_flow == flows[0].name and result.heaviest_imports == []
    assert result.screening_rounds == 0 and result.confirmed == tuple(f.name for f in flows)


# --- screen, then confirm ----------------------------------------------------------------------------
def test_spread_rounds_can_start_after_the_screening() -> None:
    from bench.cold_start import spread_rounds

    assert spread_rounds(9, 3, first=4) == {4, 6, 9}
    assert spread_rounds(9, 6, first=4) == set(range(4, 10))
    assert spread_rounds(9, 1, first=4) == {4}


def test_plan_rounds_screens_only_when_it_saves_children() -> None:
    from bench.cold_start import CONFIRMED_FLOWS, SCREENING_ROUNDS, plan_rounds

    plan = plan_rounds(9, 24, what_if_repetitions=5, group_repetitions=4, sources_repetitions=3)
    assert plan.screening_rounds == SCREENING_ROUNDS == 3
    assert plan.what_if_rounds == {1, 3, 5, 7, 9} and plan.group_rounds == {1, 4, 6, 9}
    assert plan.sources_rounds == {4, 6, 9}  # after the screening: only then are the confirmed flows known
    assert plan_rounds(9, 24).what_if_rounds == plan_rounds(9, 24).sources_rounds == frozenset()

    too_few_rounds = plan_rounds(SCREENING_ROUNDS, 24, sources_repetitions=3)
    too_few_flows = plan_rounds(9, CONFIRMED_FLOWS, sources_repetitions=3)
    assert too_few_rounds.screening_rounds == too_few_flows.screening_rounds == 0  # every flow in every round, as before
    assert too_few_flows.sources_rounds == {1, 5, 9}


def test_round_jobs_measure_every_flow_while_screening_then_the_confirmed_ones() -> None:
    from bench.cold_start import BASELINE, plan_rounds, round_jobs

    plan = plan_rounds(9, 5, what_if_repetitions=5, group_repetitions=4, sources_repetitions=3)
    flows = ["a", "b", "c", "d", "e"]
    confirmed = ("d", "b", "e")  # heaviest first, as `heaviest` gives them

    def round_of(number: int) -> list[tuple[str, str]]:
        return round_jobs(number, plan, flows, confirmed if number > plan.screening_rounds else (), ["v1", "v2"], ["g1"])

    assert round_of(1) == [("baseline", BASELINE), *(("flow", f) for f in flows), ("what-if", "v1"), ("what-if", "v2"), ("group flow", "g1")]
    assert round_of(2) == [("baseline", BASELINE), *(("flow", f) for f in flows)]
    # after the screening: the confirmed flows, in the flows' own order (interleaved as before)
    assert round_of(5) == [("baseline", BASELINE), ("flow", "b"), ("flow", "d"), ("flow", "e"), ("what-if", "v1"), ("what-if", "v2")]
    assert round_of(6) == [("baseline", BASELINE), ("flow", "b"), ("flow", "d"), ("flow", "e"), ("group flow", "g1"),
                           ("sources baseline", BASELINE), ("sources flow", "b"), ("sources flow", "d"), ("sources flow", "e")]  # fmt: skip
    assert round_of(7) == [("baseline", BASELINE), ("flow", "b"), ("flow", "d"), ("flow", "e"), ("what-if", "v1"), ("what-if", "v2")]
    every_round = {number: round_of(number) for number in range(1, 10)}
    assert all(jobs[0] == ("baseline", BASELINE) for jobs in every_round.values())
    assert sum(("flow", "a") in jobs for jobs in every_round.values()) == 3  # screened out: the screening rounds only
    assert sum(("flow", "d") in jobs for jobs in every_round.values()) == 9
    assert not any(("sources flow", "a") in jobs for jobs in every_round.values())

    unscreened = plan_rounds(4, 2, sources_repetitions=2)
    assert round_jobs(4, unscreened, ["a", "b"]) == [("baseline", BASELINE), ("flow", "a"), ("flow", "b"), ("sources baseline", BASELINE), ("sources flow", "a"), ("sources flow", "b")]


def test_heaviest_ranks_by_median_and_drops_a_flow_that_failed() -> None:
    from bench.cold_start import heaviest

    flows = [
        Samples("light", "m", cpu_ms=[100, 110, 90]),
        Samples("heavy", "m", cpu_ms=[300, 100, 290]),  # median 290: one low sample does not move it
        Samples("failed", "m", cpu_ms=[900, 900], error="ImportError: boom"),
        Samples("middle", "m", cpu_ms=[200, 210, 190]),
        Samples("unmeasured", "m"),
    ]
    assert heaviest(flows, 2) == ("heavy", "middle")
    assert heaviest(flows, 10) == ("heavy", "middle", "light")


def test_the_worst_is_the_heaviest_confirmed_flow_that_did_not_fail() -> None:
    from bench.cold_start import _worst

    flows = [
        Samples("screened-out", "m", cpu_ms=[500, 500, 500]),  # screening median above the confirmed ones' final ones
        Samples("confirmed-a", "m", cpu_ms=[480] * 9),
        Samples("confirmed-b", "m", cpu_ms=[470] * 9),
        Samples("confirmed-failed", "m", cpu_ms=[490] * 5, error="Timeout"),
    ]
    worst = _worst(flows, among=("confirmed-a", "confirmed-b", "confirmed-failed"))
    assert worst is not None and worst.name == "confirmed-a"
    assert _worst(flows) is flows[0]


def test_measure_screens_then_confirms_and_drops_a_flow_that_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Six flows: all three screening rounds measure every one, then only the baseline and the three
    heaviest go on; the heaviest flow fails in round 2, so it is neither confirmed nor the worst."""
    import bench.cold_start as cold_start
    from bench.cold_start import GROUP_LAYER_FLOWS, MAIN_LAYER_FLOWS, WHAT_IF, measure

    flows = MAIN_LAYER_FLOWS[:6]
    cpu: dict[str, float] = {flows[0].name: 900.0, flows[1].name: 300.0, flows[2].name: 600.0, flows[3].name: 400.0, flows[4].name: 500.0, flows[5].name: 200.0}
    sources_root = str(tmp_path / "sources")
    runs: list[tuple[str, str, bool]] = []  # (kind, name, from sources only)

    def fake_run(interpreter: object, job: dict[str, Any], environment: dict[str, str], extra_args: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
        name = str(job.get("flow") or job.get("code") or job["kind"])
        runs.append((str(job["kind"]), name, environment["PYTHONPATH"].startswith(sources_root)))
        if name == flows[0].name and sum(r[1] == name for r in runs) == 3:  # warm-up, round 1, then it fails
            return {"error": "ImportError: boom"}, "Traceback ...\nImportError: boom"
        base = cpu.get(name, 100.0) * (2 if runs[-1][2] else 1)
        return {"wall_ms": base, "cpu_ms": base, "import_cpu_ms": base / 2, "built": {}}, ""

    monkeypatch.setattr(cold_start, "_run", fake_run)
    monkeypatch.setattr(cold_start, "CHILDREN_AT_ONCE", 1)  # one at a time: `runs` is in the rounds' order
    result = measure(
        9, flows, what_if_repetitions=5, without_bytecode_repetitions=3, group_flows=GROUP_LAYER_FLOWS[:2], group_repetitions=4,
        import_profile=False, runtime=fake_runtime(tmp_path),
    )  # fmt: skip

    expected_confirmed = (flows[2].name, flows[4].name, flows[3].name)
    assert result.screening_rounds == 3 and result.confirmed == expected_confirmed
    assert result.worst_flow == flows[2].name  # the heaviest confirmed flow; the failed one is out
    by_name = {s.name: s for s in result.flows}
    assert by_name[flows[0].name].error == "ImportError: boom" and len(by_name[flows[0].name].cpu_ms) == 1
    assert [len(by_name[f.name].cpu_ms) for f in flows[1:]] == [3, 9, 9, 9, 3]  # screened-out flows: the screening only
    assert by_name[flows[1].name].rounds == [1, 2, 3] and by_name[flows[2].name].rounds == result.baseline.rounds == list(range(1, 10))
    assert len(result.baseline.cpu_ms) == 9 and all(len(v.cpu_ms) == 5 for v in result.what_if) and len(result.what_if) == len(WHAT_IF)

    sources = result.without_bytecode
    assert sources is not None and sources.repetitions == 3 and len(sources.baseline.cpu_ms) == 3
    assert [s.name for s in sources.flows] == [flows[2].name, flows[3].name, flows[4].name] and all(len(s.cpu_ms) == 3 for s in sources.flows)
    assert sources.worst_flow == flows[2].name

    groups = result.group_layers
    assert groups is not None and groups.baseline is result.baseline and groups.repetitions == 4
    assert [len(g.cpu_ms) for g in groups.flows] == [4, 4] and groups.worst_flow in {f.name for f in GROUP_LAYER_FLOWS[:2]}
    assert groups.flows[0].rounds == [1, 4, 6, 9] and len(groups.baseline_for(groups.flows[0]).cpu_ms) == 4

    # warm-up (baseline, first flow), then round by round; a sources-only child never before the screening ends
    rounds = runs[2:]
    starts = [i for i, (kind, _, from_sources) in enumerate(rounds) if kind == "baseline" and not from_sources]
    assert len(starts) == 9
    per_round = [rounds[a:b] for a, b in zip(starts, [*starts[1:], len(rounds)], strict=True)]
    assert [sum(kind == "flow" and not src and name in cpu for kind, name, src in r) for r in per_round] == [6, 6, 5, 3, 3, 3, 3, 3, 3]  # fails in round 2, skipped after
    assert [number for number, r in enumerate(per_round, 1) if any(src for _, _, src in r)] == [4, 6, 9]
    assert len(runs) == 2 + (7 + 7 + 6) + 6 * 4 + 5 * len(WHAT_IF) + 4 * 2 + 3 * 4


def test_a_flow_measured_in_some_rounds_is_divided_by_the_baseline_of_those_rounds() -> None:
    """Screening rounds met more load than the later ones here: a screened-out flow's ratio compares it
    with the baseline that met the same load, not with a baseline mostly measured later."""
    baseline = Samples("baseline", None, wall_ms=[200, 200, 200, 100, 100, 100], cpu_ms=[200, 200, 200, 100, 100, 100], rounds=[1, 2, 3, 4, 5, 6])
    confirmed = Samples("confirmed", "m", wall_ms=[600, 600, 600, 300, 300, 300], cpu_ms=[600, 600, 600, 300, 300, 300], rounds=[1, 2, 3, 4, 5, 6])
    screened_out = Samples("screened-out", "n", wall_ms=[500] * 3, cpu_ms=[500] * 3, rounds=[1, 2, 3])
    result = ColdStartResult(baseline, [confirmed, screened_out], 6, True, [], "confirmed", screening_rounds=3, confirmed=("confirmed",))
    assert result.ratio(confirmed, "cpu") == 450 / 150  # every round: the whole baseline
    assert result.ratio(screened_out, "cpu") == 500 / 200  # lower than the worst's, as its samples are
    assert result.baseline_for(screened_out).rounds == [1, 2, 3]
    assert result.ratio(Samples("unrecorded", "o", cpu_ms=[300]), "cpu") == 300 / 150  # no rounds recorded: the whole baseline


def test_ratio_figure_says_which_flows_were_screened_only() -> None:
    from bench.figures import _cold_start_ms_figure, _cold_start_ratio_figure

    result = result_of(True, 150.0, 390.0)
    result.flows.append(Samples("licence-status", "o", wall_ms=[100.0] * 3, cpu_ms=[100.0] * 3))
    result.screening_rounds, result.confirmed = 3, ("episode-publisher", "release-sweep")
    figure = _cold_start_ratio_figure(result)
    assert "the baseline and each of the 2 flows heaviest in a screening of all 3 over the first 3 rounds" in figure.note
    assert "the other flows were measured in the screening rounds only (3 each; their ratios are to the baseline in those rounds)" in figure.note
    assert "best: licence-status, ratio 0.67, from the screening rounds, to the baseline in them" in figure.note
    flows = figure.details["flows"]
    assert flows["episode-publisher"]["confirmed"] and not flows["licence-status"]["confirmed"]
    assert flows["licence-status"]["samples"] == 3 and figure.details["confirmed_flows"] == ["episode-publisher", "release-sweep"]

    sources = result_of(False, 340.0, 840.0)
    sources.screening_rounds, sources.confirmed = 3, ("episode-publisher", "release-sweep")
    assert "flows confirmed as heaviest with bytecode (episode-publisher, release-sweep)" in _cold_start_ms_figure(sources, result, "x").note
