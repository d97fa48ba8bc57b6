"""The `snapStart` deployment setting, both ways: off (cdk.json's default) every trigger invokes the
function ($LATEST) and there is no version or alias; on, every function has SnapStart on published
versions, one version (old ones deleted) and the `live` alias, and every trigger invokes the alias.
Alarms watch the function either way (FunctionName aggregates all versions and aliases)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from infra.bytecode import BytecodeInterpreter, compile_tree
from infra.deployment_context import DeploymentContextError, load_cdk_json_context
from infra.flow_constructs import FlowConstruct
from infra.flows import FLOWS, EventTrigger, HttpTrigger, ScheduleTrigger
from infra.layer import LAYER_RUNTIME_PATH
from infra.snap_start import LAYER_VERSION_FLAG, SNAP_START_ALIAS, SNAP_START_CONTEXT_KEY, snap_start_flows
from infra.stack import PROJECT_ROOT, STACK_NAME, ConsonanceSpotifyStack
from tests.infra.synthesis import Assets, SynthesizedStack, referenced_logical_ids, synthesize

FLOW_NAMES = [d.name for d in FLOWS]
QUEUE_FLOWS = [d.name for d in FLOWS if isinstance(d.trigger, EventTrigger)]
SCHEDULED_FLOWS = [d.name for d in FLOWS if isinstance(d.trigger, ScheduleTrigger)]
HTTP_FLOWS = [d.name for d in FLOWS if isinstance(d.trigger, HttpTrigger)]
SELECTED = "webhook-ingest"


def resources_of_type(synthesized: SynthesizedStack, resource_type: str) -> dict[str, dict[str, Any]]:
    return {logical_id: r for logical_id, r in synthesized.resources.items() if r["Type"] == resource_type}


def invoked(synthesized: SynthesizedStack, flow: FlowConstruct) -> set[str]:
    """What the flow's trigger points at: the event source mapping, the schedule target or the URL."""
    if flow.queue is not None:
        queue_id = synthesized.logical_id(flow.queue)
        mappings = [
            r["Properties"]
            for r in resources_of_type(synthesized, "AWS::Lambda::EventSourceMapping").values()
            if referenced_logical_ids(r["Properties"]["EventSourceArn"]) == {queue_id}
        ]
        assert len(mappings) == 1
        return referenced_logical_ids(mappings[0]["FunctionName"])
    if flow.function_url is not None:
        url = synthesized.resource(flow.function_url)
        return referenced_logical_ids(url["Properties"]["TargetFunctionArn"]) | {f"qualifier:{url['Properties'].get('Qualifier', '$LATEST')}"}
    assert flow.rule is not None
    return referenced_logical_ids([target["Arn"] for target in synthesized.properties(flow.rule)["Targets"]])


def test_cdk_json_keeps_snap_start_off_and_versions_following_the_layer() -> None:
    context = load_cdk_json_context(PROJECT_ROOT)
    assert context[SNAP_START_CONTEXT_KEY] is False
    # Without it a new layer would not publish a new version, and the alias would keep the old layer.
    assert context[LAYER_VERSION_FLAG] is True


# --- off ---------------------------------------------------------------------------------------


def test_off_there_is_no_version_no_alias_and_no_snap_start(synthesized: SynthesizedStack) -> None:
    assert resources_of_type(synthesized, "AWS::Lambda::Version") == {}
    assert resources_of_type(synthesized, "AWS::Lambda::Alias") == {}
    for flow in synthesized.stack.flows.values():
        assert "SnapStart" not in synthesized.properties(flow.function)
        assert flow.alias is None and flow.invocation_target is flow.function


@pytest.mark.parametrize("name", FLOW_NAMES)
def test_off_every_trigger_invokes_the_function(synthesized: SynthesizedStack, name: str) -> None:
    flow = synthesized.stack.flows[name]
    function_id = synthesized.logical_id(flow.function)
    expected = {function_id, "qualifier:$LATEST"} if flow.function_url is not None else {function_id}
    assert invoked(synthesized, flow) == expected


# --- on ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FLOW_NAMES)
def test_on_the_function_snapshots_published_versions_behind_the_live_alias(synthesized_snap_start: SynthesizedStack, name: str) -> None:
    synthesized = synthesized_snap_start
    flow = synthesized.stack.flows[name]
    function_id = synthesized.logical_id(flow.function)
    assert synthesized.properties(flow.function)["SnapStart"] == {"ApplyOn": "PublishedVersions"}

    versions = {
        logical_id: r
        for logical_id, r in resources_of_type(synthesized, "AWS::Lambda::Version").items()
        if r["Properties"]["FunctionName"] == {"Ref": function_id}
    }
    assert len(versions) == 1
    (version_id, version), = versions.items()
    assert version["DeletionPolicy"] == "Delete"  # a superseded version (and its paid-for snapshot) goes

    assert flow.alias is not None and flow.invocation_target is flow.alias
    alias = synthesized.properties(flow.alias)
    assert alias["Name"] == SNAP_START_ALIAS
    assert alias["FunctionName"] == {"Ref": function_id}
    assert alias["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}


@pytest.mark.parametrize("name", QUEUE_FLOWS + SCHEDULED_FLOWS)
def test_on_queue_and_schedule_triggers_invoke_the_alias(synthesized_snap_start: SynthesizedStack, name: str) -> None:
    synthesized = synthesized_snap_start
    flow = synthesized.stack.flows[name]
    assert flow.alias is not None
    alias_id = synthesized.logical_id(flow.alias)
    assert invoked(synthesized, flow) == {alias_id}
    if name in SCHEDULED_FLOWS:
        assert flow.rule is not None
        permissions = [
            r["Properties"]
            for r in resources_of_type(synthesized, "AWS::Lambda::Permission").values()
            if r["Properties"]["Principal"] == "events.amazonaws.com"
            and referenced_logical_ids(r["Properties"]["SourceArn"]) == {synthesized.logical_id(flow.rule)}
        ]
        assert [p["FunctionName"] for p in permissions] == [{"Ref": alias_id}]


@pytest.mark.parametrize("name", HTTP_FLOWS)
def test_on_the_function_url_serves_the_alias(synthesized_snap_start: SynthesizedStack, name: str) -> None:
    synthesized = synthesized_snap_start
    flow = synthesized.stack.flows[name]
    assert flow.alias is not None and flow.function_url is not None
    alias_id = synthesized.logical_id(flow.alias)
    assert invoked(synthesized, flow) == {synthesized.logical_id(flow.function), f"qualifier:{SNAP_START_ALIAS}"}
    url = synthesized.resource(flow.function_url)
    assert url["Properties"]["AuthType"] == "NONE" and alias_id in url.get("DependsOn", [])
    permissions = [
        r["Properties"]
        for r in resources_of_type(synthesized, "AWS::Lambda::Permission").values()
        if r["Properties"]["FunctionName"] == {"Ref": alias_id}
    ]
    assert {(p["Action"], p["Principal"]) for p in permissions} == {("lambda:InvokeFunctionUrl", "*"), ("lambda:InvokeFunction", "*")}
    assert all(p.get("InvokedViaFunctionUrl") is True for p in permissions if p["Action"] == "lambda:InvokeFunction")
    url_id = synthesized.logical_id(flow.function_url)
    outputs = synthesized.template.to_json()["Outputs"]
    assert any(output["Value"] == {"Fn::GetAtt": [url_id, "FunctionUrl"]} for output in outputs.values())


def test_on_nothing_invokes_latest(synthesized_snap_start: SynthesizedStack) -> None:
    synthesized = synthesized_snap_start
    functions = {synthesized.logical_id(flow.function) for flow in synthesized.stack.flows.values()}
    for mapping in resources_of_type(synthesized, "AWS::Lambda::EventSourceMapping").values():
        assert not referenced_logical_ids(mapping["Properties"]["FunctionName"]) & functions
    for rule in resources_of_type(synthesized, "AWS::Events::Rule").values():
        assert not referenced_logical_ids([t["Arn"] for t in rule["Properties"]["Targets"]]) & functions
    for url in resources_of_type(synthesized, "AWS::Lambda::Url").values():
        assert url["Properties"]["Qualifier"] == SNAP_START_ALIAS


@pytest.mark.parametrize("fixture", ["synthesized", "synthesized_snap_start"])
def test_alarms_watch_the_function_metrics_either_way(request: pytest.FixtureRequest, fixture: str) -> None:
    synthesized: SynthesizedStack = request.getfixturevalue(fixture)
    for name, flow in synthesized.stack.flows.items():
        function_id = synthesized.logical_id(flow.function)
        alarms = [
            r["Properties"]
            for r in resources_of_type(synthesized, "AWS::CloudWatch::Alarm").values()
            if r["Properties"]["AlarmName"].startswith(f"ConsonanceSpotify-{name}-")
        ]
        kinds = {a["AlarmName"].rsplit(f"{name}-", 1)[1]: a for a in alarms}
        throttles = kinds["throttles"]["Dimensions"]
        assert throttles == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
        error_metrics = [m["MetricStat"]["Metric"]["Dimensions"] for m in kinds["error-rate"]["Metrics"] if "MetricStat" in m]
        assert error_metrics and all(d == [{"Name": "FunctionName", "Value": {"Ref": function_id}}] for d in error_metrics)


def test_on_passes_cdk_nag(synthesized_snap_start: SynthesizedStack) -> None:
    errors = [m for m in synthesized_snap_start.messages if m.level.name == "ERROR"]
    assert errors == []


# --- a selection, and a new layer --------------------------------------------------------------


@pytest.fixture(scope="module")
def selected_with_new_layer(tmp_path_factory: pytest.TempPathFactory, assets: Assets, bytecode_interpreter: BytecodeInterpreter) -> SynthesizedStack:
    """SnapStart for one flow only, over a layer whose content differs from the session's."""
    layer = tmp_path_factory.mktemp("other-layer")
    (layer / "python").mkdir()
    (layer / "python" / "layer_stand_in.py").write_text('"""Stands in for a rebuilt layer (another dependency version)."""\n')
    compile_tree(bytecode_interpreter, layer / "python", LAYER_RUNTIME_PATH)
    return synthesize(Assets(layer=layer, functions=assets.functions, group_layers=assets.group_layers), tmp_path_factory.mktemp("cdk.out.one"), {SNAP_START_CONTEXT_KEY: [SELECTED]}, nag=False)


def test_a_list_selects_the_flows_that_get_snap_start(selected_with_new_layer: SynthesizedStack) -> None:
    synthesized = selected_with_new_layer
    with_alias = {name for name, flow in synthesized.stack.flows.items() if flow.alias is not None}
    assert with_alias == {SELECTED}
    assert len(resources_of_type(synthesized, "AWS::Lambda::Version")) == 1
    for name, flow in synthesized.stack.flows.items():
        assert ("SnapStart" in synthesized.properties(flow.function)) == (name == SELECTED)


def test_a_new_layer_publishes_a_new_version(selected_with_new_layer: SynthesizedStack, synthesized_snap_start: SynthesizedStack) -> None:
    def version_of(synthesized: SynthesizedStack) -> str:
        alias = synthesized.stack.flows[SELECTED].alias
        assert alias is not None
        return synthesized.properties(alias)["FunctionVersion"]["Fn::GetAtt"][0]

    # Same code, same configuration, another layer: the alias must move to a version that has it.
    assert version_of(selected_with_new_layer) != version_of(synthesized_snap_start)


# --- the setting's values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, set()),
        (False, set()),
        ("false", set()),
        ("", set()),
        (True, set(FLOW_NAMES)),
        ("true", set(FLOW_NAMES)),
        (["webhook-ingest", "rights-sync"], {"webhook-ingest", "rights-sync"}),
        ("webhook-ingest, rights-sync", {"webhook-ingest", "rights-sync"}),
    ],
)
def test_values_the_setting_accepts(value: Any, expected: set[str]) -> None:
    assert snap_start_flows(value, FLOW_NAMES) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["webhook-ingest", "no-such-flow"], "not declared: \\['no-such-flow'\\]"),
        ("webhook-ingst", "not declared"),
        (1, "must be true, false or a list of flow names"),
        ({"webhook-ingest": True}, "must be true, false or a list"),
        ([1, 2], "a list must hold flow names"),
    ],
)
def test_a_bad_value_stops_synthesis_with_a_clear_message(value: Any, message: str, assets: Assets, tmp_path: Path) -> None:
    with pytest.raises(DeploymentContextError, match=message):
        snap_start_flows(value, FLOW_NAMES)
    app = App(outdir=str(tmp_path), context={SNAP_START_CONTEXT_KEY: value})
    with pytest.raises(DeploymentContextError, match=message):
        ConsonanceSpotifyStack(app, STACK_NAME, layer_asset_path=assets.layer, function_asset_path=assets.functions, group_layer_paths=assets.group_layers)


def test_snap_start_without_layer_aware_versions_is_refused(assets: Assets, tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), context={SNAP_START_CONTEXT_KEY: True, LAYER_VERSION_FLAG: False})
    with pytest.raises(DeploymentContextError, match="recognizeLayerVersion"):
        ConsonanceSpotifyStack(app, STACK_NAME, layer_asset_path=assets.layer, function_asset_path=assets.functions, group_layer_paths=assets.group_layers)


def test_on_synthesizes_without_warnings_about_unpublished_versions(synthesized_snap_start: SynthesizedStack) -> None:
    warnings = [m for m in synthesized_snap_start.messages if m.level.name == "WARNING"]
    assert not [m for m in warnings if "SnapStart" in str(m.entry.data)]
    assert len(warnings) == len([m for m in warnings if "context" in str(m.entry.data)])  # only the missing-setting ones
