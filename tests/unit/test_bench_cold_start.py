"""The cold-start bench's parsing and set-up (not its timings)."""

from __future__ import annotations

from bench.cold_start import ColdStartResult, Samples, handler_module, lambda_environment, parse_importtime, top_level_packages
from infra.flows import FLOWS, flow

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


def test_lambda_environment_looks_like_lambda_and_points_nowhere() -> None:
    environment = lambda_environment(flow("episode-publisher"))
    assert environment["LAMBDA_TASK_ROOT"] and environment["AWS_LAMBDA_FUNCTION_NAME"].endswith("episode-publisher")
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
