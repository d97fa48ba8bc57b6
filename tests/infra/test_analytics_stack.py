"""The listening analytics in the stack: the export bucket announcing objects on EventBridge, the Glue
tables (partition projection) and Athena workgroup over the analytics store, the per-flow dependency
layers and Lambda's 250 MB limit per function checked at synth time."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from functions.analytics.catalog import table_inputs
from functions.analytics.facts import DIMENSION_MODELS, SOURCES
from infra.flows import FLOWS, Bucket, flow
from infra.function_size import LAMBDA_UNZIPPED_LIMIT_BYTES, FunctionTooLarge, check_function_sizes, function_sizes, size_table
from infra.layer_groups import LAYER_GROUPS, UnknownLayerGroup, check_no_overlap, groups_used, requirement_names
from infra.naming import ResourceNames
from infra.stack import STACK_NAME, ConsonanceSpotifyStack
from tests.infra.synthesis import Assets, SynthesizedStack, synthesize

NAMES = ResourceNames()
PROJECT_ROOT = Path(__file__).parents[2]


def resources_of(synthesized: SynthesizedStack, kind: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in synthesized.resources.items() if value["Type"] == kind}


def test_the_export_bucket_announces_its_objects_on_eventbridge(synthesized: SynthesizedStack) -> None:
    export = synthesized.properties(synthesized.stack.buckets[Bucket.MEGAPHONE_EXPORT])
    assert export["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert not resources_of(synthesized, "Custom::S3BucketNotifications")  # CloudFormation's own property, no custom resource
    analytics = synthesized.properties(synthesized.stack.buckets[Bucket.ANALYTICS])
    assert "NotificationConfiguration" not in analytics
    rules = analytics["LifecycleConfiguration"]["Rules"]
    assert {"ExpirationInDays": 30, "Prefix": "athena-results/", "Status": "Enabled"} in rules


def test_glue_database_and_tables_over_the_store_with_partition_projection(synthesized: SynthesizedStack) -> None:
    databases = resources_of(synthesized, "AWS::Glue::Database")
    assert [d["Properties"]["DatabaseInput"]["Name"] for d in databases.values()] == [NAMES.glue_database]
    tables = {t["Properties"]["TableInput"]["Name"]: t["Properties"] for t in resources_of(synthesized, "AWS::Glue::Table").values()}
    assert set(tables) == {"facts", *DIMENSION_MODELS}
    assert all(t["DatabaseName"] == NAMES.glue_database for t in tables.values())
    facts = tables["facts"]["TableInput"]
    parameters = facts["Parameters"]
    assert parameters["projection.enabled"] == "true" and parameters["projection.source.values"] == ",".join(SOURCES)
    assert (parameters["projection.date.type"], parameters["projection.date.format"]) == ("date", "yyyy-MM-dd")
    assert [k["Name"] for k in facts["PartitionKeys"]] == ["source", "date"]
    bucket_ref = {"Ref": synthesized.logical_id(synthesized.stack.buckets[Bucket.ANALYTICS])}
    assert bucket_ref in facts["StorageDescriptor"]["Location"]["Fn::Join"][1]  # s3://<analytics bucket>/facts/
    expected = {t["Name"]: [c["Name"] for c in t["StorageDescriptor"]["Columns"]] for t in table_inputs("s3://b")}
    assert {name: [c["Name"] for c in t["TableInput"]["StorageDescriptor"]["Columns"]] for name, t in tables.items()} == expected


def test_athena_workgroup_is_engine_v3_enforced_and_encrypted(synthesized: SynthesizedStack) -> None:
    (workgroup,) = resources_of(synthesized, "AWS::Athena::WorkGroup").values()
    properties = workgroup["Properties"]
    configuration = properties["WorkGroupConfiguration"]
    assert properties["Name"] == NAMES.athena_workgroup
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["EngineVersion"] == {"SelectedEngineVersion": "Athena engine version 3"}
    assert configuration["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    assert "athena-results/" in str(configuration["ResultConfiguration"]["OutputLocation"])


@pytest.mark.parametrize("declaration", FLOWS, ids=[d.name for d in FLOWS])
def test_only_the_flow_that_runs_athena_queries_is_told_where(synthesized: SynthesizedStack, declaration: Any) -> None:
    variables = synthesized.properties(synthesized.stack.flows[declaration.name].function)["Environment"]["Variables"]
    wired = {"ANALYTICS_GLUE_DATABASE", "ANALYTICS_ATHENA_WORKGROUP", "ANALYTICS_ATHENA_OUTPUT_LOCATION"} & set(variables)
    assert bool(wired) == declaration.runs_athena_queries
    if declaration.runs_athena_queries:
        assert (variables["ANALYTICS_GLUE_DATABASE"], variables["ANALYTICS_ATHENA_WORKGROUP"]) == (NAMES.glue_database, NAMES.athena_workgroup)


def test_each_function_carries_only_its_groups_layers_and_the_sizes_are_known(synthesized: SynthesizedStack) -> None:
    assert [g.name for g in groups_used(FLOWS)] == ["analytics"]
    analytics_layer = {"Ref": synthesized.logical_id(synthesized.stack.group_layers["analytics"])}
    for declaration in FLOWS:
        layers = synthesized.properties(synthesized.stack.flows[declaration.name].function)["Layers"]
        assert (analytics_layer in layers) == ("analytics" in declaration.layers), declaration.name
    sizes = {size.flow: size for size in synthesized.stack.function_sizes}
    assert set(sizes) == {d.name for d in FLOWS}
    assert set(sizes[flow("analytics-export-ingest").name].parts) == {"code", "main", "analytics"}
    assert set(sizes[flow("consonance-poller").name].parts) == {"code", "main"}
    assert "analytics-export-ingest" in size_table(sizes.values())


def test_a_function_over_lambdas_limit_stops_synthesis(assets: Assets, tmp_path: Path) -> None:
    big = tmp_path / "big-analytics"
    shutil.copytree(assets.group_layers["analytics"], big)
    with (big / "python" / "pyarrow_stand_in.bin").open("wb") as handle:  # sparse: its size counts, no disk is used
        handle.truncate(LAMBDA_UNZIPPED_LIMIT_BYTES)
    with pytest.raises(FunctionTooLarge) as raised:
        ConsonanceSpotifyStack(
            App(), STACK_NAME, layer_asset_path=assets.layer, function_asset_path=assets.functions, group_layer_paths={"analytics": big}
        )
    message = str(raised.value)
    assert "analytics-export-ingest" in message and "analytics-nightly" in message and "consonance-poller" not in message


def test_size_check_counts_code_main_layer_and_each_declared_group(tmp_path: Path) -> None:
    for name, size in (("code", 10), ("main", 20), ("heavy", 30)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_bytes(b"x" * size)
    light = dataclasses.replace(flow("consonance-poller"), layers=())
    heavy = dataclasses.replace(flow("analytics-nightly"), layers=("heavy",))
    sizes = function_sizes((light, heavy), tmp_path / "code", tmp_path / "main", {"heavy": tmp_path / "heavy"})
    assert [(s.flow, s.total) for s in sizes] == [("consonance-poller", 30), ("analytics-nightly", 60)]
    check_function_sizes(sizes, limit=60)
    with pytest.raises(FunctionTooLarge, match="analytics-nightly"):
        check_function_sizes(sizes, limit=59)
    with pytest.raises(FunctionTooLarge, match="no built layer"):
        function_sizes((heavy,), tmp_path / "code", tmp_path / "main", {})


def test_dependency_groups_are_known_and_do_not_repeat_the_main_layer(tmp_path: Path) -> None:
    assert requirement_names(PROJECT_ROOT / LAYER_GROUPS["analytics"].requirements) == {"pyarrow"}
    check_no_overlap(PROJECT_ROOT, groups_used(FLOWS))
    with pytest.raises(UnknownLayerGroup, match="no-such-group"):
        groups_used((dataclasses.replace(flow("analytics-nightly"), layers=("no-such-group",)),))
    (tmp_path / "requirements.txt").write_text("boto3>=1.35\npydantic==2.*\n")
    (tmp_path / "requirements-analytics.txt").write_text("pyarrow>=17\nBoto3==1.40  # a second copy\n")
    with pytest.raises(UnknownLayerGroup, match="boto3"):
        check_no_overlap(tmp_path, groups_used(FLOWS))


def test_megaphone_may_only_put_objects_under_the_export_prefix(assets: Assets, tmp_path: Path) -> None:
    writer = "arn:aws:iam::111122223333:role/megaphone-export"
    synthesized = synthesize(assets, tmp_path, {"megaphoneExportWriter": writer, "megaphoneExportPrefix": "megaphone/"}, nag=False)
    policies = [p["Properties"] for p in resources_of(synthesized, "AWS::S3::BucketPolicy").values()]
    export_ref = {"Ref": synthesized.logical_id(synthesized.stack.buckets[Bucket.MEGAPHONE_EXPORT])}
    (export_policy,) = [p for p in policies if p["Bucket"] == export_ref]
    granted = [s for s in export_policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert [(s["Principal"], s["Action"]) for s in granted] == [({"AWS": writer}, "s3:PutObject")]
    assert "/megaphone/*" in str(granted[0]["Resource"])
    ingest = synthesized.stack.flows["analytics-export-ingest"]
    rule = synthesized.properties(ingest.rule)
    assert rule["EventPattern"]["detail"]["object"] == {"key": [{"prefix": "megaphone/"}]}
    variables = synthesized.properties(ingest.function)["Environment"]["Variables"]
    assert variables["MEGAPHONE_EXPORT_PREFIX"] == "megaphone/"
    assert "MEGAPHONE_EXPORT_PREFIX" not in synthesized.properties(synthesized.stack.flows["consonance-poller"].function)["Environment"]["Variables"]
