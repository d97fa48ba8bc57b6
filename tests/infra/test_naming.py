"""The naming convention: one prefix names everything, the stack uses it, and the sandbox agrees."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from aws_cdk import App
from aws_cdk.assertions import Template
from moto import mock_aws

from infra.deployment_context import DeploymentContextError
from infra.flows import FLOWS, EventTrigger, ScheduleTrigger, Secret, Table
from infra.naming import (
    DEFAULT_RESOURCE_PREFIX,
    RESOURCE_PREFIX_CONTEXT_KEY,
    ResourceNameError,
    ResourceNames,
    resource_prefix,
)
from infra.stack import STACK_NAME, ConsonanceSpotifyStack
from sandbox import resources as sandbox_resources
from tests.infra.synthesis import Assets


def test_default_names() -> None:
    names = ResourceNames()
    assert names.prefix == DEFAULT_RESOURCE_PREFIX == "consonance-spotify"
    assert names.event_bus == "consonance-spotify"
    assert names.queue("rights-sync") == "consonance-spotify-rights-sync"
    assert names.dead_letter_queue("rights-sync") == "consonance-spotify-rights-sync-dlq"
    assert names.function("rights-sync") == "consonance-spotify-rights-sync"
    assert names.event_rule("rights-sync") == "consonance-spotify-rights-sync"
    assert names.schedule_rule("availability-monitor") == "consonance-spotify-availability-monitor-schedule"
    assert names.table(Table.AVAILABILITY) == "consonance-spotify-availability"
    assert names.secret(Secret.SPOTIFY) == "consonance-spotify/spotify-client"
    assert names.secret(Secret.WEBHOOK) == "consonance-spotify/webhook-signing-key"
    assert names.alerts_topic == "consonance-spotify-alerts"


def test_another_prefix_moves_every_name() -> None:
    names = ResourceNames("acme-audio")
    assert names.queue("episode-publisher") == "acme-audio-episode-publisher"
    assert names.table(Table.LEDGER) == "acme-audio-ledger"
    assert names.secret(Secret.CONSONANCE) == "acme-audio/consonance-api-key"


@pytest.mark.parametrize("prefix", ["", "Consonance", "-lead", "trail-", "under_score", "with/slash", "dot.ted"])
def test_prefixes_aws_or_secret_paths_would_reject_are_refused(prefix: str) -> None:
    with pytest.raises(ResourceNameError):
        ResourceNames(prefix)


def test_every_declared_flow_fits_the_name_limits() -> None:
    names = ResourceNames()
    for declaration in FLOWS:
        names.function(declaration.name)
        names.dead_letter_queue(declaration.name)
        names.schedule_rule(declaration.name)


def test_a_prefix_too_long_for_a_function_name_is_refused() -> None:
    with pytest.raises(ResourceNameError, match="64"):
        ResourceNames("a" * 50).function("availability-recorder")


@pytest.mark.parametrize(("context_value", "prefix"), [(None, DEFAULT_RESOURCE_PREFIX), ("", DEFAULT_RESOURCE_PREFIX), ("acme", "acme")])
def test_context_value_becomes_the_prefix(context_value: str | None, prefix: str) -> None:
    assert resource_prefix(context_value) == prefix


def test_context_value_must_be_a_string() -> None:
    with pytest.raises(ResourceNameError, match=RESOURCE_PREFIX_CONTEXT_KEY):
        resource_prefix(42)


# --- the stack --------------------------------------------------------------------------------


def test_stack_names_resources_under_the_context_prefix(tmp_path: Path, assets: Assets) -> None:
    app = App(outdir=str(tmp_path / "out"), context={RESOURCE_PREFIX_CONTEXT_KEY: "acme-audio"})
    stack = ConsonanceSpotifyStack(app, STACK_NAME, layer_asset_path=assets.layer, function_asset_path=assets.functions, group_layer_paths=assets.group_layers)
    template = Template.from_stack(stack)
    names = ResourceNames("acme-audio")
    template.has_resource_properties("AWS::Events::EventBus", {"Name": names.event_bus})
    template.has_resource_properties("AWS::SQS::Queue", {"QueueName": names.dead_letter_queue("rights-sync")})
    template.has_resource_properties("AWS::DynamoDB::Table", {"TableName": names.table(Table.AVAILABILITY)})
    template.has_resource_properties("AWS::SecretsManager::Secret", {"Name": names.secret(Secret.WEBHOOK)})
    template.has_resource_properties("AWS::Lambda::Function", {"FunctionName": names.function("webhook-ingest")})


def test_stack_refuses_an_invalid_prefix(tmp_path: Path, assets: Assets) -> None:
    app = App(outdir=str(tmp_path / "out"), context={RESOURCE_PREFIX_CONTEXT_KEY: "Not_Valid"})
    with pytest.raises(DeploymentContextError, match="Not_Valid"):
        ConsonanceSpotifyStack(app, STACK_NAME, layer_asset_path=assets.layer, function_asset_path=assets.functions, group_layer_paths=assets.group_layers)


# --- the sandbox agrees -------------------------------------------------------------------------


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def test_sandbox_creates_the_names_the_stack_deploys(moto_aws: None) -> None:
    """Until the sandbox builds its names from infra.naming, this holds the two conventions together."""
    prefix = "naming-parity"
    created = sandbox_resources.create_resources(
        FLOWS, secret_values={secret: f"sandbox-{secret.value}" for secret in Secret}, prefix=prefix
    )
    names = ResourceNames(prefix)
    assert created.event_bus_name == names.event_bus
    assert created.tables == {table: names.table(table) for table in Table}
    assert created.secret_ids == {secret: names.secret(secret) for secret in Secret}
    for declaration in FLOWS:
        assert created.function_name(declaration.name) == names.function(declaration.name)
        if isinstance(declaration.trigger, EventTrigger):
            wiring = created.queues[declaration.name]
            assert wiring.queue_name == names.queue(declaration.name)
            assert wiring.dead_letter_queue_name == names.dead_letter_queue(declaration.name)
            assert wiring.rule_name == names.event_rule(declaration.name)
        elif isinstance(declaration.trigger, ScheduleTrigger):
            assert created.schedules[declaration.name].rule_name == names.schedule_rule(declaration.name)
    sqs = boto3.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=names.dead_letter_queue("episode-publisher"))["QueueUrl"]
    assert queue_url.endswith(names.dead_letter_queue("episode-publisher"))
