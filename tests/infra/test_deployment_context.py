"""The context -> environment contract: encoding, validation, and which flows see which setting."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from functions.settings import CoreSettings, MegaphoneSettings, known_variables
from infra import deployment_context
from infra.deployment_context import (
    CONTEXT_SETTINGS,
    DeploymentContextError,
    environment_for_flow,
    load_cdk_json_context,
    missing_for_deployment,
    resolve_context,
)
from infra.flow_constructs import flow_environment, validate_queue_flow
from infra.flows import FLOWS, Bucket, Secret, Table, flow
from infra.naming import RESOURCE_PREFIX_CONTEXT_KEY, ResourceNames
from infra.snap_start import LAYER_VERSION_FLAG, SNAP_START_CONTEXT_KEY
from infra.stack import PROJECT_ROOT


def test_every_setting_maps_to_a_settings_field_and_is_documented_for_operators() -> None:
    documentation = deployment_context.__doc__ or ""
    for setting in CONTEXT_SETTINGS:
        assert setting.env_var in known_variables(), setting.env_var
        assert f"| {setting.context_key} " in documentation, setting.context_key
    assert len({s.context_key for s in CONTEXT_SETTINGS}) == len(CONTEXT_SETTINGS)


def test_cdk_json_sets_only_known_context_keys() -> None:
    """A misspelt key in cdk.json would silently leave the Settings default in place."""
    known = {s.context_key for s in CONTEXT_SETTINGS} | {RESOURCE_PREFIX_CONTEXT_KEY, SNAP_START_CONTEXT_KEY, LAYER_VERSION_FLAG}
    assert set(load_cdk_json_context(PROJECT_ROOT)) <= known


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(["gb", "US", "gb"], "GB,US"), ("de, fr ,", "DE,FR"), ([], None), ("", None)],
)
def test_markets_are_encoded_as_the_comma_list_settings_parses(value: Any, encoded: str | None) -> None:
    resolved = resolve_context({"spotifyMarkets": value}.get)
    assert resolved.get("SPOTIFY_MARKETS") == encoded
    if encoded:
        assert ",".join(CoreSettings.from_environment({"EVENT_BUS_NAME": "bus", **resolved}).spotify_markets) == encoded


def test_values_are_encoded_for_the_environment() -> None:
    context: dict[str, Any] = {
        "megaphoneNetworkId": "net-7",
        "megaphonePodcasts": {"42": "pod-a", "7": "pod-b"},
        "consonanceRatePerMinute": 90,
        "consonanceMapping": '{"max_title_length": 100}',
    }
    resolved = resolve_context(context.get)
    assert resolved == {
        "MEGAPHONE_NETWORK_ID": "net-7",
        "MEGAPHONE_PODCASTS": '{"42":"pod-a","7":"pod-b"}',
        "CONSONANCE_RATE_PER_MINUTE": "90",
        "MAPPING": '{"max_title_length":100}',
    }
    megaphone = MegaphoneSettings.from_environment({"MEGAPHONE_SECRET_ID": "id", **resolved})
    assert megaphone.megaphone_podcasts == {"42": "pod-a", "7": "pod-b"}
    assert CoreSettings.from_environment({"EVENT_BUS_NAME": "bus", **resolved}).mapping.max_title_length == 100


def test_unset_values_fall_back_to_settings_defaults_and_are_reported() -> None:
    resolved = resolve_context({"megaphoneNetworkId": "", "megaphonePodcasts": {}, "megaphoneUrl": None}.get)
    assert resolved == {}
    assert {s.context_key for s in missing_for_deployment(resolved)} == {"megaphoneNetworkId", "megaphonePodcasts"}


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        ({"megaphonePodcasts": "[1, 2]"}, "JSON object"),
        ({"consonanceMapping": ["not", "an", "object"]}, "JSON object"),
        ({"megaphoneRatePerMinute": "sixty"}, "integer"),
        ({"consonanceRatePerMinute": 0}, "positive"),
        ({"spotifyMarkets": "GB,USA"}, "alpha-2"),
        ({"spotifyMarkets": {"GB": True}}, "comma-separated"),
        ({"webhookToleranceSeconds": -5}, "positive"),
    ],
)
def test_malformed_values_stop_synthesis(context: dict[str, Any], problem: str) -> None:
    with pytest.raises(DeploymentContextError, match=problem):
        resolve_context(context.get)


def test_connector_settings_reach_only_flows_holding_that_connectors_secret() -> None:
    resolved = {
        "CONSONANCE_URL": "https://c",
        "MEGAPHONE_URL": "https://m",
        "SPOTIFY_MARKETS": "GB",
        "WEBHOOK_TOLERANCE_SECONDS": "60",
        "MAPPING": "{}",
    }
    for declaration in FLOWS:
        visible = environment_for_flow(declaration, resolved)
        assert ("CONSONANCE_URL" in visible) == (Secret.CONSONANCE in declaration.secrets)
        assert ("MEGAPHONE_URL" in visible) == (Secret.MEGAPHONE in declaration.secrets)
        assert "SPOTIFY_MARKETS" in visible  # every flow: the recorder reads it as well as the monitor
        assert ("WEBHOOK_TOLERANCE_SECONDS" in visible) == (Secret.WEBHOOK in declaration.secrets)
        assert "MAPPING" in visible


def stand_in_resources() -> Any:
    """Only the attributes flow_environment reads, so it can be checked without synthesizing."""
    return SimpleNamespace(
        names=ResourceNames(),
        event_bus=SimpleNamespace(event_bus_name="bus"),
        event_source="consonance-spotify",
        tables={table: SimpleNamespace(table_name=f"{table.value}-table") for table in Table},
        buckets={bucket: SimpleNamespace(bucket_name=f"{bucket.value}-bucket") for bucket in Bucket},
        alerts_topic=SimpleNamespace(topic_arn="arn:aws:sns:eu-west-1:123456789012:alerts"),
        analytics=None,
        deployment_environment={},
    )


def test_declaration_environment_is_passed_but_cannot_override_wiring() -> None:
    declaration = dataclasses.replace(flow("release-sweep"), environment={"SWEEP_LOOKBACK_DAYS": "3"})
    assert flow_environment(declaration, stand_in_resources(), {})["SWEEP_LOOKBACK_DAYS"] == "3"

    hijack = dataclasses.replace(flow("release-sweep"), environment={"LEDGER_TABLE": "someone-elses-table"})
    with pytest.raises(ValueError, match="LEDGER_TABLE"):
        flow_environment(hijack, stand_in_resources(), {})

    redirect_alerts = dataclasses.replace(flow("availability-recorder"), environment={"ALERTS_TOPIC_ARN": "arn:elsewhere"})
    with pytest.raises(ValueError, match="ALERTS_TOPIC_ARN"):
        flow_environment(redirect_alerts, stand_in_resources(), {})


def test_only_alert_publishers_are_told_the_alerts_topic() -> None:
    for declaration in FLOWS:
        variables = flow_environment(declaration, stand_in_resources(), {})
        assert ("ALERTS_TOPIC_ARN" in variables) == declaration.publishes_alerts, declaration.name


def test_queue_flow_below_the_event_source_minimum_concurrency_is_rejected() -> None:
    queue_flow = next(d for d in FLOWS if d.consumes_queue)
    with pytest.raises(ValueError, match="minimum of 2"):
        validate_queue_flow(dataclasses.replace(queue_flow, max_concurrency=1))
    scheduled = next(d for d in FLOWS if not d.consumes_queue)
    with pytest.raises(TypeError):
        validate_queue_flow(scheduled)


def test_cdk_json_runs_the_app_with_python() -> None:
    cdk_json = json.loads((PROJECT_ROOT / "cdk.json").read_text())
    assert cdk_json["app"] == "python3 app.py"
    assert Path(PROJECT_ROOT / "app.py").is_file()


# --- what `make synth` refuses, with a message that names the place (issue 10) ---------------------


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"consonanceMapping": '{"max_title_length": 100,'}, "context 'consonanceMapping' is not valid JSON"),
        ({"megaphonePodcasts": "{'42': 'pod'}"}, "context 'megaphonePodcasts' is not valid JSON"),
        ({"megaphonePodcasts": {"42": 7}}, "MEGAPHONE_PODCASTS .* is invalid at '42': Input should be a valid string \\(got 7\\); set CDK context 'megaphonePodcasts'"),
        ({"megaphonePodcasts": {"42": ["pod"]}}, "is invalid at '42': Input should be a valid string"),
        ({"megaphonePodcasts": {"42": "  "}}, "the Megaphone podcast id is blank for series \\['42'\\]"),
        ({"megaphonePodcasts": {"Conversations": "pod"}}, "keys must be Consonance series ids \\(integers\\), got \\['Conversations'\\]"),
        ({"consonanceMapping": {"max_title_length": "long"}}, "MAPPING .* is invalid at 'max_title_length': Input should be a valid integer.*\\(got 'long'\\); set CDK context 'consonanceMapping'"),
        ({"consonanceMapping": {"max_title_length": [100]}}, "is invalid at 'max_title_length': Input should be a valid integer"),
        ({"webhookToleranceSeconds": "   "}, "context 'webhookToleranceSeconds' is blank"),
        # an SQS message delay is at most 900 s: a longer expected ingest time cannot be the check's delay
        ({"megaphoneIngestSeconds": 901}, "MEGAPHONE_INGEST_SECONDS .*less than or equal to 900.*set CDK context 'megaphoneIngestSeconds'"),
    ],
)
def test_malformed_configuration_stops_synthesis_with_a_clear_message(context: dict[str, Any], message: str) -> None:
    with pytest.raises(DeploymentContextError, match=message):
        deployment_context.validate_flow_environments(resolve_context(context.get), FLOWS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"app": "python3 app.py", "context": {"megaphonePodcasts": {}},}', "cdk.json is not valid JSON: .* at line 1"),
        ('{"app": "python3 app.py", "context": ["megaphonePodcasts"]}', '"context" must be a JSON object'),
    ],
)
def test_a_malformed_cdk_json_is_a_deployment_context_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "cdk.json").write_text(text)
    with pytest.raises(DeploymentContextError, match=message):
        load_cdk_json_context(tmp_path)


def test_the_cdk_json_podcast_ids_and_mapping_pass_the_same_checks() -> None:
    deployment_context.validate_flow_environments(resolve_context(load_cdk_json_context(PROJECT_ROOT).get), FLOWS)
