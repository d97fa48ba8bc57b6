"""The Athena runner: the request it builds (the same SQL text as DuckDB), polling on the clock, typed
results over paged `GetQueryResults`, and typed errors. moto's Athena does not execute SQL, so the
round trip seeds moto with DuckDB's own answer and checks the runner returns exactly that."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from functions.analytics.athena_runner import (
    AthenaLocation,
    AthenaQueryFailed,
    AthenaQueryRejected,
    AthenaQueryTimedOut,
    AthenaRunner,
)
from functions.analytics.duckdb_runner import DuckDBRunner
from functions.analytics.rollups import load_rollup
from sandbox.clock import VirtualClock
from tests.analytics import hand_dataset
from tests.analytics.hand_dataset import FROM_DAY, TO_DAY

LOCATION = AthenaLocation(database="consonance_spotify_analytics", workgroup="consonance-spotify-analytics", output_location="s3://results/athena/")


def test_the_request_carries_the_composed_sql_location_and_literal_parameters() -> None:
    runner = AthenaRunner(LOCATION, client=boto3.client("athena", region_name="eu-west-1"))
    query = load_rollup("engagement")
    request = runner.request(query, {"from_day": FROM_DAY, "to_day": TO_DAY})
    assert request == {
        "QueryString": query.composed(),
        "QueryExecutionContext": {"Database": "consonance_spotify_analytics", "Catalog": "AwsDataCatalog"},
        "WorkGroup": "consonance-spotify-analytics",
        "ResultConfiguration": {"OutputLocation": "s3://results/athena/"},
        "ExecutionParameters": ["'2025-03-01'", "'2025-03-14'"],
    }
    launch = runner.request(load_rollup("launch_comparison"), {"window_days": 28, "as_of": TO_DAY})
    assert launch["ExecutionParameters"] == ["28", "'2025-03-14'"]
    enforced = AthenaRunner(AthenaLocation(database="d", workgroup="w"), client=runner.client)
    windows = enforced.request(load_rollup("campaign_windows"), {})
    assert "ExecutionParameters" not in windows and "ResultConfiguration" not in windows


def athena_result(rows: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """DuckDB rows as Athena returns them: text cells, a header row, column types."""
    names = list(rows[0])

    def athena_type(name: str) -> str:
        sample = next((r[name] for r in rows if r[name] is not None), "")
        return {bool: "boolean", int: "bigint", float: "double", date: "date"}.get(type(sample), "varchar")

    def cell(value: Any) -> dict[str, str]:
        return {} if value is None else {"VarCharValue": value.isoformat() if isinstance(value, date) else str(value)}

    column_info = [{"Name": n, "Label": n, "Type": athena_type(n), "Nullable": "UNKNOWN", "CaseSensitive": True} for n in names]
    header = {"Data": [{"VarCharValue": n} for n in names]}
    return [header] + [{"Data": [cell(r[n]) for n in names]} for r in rows], column_info


@pytest.mark.usefixtures("aws")
def test_a_round_trip_through_moto_returns_what_duckdb_computes(tmp_path: Path, virtual_clock: VirtualClock) -> None:
    from moto.athena.models import QueryResults, athena_backends

    hand_dataset.write(tmp_path)
    expected = DuckDBRunner(tmp_path).run(load_rollup("engagement"), {"from_day": FROM_DAY, "to_day": TO_DAY})
    client = boto3.client("athena", region_name="eu-west-1")
    client.create_work_group(Name=LOCATION.workgroup)
    rows, column_info = athena_result(expected)
    athena_backends["123456789012"]["eu-west-1"].query_results_queue.append(QueryResults(rows=rows, column_info=column_info))

    runner = AthenaRunner(LOCATION, client=client)
    assert runner.run(load_rollup("engagement"), {"from_day": FROM_DAY, "to_day": TO_DAY}) == expected
    [execution_id] = client.list_query_executions(WorkGroup=LOCATION.workgroup)["QueryExecutionIds"]
    execution = client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    assert execution["Query"] == load_rollup("engagement").composed()
    assert execution["ExecutionParameters"] == ["'2025-03-01'", "'2025-03-14'"]
    assert execution["QueryExecutionContext"]["Database"] == LOCATION.database


def stubbed(states: list[dict[str, Any]]) -> tuple[AthenaRunner, Stubber]:
    client = boto3.client("athena", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    for status in states:
        stubber.add_response("get_query_execution", {"QueryExecution": {"QueryExecutionId": "q-1", "Status": status}})
    return AthenaRunner(LOCATION, client=client, timeout_seconds=10), stubber


def column(name: str, kind: str) -> dict[str, Any]:
    return {"Name": name, "Type": kind}


def test_results_are_read_page_by_page_and_typed(virtual_clock: VirtualClock) -> None:
    runner, stubber = stubbed([{"State": "SUCCEEDED"}])
    metadata = {"ColumnInfo": [column("group_key", "varchar"), column("plays", "double"), column("episodes", "bigint"), column("anchor_date", "date"), column("ratio", "double")]}
    stubber.add_response(
        "get_query_results",
        {
            "ResultSet": {
                "ResultSetMetadata": metadata,
                "Rows": [
                    {"Data": [{"VarCharValue": "group_key"}, {"VarCharValue": "plays"}, {"VarCharValue": "episodes"}, {"VarCharValue": "anchor_date"}, {"VarCharValue": "ratio"}]},
                    {"Data": [{"VarCharValue": "w1"}, {"VarCharValue": "40.0"}, {"VarCharValue": "1"}, {"VarCharValue": "2025-03-10"}, {}]},
                ],
            },
            "NextToken": "page-2",
        },
        {"QueryExecutionId": "q-1"},
    )
    stubber.add_response(
        "get_query_results",
        {"ResultSet": {"ResultSetMetadata": metadata, "Rows": [{"Data": [{"VarCharValue": "w2"}, {"VarCharValue": "15.5"}, {"VarCharValue": "2"}, {"VarCharValue": "2025-03-20"}, {"VarCharValue": "-0.25"}]}]}},
        {"QueryExecutionId": "q-1", "NextToken": "page-2"},
    )
    with stubber:
        rows = runner.run(load_rollup("campaign_windows"), {})
    assert rows == [
        {"group_key": "w1", "plays": 40.0, "episodes": 1, "anchor_date": date(2025, 3, 10), "ratio": None},
        {"group_key": "w2", "plays": 15.5, "episodes": 2, "anchor_date": date(2025, 3, 20), "ratio": -0.25},
    ]
    stubber.assert_no_pending_responses()


def test_a_rejected_query_is_permanent_with_athenas_reason(virtual_clock: VirtualClock) -> None:
    failed = {"State": "FAILED", "StateChangeReason": "line 3:5: Table 'facts' does not exist", "AthenaError": {"ErrorCategory": 2, "Retryable": False}}
    runner, stubber = stubbed([{"State": "RUNNING"}, failed])
    with stubber, pytest.raises(AthenaQueryRejected, match="does not exist"):
        runner.run(load_rollup("campaign_windows"), {})


def test_a_retryable_failure_is_transient(virtual_clock: VirtualClock) -> None:
    runner, stubber = stubbed([{"State": "FAILED", "StateChangeReason": "internal error", "AthenaError": {"ErrorCategory": 1, "Retryable": True}}])
    with stubber, pytest.raises(AthenaQueryFailed, match="internal error"):
        runner.run(load_rollup("campaign_windows"), {})


def test_a_query_past_its_timeout_is_stopped(virtual_clock: VirtualClock) -> None:
    runner, stubber = stubbed([{"State": "RUNNING"}] * 5)  # 0.5 + 1 + 2 + 4 s slept, the next 5 s would pass 10 s
    stubber.add_response("stop_query_execution", {}, {"QueryExecutionId": "q-1"})
    with stubber, pytest.raises(AthenaQueryTimedOut, match="stopped"):
        runner.run(load_rollup("campaign_windows"), {})
    stubber.assert_no_pending_responses()


def test_throttling_is_transient_and_a_bad_request_permanent() -> None:
    client = boto3.client("athena", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    runner = AthenaRunner(LOCATION, client=client)
    with Stubber(client) as stubber:
        stubber.add_client_error("start_query_execution", "TooManyRequestsException", "slow down")
        with pytest.raises(AthenaQueryFailed, match="TooManyRequestsException"):
            runner.run(load_rollup("campaign_windows"), {})
        stubber.add_client_error("start_query_execution", "InvalidRequestException", "workgroup is disabled")
        with pytest.raises(AthenaQueryRejected, match="workgroup is disabled"):
            runner.run(load_rollup("campaign_windows"), {})
