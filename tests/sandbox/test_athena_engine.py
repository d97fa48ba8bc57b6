"""The sandbox's Athena: the Glue tables and workgroup the stack defines, created in moto, and queries
answered on DuckDB over the tables' S3 data — so the nightly flow's Athena runner gets, through the
real Athena API shapes, the rows the local DuckDB runner gets from the same store. And Athena is in
the grant checks: only a flow declaring `runs_athena_queries` may use the workgroup."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.analytics.athena_runner import AthenaLocation, AthenaQueryRejected, AthenaRunner
from functions.analytics.duckdb_runner import DuckDBRunner
from functions.analytics.rollups import RollupQuery, rollup_names, run_rollup
from infra.flows import FLOWS, Bucket, Secret, flow
from sandbox.aws_grants import ArnBuilder, FlowGrants, required_permissions
from sandbox.moto_server import MotoServer
from sandbox.resources import SandboxResources
from tests.analytics import hand_dataset
from tests.analytics.hand_dataset import FROM_DAY, TO_DAY
from tests.sandbox.deployments import deploy

ANALYTICS_FLOWS = tuple(f for f in FLOWS if f.name.startswith("analytics-"))
ARGUMENTS = {
    "engagement": {"from_day": FROM_DAY, "to_day": TO_DAY},
    "growth": {"to_day": TO_DAY},
    "launch_comparison": {"window_days": 7, "as_of": TO_DAY},
    "launch_curve": {"window_days": 7, "group_type": "author"},
    "campaign_windows": {},
}


@pytest.fixture(scope="module")
def store(moto_server: MotoServer) -> Iterator[tuple[SandboxResources, Path]]:
    resources = deploy(ANALYTICS_FLOWS, secret_values={Secret.CONSONANCE: "c", Secret.SPOTIFY_CREATORS: '{"sp_dc": "a", "sp_key": "b"}'})
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        hand_dataset.write(root)
        s3 = boto3.client("s3")
        for path in root.rglob("*.parquet"):
            s3.put_object(Bucket=resources.buckets[Bucket.ANALYTICS], Key=path.relative_to(root).as_posix(), Body=path.read_bytes())
        yield resources, root


def athena(resources: SandboxResources) -> AthenaRunner:
    assert resources.analytics is not None
    return AthenaRunner(AthenaLocation(resources.analytics.database, resources.analytics.workgroup), poll_initial_seconds=0.001)


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_every_rollup_gives_the_same_rows_on_athena_and_on_duckdb(store: tuple[SandboxResources, Path], name: str) -> None:
    resources, root = store
    assert set(ARGUMENTS) == set(rollup_names())
    local = DuckDBRunner(root)
    try:
        expected = run_rollup(local, name, **ARGUMENTS[name])
    finally:
        local.close()
    assert expected  # the hand dataset gives every rollup rows
    assert run_rollup(athena(resources), name, **ARGUMENTS[name]) == expected


def test_results_are_paged_as_athena_pages_them(store: tuple[SandboxResources, Path]) -> None:
    resources, _ = store
    query = RollupQuery(name="numbers", text="SELECT CAST(range AS BIGINT) AS n, CAST(range AS VARCHAR) AS label FROM range(2500)", parameters=())
    rows = athena(resources).run(query, {})
    assert [row["n"] for row in rows] == list(range(2500)) and rows[7]["label"] == "7"  # three pages, the header row dropped once


def test_a_query_the_engine_rejects_fails_with_athenas_reason(store: tuple[SandboxResources, Path]) -> None:
    resources, _ = store
    query = RollupQuery(name="broken", text="SELECT no_such_column FROM facts", parameters=())
    with pytest.raises(AthenaQueryRejected, match="failed: .*no_such_column"):
        athena(resources).run(query, {})


def test_each_query_runs_alone_nothing_one_leaves_behind_reaches_the_next(store: tuple[SandboxResources, Path]) -> None:
    """The engine keeps one DuckDB database between queries but gives each its own connection and
    transaction: a table a query created, and a setting it changed, are gone for the next query, as
    they would be on a fresh database."""
    resources, _ = store
    assert resources.analytics is not None
    client = boto3.client("athena")

    def state_of(statement: str) -> dict[str, Any]:
        started = client.start_query_execution(
            QueryString=statement, QueryExecutionContext={"Database": resources.analytics.database}, WorkGroup=resources.analytics.workgroup
        )
        return client.get_query_execution(QueryExecutionId=started["QueryExecutionId"])["QueryExecution"]["Status"]

    assert state_of("CREATE TABLE leftover AS SELECT 1 AS n")["State"] == "SUCCEEDED"
    assert state_of("SET integer_division = false")["State"] == "SUCCEEDED"
    gone = state_of("SELECT n FROM leftover")
    assert gone["State"] == "FAILED" and "leftover" in gone["StateChangeReason"]
    runner = athena(resources)
    assert runner.run(RollupQuery(name="divide", text="SELECT 7 / 2 AS q", parameters=()), {}) == [{"q": 3}]  # Athena's integer division


def test_an_unknown_workgroup_or_database_is_refused(store: tuple[SandboxResources, Path]) -> None:
    resources, _ = store
    assert resources.analytics is not None
    query = RollupQuery(name="one", text="SELECT 1 AS one", parameters=())
    with pytest.raises(AthenaQueryRejected, match="InvalidRequestException"):
        AthenaRunner(AthenaLocation(resources.analytics.database, "no-such-workgroup")).run(query, {})
    with pytest.raises(AthenaQueryRejected, match="SCHEMA_NOT_FOUND|InvalidRequestException"):
        AthenaRunner(AthenaLocation("no_such_database", resources.analytics.workgroup)).run(query, {})


def test_only_a_flow_that_runs_athena_queries_may_use_the_workgroup(store: tuple[SandboxResources, Path]) -> None:
    resources, _ = store
    assert resources.analytics is not None
    arns = ArnBuilder(resources.region, resources.account)
    start = required_permissions("athena", "StartQueryExecution", {"WorkGroup": resources.analytics.workgroup, "QueryString": "SELECT 1"}, arns)
    results = required_permissions("athena", "GetQueryResults", {"QueryExecutionId": "q-1"}, arns)
    other = required_permissions("athena", "StartQueryExecution", {"WorkGroup": "primary", "QueryString": "SELECT 1"}, arns)
    nightly = FlowGrants.of(flow("analytics-nightly"), resources)
    ingest = FlowGrants.of(flow("analytics-export-ingest"), resources)
    assert all(nightly.allows(p, arns) for p in start + results)
    assert not any(nightly.allows(p, arns) for p in other)  # not another workgroup
    assert not any(ingest.allows(p, arns) for p in start + results)


def test_the_query_mirror_is_removed_when_the_server_stops() -> None:
    """The sandbox CLI ends with `os._exit` (no finalizers run), so the server's stop removes the
    directory where the engine mirrors the tables' objects; a run used to leave one behind."""
    with MotoServer() as server:
        assert server.athena is not None
        mirror = server.athena._mirror_root  # noqa: SLF001 - the directory is the engine's own
        assert mirror.is_dir()
    assert not mirror.exists()
