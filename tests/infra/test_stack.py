"""The synthesized stack matches the flow and table declarations: wiring, numbers, grants, alarms, nag."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration
from aws_cdk import aws_events as events
from aws_cdk.assertions import Annotations, Match

from functions.settings import TABLE_VARIABLES, CoreSettings, known_variables
from infra.bytecode import CHECKED_HASH_FLAGS, BytecodeBuildError, compiled_path, pyc_flags
from infra.flow_constructs import REDRIVE_MARGIN
from infra.deployment_context import CONTEXT_SETTINGS
from infra.flow_constructs import ALERT_PUBLISH_KEY_ACTIONS, ATHENA_QUERY_ACTIONS, GLUE_READ_ACTIONS, METRICS_NAMESPACE, construct_id, secret_env_var
from infra.flows import SECRET_SPECS
from infra.flows import FLOWS, DirectTrigger, EventTrigger, FlowDeclaration, HttpTrigger, ScheduleTrigger, Secret, Table, queue_url_variable
from infra.monitoring import HEARTBEATS, SIGNAL_ALARMS, THRESHOLDS, oldest_message_age_threshold
from infra.naming import ResourceNames
from infra.stack import EVENT_SOURCE, ConsonanceSpotifyStack
from infra.tables import TABLES, TableSpec, table_spec
from tests.infra.synthesis import TEST_CONTEXT_OVERRIDES, SynthesizedStack, referenced_logical_ids

QUEUE_FLOWS = [d for d in FLOWS if d.consumes_queue]  # domain events and S3 object events alike
SCHEDULED_FLOWS = [d for d in FLOWS if isinstance(d.trigger, ScheduleTrigger)]
HTTP_FLOWS = [d for d in FLOWS if isinstance(d.trigger, HttpTrigger)]
DIRECT_FLOWS = [d for d in FLOWS if isinstance(d.trigger, DirectTrigger)]  # fed by their senders, not by a rule
SENDERS = [d for d in FLOWS if d.sends_to]
FLOWS_WITH_DEAD_LETTERS = QUEUE_FLOWS + SCHEDULED_FLOWS
ALERT_PUBLISHERS = [d for d in FLOWS if d.publishes_alerts]
NAMES = ResourceNames()  # the default prefix: the test context does not set resourcePrefix
DYNAMO_WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
SECONDS_PER_DAY = 86_400


def ids(declarations: Sequence[FlowDeclaration]) -> list[str]:
    return [d.name for d in declarations]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(synthesized: SynthesizedStack, flow_name: str) -> list[dict[str, Any]]:
    """All identity-policy statements attached to the flow's role."""
    role_id = synthesized.logical_id(synthesized.stack.flows[flow_name].role)
    statements: list[dict[str, Any]] = []
    for resource in synthesized.resources.values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in resource["Properties"]["Roles"]:
            statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return statements


def grants_by_resource(synthesized: SynthesizedStack, flow_name: str) -> dict[str, set[str]]:
    """Logical id (or "*") -> the actions the flow's role may perform on it."""
    grants: dict[str, set[str]] = {}
    for statement in policy_statements(synthesized, flow_name):
        assert statement["Effect"] == "Allow"
        actions = set(as_list(statement["Action"]))
        for resource in as_list(statement["Resource"]):
            targets = {"*"} if resource == "*" else referenced_logical_ids(resource)
            for target in targets:
                grants.setdefault(target, set()).update(actions)
    return grants


def environment(synthesized: SynthesizedStack, flow_name: str) -> dict[str, Any]:
    function = synthesized.stack.flows[flow_name].function
    return synthesized.properties(function)["Environment"]["Variables"]


# --- queue flows -------------------------------------------------------------------------------


@pytest.mark.parametrize("declaration", QUEUE_FLOWS, ids=ids(QUEUE_FLOWS))
def test_queue_flow_has_rule_queue_dead_letter_queue_and_event_source(synthesized: SynthesizedStack, declaration: FlowDeclaration) -> None:
    flow = synthesized.stack.flows[declaration.name]
    assert flow.queue is not None and flow.dead_letter_queue is not None
    queue_id = synthesized.logical_id(flow.queue)
    dead_letter_id = synthesized.logical_id(flow.dead_letter_queue)
    function_id = synthesized.logical_id(flow.function)

    queue = synthesized.resources[queue_id]["Properties"]
    assert queue["VisibilityTimeout"] == 6 * declaration.timeout_seconds == declaration.visibility_timeout_seconds
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letter_id, "Arn"]},
        "maxReceiveCount": declaration.max_receives + REDRIVE_MARGIN,  # see functions/sqs_batch.py
    }

    mappings = synthesized.template.find_resources(
        "AWS::Lambda::EventSourceMapping",
        {"Properties": {"EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]}, "FunctionName": {"Ref": function_id}}},
    )
    assert len(mappings) == 1
    mapping = next(iter(mappings.values()))["Properties"]
    assert mapping["BatchSize"] == declaration.batch_size
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": declaration.max_concurrency}
    assert declaration.max_concurrency >= 2

    if isinstance(declaration.trigger, DirectTrigger):
        assert flow.rule is None  # its senders send to the queue (test_a_sender_may_send_to_the_queues_it_declares_only)
        return
    assert flow.rule is not None
    rule = synthesized.properties(flow.rule)
    assert [target["Arn"] for target in rule["Targets"]] == [{"Fn::GetAtt": [queue_id, "Arn"]}]
    if isinstance(declaration.trigger, EventTrigger):
        assert rule["EventBusName"] == {"Ref": synthesized.logical_id(synthesized.stack.event_bus)}
        assert rule["EventPattern"] == {"source": [EVENT_SOURCE], "detail-type": list(declaration.trigger.detail_types)}
    else:  # S3 announces objects on the default bus: no EventBusName, the bucket's own events only
        assert "EventBusName" not in rule
        bucket = synthesized.stack.buckets[declaration.trigger.bucket]
        assert rule["EventPattern"] == {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [{"Ref": synthesized.logical_id(bucket)}]}},
        }


def test_a_sender_may_send_to_the_queues_it_declares_only(synthesized: SynthesizedStack) -> None:
    """`sends_to`: the target queue's URL in the sender's environment and sqs:SendMessage on that
    queue; no other flow may send to a direct-trigger flow's queue."""
    assert SENDERS and DIRECT_FLOWS, "no flow sends straight to another's queue: nothing left to prove"
    for target in DIRECT_FLOWS:
        queue = synthesized.stack.flows[target.name].queue
        assert queue is not None
        queue_id = synthesized.logical_id(queue)
        for declaration in FLOWS:
            may_send = "sqs:SendMessage" in grants_by_resource(synthesized, declaration.name).get(queue_id, set())
            assert may_send == (target.name in declaration.sends_to), declaration.name
            url = environment(synthesized, declaration.name).get(queue_url_variable(target.name))
            assert url == ({"Ref": queue_id} if target.name in declaration.sends_to else None), declaration.name


def test_one_queue_pipeline_per_queue_flow_and_one_dead_letter_queue_per_flow(synthesized: SynthesizedStack) -> None:
    synthesized.template.resource_count_is("AWS::Lambda::EventSourceMapping", len(QUEUE_FLOWS))
    synthesized.template.resource_count_is("AWS::SQS::Queue", 2 * len(QUEUE_FLOWS) + len(SCHEDULED_FLOWS))
    synthesized.template.resource_count_is("AWS::Lambda::Function", len(FLOWS))
    synthesized.template.resource_count_is("AWS::Events::Rule", len(QUEUE_FLOWS) - len(DIRECT_FLOWS) + len(SCHEDULED_FLOWS))
    synthesized.template.resource_count_is("AWS::Events::EventBus", 1)
    synthesized.template.resource_count_is("AWS::Lambda::Url", len(HTTP_FLOWS))


def test_every_queue_is_encrypted_and_refuses_plain_http(synthesized: SynthesizedStack) -> None:
    queues = synthesized.template.find_resources("AWS::SQS::Queue")
    policies = synthesized.template.find_resources("AWS::SQS::QueuePolicy")
    tls_only: set[str] = set()
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        if any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in statements):
            tls_only |= referenced_logical_ids(policy["Properties"]["Queues"])
    for queue_id, queue in queues.items():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True, queue_id
        assert queue_id in tls_only, queue_id


@pytest.mark.parametrize("declaration", FLOWS_WITH_DEAD_LETTERS, ids=ids(FLOWS_WITH_DEAD_LETTERS))
def test_dead_letter_queue_keeps_messages_fourteen_days(synthesized: SynthesizedStack, declaration: FlowDeclaration) -> None:
    dead_letters = synthesized.properties(synthesized.stack.flows[declaration.name].dead_letter_queue)
    assert dead_letters["MessageRetentionPeriod"] == 14 * SECONDS_PER_DAY


# --- scheduled flows ---------------------------------------------------------------------------


@pytest.mark.parametrize("declaration", SCHEDULED_FLOWS, ids=ids(SCHEDULED_FLOWS))
def test_scheduled_flow_runs_on_its_rate_with_reserved_concurrency_and_async_dead_letters(
    synthesized: SynthesizedStack, declaration: FlowDeclaration
) -> None:
    flow = synthesized.stack.flows[declaration.name]
    assert flow.dead_letter_queue is not None and flow.rule is not None
    function_id = synthesized.logical_id(flow.function)
    dead_letter_id = synthesized.logical_id(flow.dead_letter_queue)
    assert isinstance(declaration.trigger, ScheduleTrigger)
    minutes = declaration.trigger.every_minutes

    rule = synthesized.properties(flow.rule)
    assert rule["ScheduleExpression"] == events.Schedule.rate(Duration.minutes(minutes)).expression_string
    assert rule["ScheduleExpression"].startswith("rate(")
    assert "EventBusName" not in rule  # schedules live on the default bus
    assert [target["Arn"] for target in rule["Targets"]] == [{"Fn::GetAtt": [function_id, "Arn"]}]

    function = synthesized.properties(flow.function)
    assert function["ReservedConcurrentExecutions"] == declaration.max_concurrency
    assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [dead_letter_id, "Arn"]}}
    assert grants_by_resource(synthesized, declaration.name)[dead_letter_id] == {"sqs:SendMessage"}
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"FunctionName": {"Fn::GetAtt": [function_id, "Arn"]}, "Principal": "events.amazonaws.com"},
    )


# --- HTTP flows --------------------------------------------------------------------------------


@pytest.mark.parametrize("declaration", HTTP_FLOWS, ids=ids(HTTP_FLOWS))
def test_http_flow_is_a_public_buffered_function_url_with_bounded_concurrency(
    synthesized: SynthesizedStack, declaration: FlowDeclaration
) -> None:
    flow = synthesized.stack.flows[declaration.name]
    assert flow.function_url is not None
    function_id = synthesized.logical_id(flow.function)
    url_id = synthesized.logical_id(flow.function_url)

    url = synthesized.resources[url_id]["Properties"]
    assert url == {"AuthType": "NONE", "InvokeMode": "BUFFERED", "TargetFunctionArn": {"Fn::GetAtt": [function_id, "Arn"]}}
    assert "Cors" not in url

    function = synthesized.properties(flow.function)
    assert function["ReservedConcurrentExecutions"] == declaration.max_concurrency
    assert "DeadLetterConfig" not in function
    assert flow.dead_letter_queue is None and flow.queue is None and flow.rule is None

    permissions = [
        resource["Properties"]
        for resource in synthesized.template.find_resources("AWS::Lambda::Permission").values()
        if resource["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    assert {(p["Action"], p["Principal"]) for p in permissions} == {("lambda:InvokeFunctionUrl", "*"), ("lambda:InvokeFunction", "*")}
    for permission in permissions:
        if permission["Action"] == "lambda:InvokeFunctionUrl":
            assert permission["FunctionUrlAuthType"] == "NONE"
        else:
            assert permission["InvokedViaFunctionUrl"] is True  # only through the URL, never a direct Invoke

    outputs = synthesized.template.to_json()["Outputs"]
    assert outputs[f"{construct_id(declaration.name)}Url"]["Value"] == {
        "Fn::GetAtt": [url_id, "FunctionUrl"]
    }


def test_only_http_flows_have_a_function_url(synthesized: SynthesizedStack) -> None:
    with_url = {name for name, flow in synthesized.stack.flows.items() if flow.function_url is not None}
    assert with_url == {d.name for d in HTTP_FLOWS}
    assert with_url, "no HTTP flow declared: nothing left to prove"


# --- functions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("declaration", FLOWS, ids=ids(FLOWS))
def test_function_runtime_and_sizing_follow_the_declaration(synthesized: SynthesizedStack, declaration: FlowDeclaration) -> None:
    flow = synthesized.stack.flows[declaration.name]
    function = synthesized.properties(flow.function)
    assert function["Architectures"] == ["arm64"]
    assert function["Runtime"] == "python3.12"
    assert function["Handler"] == declaration.handler
    assert function["MemorySize"] == declaration.memory_mb
    assert function["Timeout"] == declaration.timeout_seconds
    assert function["TracingConfig"] == {"Mode": "Active"}
    groups = [synthesized.stack.group_layers[group] for group in declaration.layers]  # only the groups it declares
    layers = [{"Ref": synthesized.logical_id(layer)} for layer in (synthesized.stack.dependency_layer, *groups)]
    assert sorted(function["Layers"], key=str) == sorted(layers, key=str)  # no package is in two of them
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": synthesized.logical_id(flow.log_group)}}
    if declaration.consumes_queue:
        assert "ReservedConcurrentExecutions" not in function  # the event source's MaximumConcurrency bounds it


def test_layer_targets_arm64_python_312(synthesized: SynthesizedStack) -> None:
    layer = synthesized.properties(synthesized.stack.dependency_layer)
    assert layer["CompatibleArchitectures"] == ["arm64"]
    assert layer["CompatibleRuntimes"] == ["python3.12"]


def _asset_directory(synthesized: SynthesizedStack, code: dict[str, Any]) -> Path:
    return synthesized.assembly_directory / f"asset.{code['S3Key'].removesuffix('.zip')}"


def test_function_asset_is_the_functions_package_only(synthesized: SynthesizedStack) -> None:
    asset = _asset_directory(synthesized, synthesized.properties(synthesized.stack.flows[FLOWS[0].name].function)["Code"])
    assert sorted(p.name for p in asset.iterdir()) == ["functions"]
    unwanted = [p for p in asset.rglob("*") if p.name in {"tests", "conftest.py"} or p.name.startswith("test_")]
    assert unwanted == []
    for declaration in FLOWS:
        module_path, _, function_name = declaration.handler.rpartition(".")
        module_file = asset / Path(*module_path.split(".")).with_suffix(".py")
        assert module_file.is_file(), f"{declaration.name}: {module_file} not in the asset"
        text = module_file.read_text()
        assert f"def {function_name}(" in text or f"\n{function_name} = " in text  # a function, or the flow template's


def test_every_function_shares_one_code_asset(synthesized: SynthesizedStack) -> None:
    codes = {json.dumps(synthesized.properties(flow.function)["Code"], sort_keys=True) for flow in synthesized.stack.flows.values()}
    assert len(codes) == 1


@pytest.mark.parametrize("asset_of", ["function", "layer"])
def test_assets_ship_checked_hash_bytecode_of_python_312_only(synthesized: SynthesizedStack, asset_of: str) -> None:
    if asset_of == "function":
        asset = _asset_directory(synthesized, synthesized.properties(synthesized.stack.flows[FLOWS[0].name].function)["Code"])
    else:
        asset = _asset_directory(synthesized, synthesized.properties(synthesized.stack.dependency_layer)["Content"]) / "python"
    sources = sorted(p for p in asset.rglob("*.py"))
    compiled = sorted(asset.rglob("*.pyc"))
    assert sources
    assert {p.name.split(".")[1] for p in compiled} == {"cpython-312"}  # no 3.11 .pyc from the checkout
    assert sorted(compiled_path(source, "cpython-312") for source in sources) == compiled
    assert {pyc_flags(pyc) for pyc in compiled} == {CHECKED_HASH_FLAGS}


def test_stack_refuses_assets_without_bytecode(tmp_path: Path, synthesized: SynthesizedStack) -> None:
    uncompiled = tmp_path / "functions-without-bytecode"
    shutil.copytree(synthesized.stack.function_asset_path, uncompiled, ignore=shutil.ignore_patterns("__pycache__"))
    with pytest.raises(BytecodeBuildError, match="have no cpython-312 .pyc"):
        ConsonanceSpotifyStack(
            App(),
            "Uncompiled",
            layer_asset_path=synthesized.stack.layer_asset_path,
            function_asset_path=uncompiled,
            group_layer_paths=synthesized.stack.group_layer_paths,
        )


# --- environment -------------------------------------------------------------------------------


@pytest.mark.parametrize("declaration", FLOWS, ids=ids(FLOWS))
def test_environment_names_only_what_the_declaration_uses(synthesized: SynthesizedStack, declaration: FlowDeclaration) -> None:
    stack = synthesized.stack
    variables = environment(synthesized, declaration.name)
    assert variables["POWERTOOLS_SERVICE_NAME"] == declaration.name
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == METRICS_NAMESPACE
    assert variables["EVENT_BUS_NAME"] == {"Ref": synthesized.logical_id(stack.event_bus)}
    assert variables["EVENT_SOURCE"] == EVENT_SOURCE

    for spec in TABLES:
        if spec.table in declaration.tables:
            assert variables[spec.env_var] == {"Ref": synthesized.logical_id(stack.tables[spec.table])}
        else:
            assert spec.env_var not in variables
    for secret in Secret:
        if secret in declaration.secrets:
            assert variables[secret_env_var(secret)] == NAMES.secret(secret)
        else:
            assert secret_env_var(secret) not in variables

    if declaration.publishes_alerts:
        assert variables["ALERTS_TOPIC_ARN"] == {"Ref": synthesized.logical_id(stack.operations_topic)}
    else:
        assert "ALERTS_TOPIC_ARN" not in variables

    if declaration.consumes_queue:
        dead_letters = stack.flows[declaration.name].dead_letter_queue
        assert variables["DEAD_LETTER_QUEUE_URL"] == {"Ref": synthesized.logical_id(dead_letters)}
        assert variables["MAX_RECEIVES"] == str(declaration.max_receives)
    else:
        assert "DEAD_LETTER_QUEUE_URL" not in variables and "MAX_RECEIVES" not in variables

    for setting in CONTEXT_SETTINGS:
        reaches_flow = setting.connector is None or setting.connector in declaration.secrets
        if not reaches_flow:
            assert setting.env_var not in variables
    for key, value in declaration.environment.items():
        assert variables[key] == value


def test_deployment_context_reaches_the_flows_of_its_connector(synthesized: SynthesizedStack) -> None:
    for declaration in FLOWS:
        variables = environment(synthesized, declaration.name)
        assert json.loads(variables["MAPPING"]) == TEST_CONTEXT_OVERRIDES["consonanceMapping"]
        if Secret.MEGAPHONE in declaration.secrets:
            assert variables["MEGAPHONE_NETWORK_ID"] == TEST_CONTEXT_OVERRIDES["megaphoneNetworkId"]
            assert variables["MEGAPHONE_URL"] == "https://cms.megaphone.fm/api"
            assert "MEGAPHONE_PODCASTS" not in variables  # left unset: Settings' default applies
        if Secret.CONSONANCE in declaration.secrets:
            assert variables["CONSONANCE_URL"] == "https://web.consonance.app/graphql"
            assert variables["CONSONANCE_RATE_PER_MINUTE"] == "120"
        if Secret.SPOTIFY in declaration.secrets:
            assert variables["SPOTIFY_MARKETS"] == "GB,US,IE"
            assert variables["SPOTIFY_RATE_PER_MINUTE"] == str(TEST_CONTEXT_OVERRIDES["spotifyRatePerMinute"])
            assert variables["SPOTIFY_API_URL"] == TEST_CONTEXT_OVERRIDES["spotifyApiUrl"]
            assert variables["SPOTIFY_ACCOUNTS_URL"] == "https://accounts.spotify.com"  # cdk.json's value
            markets = {"EVENT_BUS_NAME": "bus", "SPOTIFY_MARKETS": variables["SPOTIFY_MARKETS"]}
            assert CoreSettings.from_environment(markets).spotify_markets == ("GB", "US", "IE")
        if Secret.WEBHOOK in declaration.secrets:
            assert variables["WEBHOOK_TOLERANCE_SECONDS"] == str(TEST_CONTEXT_OVERRIDES["webhookToleranceSeconds"])
    spotify_flows = [d for d in FLOWS if Secret.SPOTIFY in d.secrets]
    webhook_flows = [d for d in FLOWS if Secret.WEBHOOK in d.secrets]
    assert spotify_flows and webhook_flows, "no flow holds the Spotify or webhook secret: nothing left to prove"


def test_every_environment_variable_is_read_by_settings_or_powertools(synthesized: SynthesizedStack) -> None:
    settings_variables = known_variables()
    for declaration in FLOWS:
        unknown = {
            name
            for name in environment(synthesized, declaration.name)
            if name not in settings_variables and not name.startswith("POWERTOOLS_") and name not in declaration.environment
        }
        assert unknown == set(), declaration.name


def test_unset_deployment_setting_is_a_warning_not_a_silent_default(synthesized: SynthesizedStack) -> None:
    warnings = Annotations.from_stack(synthesized.stack).find_warning(
        "/ConsonanceSpotify", Match.string_like_regexp("context 'megaphonePodcasts'")
    )
    assert len(warnings) == 1
    network_warnings = Annotations.from_stack(synthesized.stack).find_warning(
        "/ConsonanceSpotify", Match.string_like_regexp("context 'megaphoneNetworkId'")
    )
    assert network_warnings == []


# --- IAM ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("declaration", FLOWS, ids=ids(FLOWS))
def test_role_grants_exactly_what_the_declaration_names(synthesized: SynthesizedStack, declaration: FlowDeclaration) -> None:
    stack = synthesized.stack
    flow = stack.flows[declaration.name]
    grants = grants_by_resource(synthesized, declaration.name)

    table_ids = {synthesized.logical_id(stack.tables[t]): t for t in Table}
    granted_tables = {table_ids[i]: actions for i, actions in grants.items() if i in table_ids}
    assert set(granted_tables) == set(declaration.tables)
    for table, actions in granted_tables.items():
        assert {"dynamodb:GetItem", "dynamodb:Query"} <= actions
        if table in declaration.writes:
            assert DYNAMO_WRITE_ACTIONS <= actions
        else:
            assert not actions & DYNAMO_WRITE_ACTIONS, f"{declaration.name} may write {table}"

    secret_ids = {synthesized.logical_id(resource): s for s, resource in stack.secrets.items()}
    granted_secrets = {secret_ids[i]: actions for i, actions in grants.items() if i in secret_ids}
    assert set(granted_secrets) == {s for s in declaration.secrets if s in stack.secrets}  # a family: see the account test
    for actions in granted_secrets.values():
        assert actions == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}

    bus_id = synthesized.logical_id(stack.event_bus)
    if declaration.emits:
        assert grants[bus_id] == {"events:PutEvents"}
    else:
        assert bus_id not in grants
        assert not any("events:PutEvents" in actions for actions in grants.values())

    dead_letter_ids = set()
    if flow.dead_letter_queue is not None:
        dead_letter_ids.add(synthesized.logical_id(flow.dead_letter_queue))
        assert grants[synthesized.logical_id(flow.dead_letter_queue)] == {"sqs:SendMessage"}
    sent_to = {synthesized.logical_id(stack.flows[target].queue) for target in declaration.sends_to}
    for queue_id in sent_to:
        assert grants[queue_id] == {"sqs:SendMessage"}
    other_queues = {
        synthesized.logical_id(q)
        for other in stack.flows.values()
        if other is not flow
        for q in (other.queue, other.dead_letter_queue)
        if q is not None
    } - sent_to
    assert not other_queues & set(grants)

    assert grants["*"] == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    assert grants[synthesized.logical_id(flow.log_group)] == {"logs:CreateLogStream", "logs:PutLogEvents"}

    topic_id = synthesized.logical_id(stack.operations_topic)
    key_id = synthesized.logical_id(stack.operations_alerts.key)
    expected = (
        {"*", synthesized.logical_id(flow.log_group)}
        | dead_letter_ids
        | sent_to
        | set(synthesized.logical_id(stack.tables[t]) for t in declaration.tables)
        | {synthesized.logical_id(stack.secrets[s]) for s in declaration.secrets if s in stack.secrets}
        | (
            {synthesized.logical_id(secret) for secret in stack.account_secrets.values()}
            if Secret.SPOTIFY_ACCOUNTS in declaration.secrets
            else set()
        )
        | {synthesized.logical_id(stack.buckets[b]) for b in declaration.buckets}
    )
    if declaration.emits:
        expected.add(bus_id)
    if declaration.runs_athena_queries:  # the workgroup's query actions, Glue reads of its database
        assert stack.analytics is not None
        statements = policy_statements(synthesized, declaration.name)
        athena_statements = [st for st in statements if any(str(a).startswith("athena:") for a in as_list(st["Action"]))]
        glue_statements = [st for st in statements if any(str(a).startswith("glue:") for a in as_list(st["Action"]))]
        assert [set(as_list(st["Action"])) for st in athena_statements] == [set(ATHENA_QUERY_ACTIONS)]
        assert [set(as_list(st["Action"])) for st in glue_statements] == [set(GLUE_READ_ACTIONS)]
        assert len(as_list(glue_statements[0]["Resource"])) == 3  # the catalog, the database, its tables
        expected |= referenced_logical_ids([st["Resource"] for st in athena_statements + glue_statements])
    else:
        assert not any(str(a).startswith(("athena:", "glue:")) for st in policy_statements(synthesized, declaration.name) for a in as_list(st["Action"]))
    if declaration.publishes_alerts:
        expected |= {topic_id, key_id}
        assert grants[topic_id] == {"sns:Publish"}
        assert grants[key_id] == set(ALERT_PUBLISH_KEY_ACTIONS)
    if flow.queue is not None:
        expected.add(synthesized.logical_id(flow.queue))
        assert grants[synthesized.logical_id(flow.queue)] <= {
            "sqs:ReceiveMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueUrl",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        }
    assert set(grants) == expected


@pytest.mark.parametrize("declaration", FLOWS, ids=ids(FLOWS))
def test_role_has_no_managed_policies(synthesized: SynthesizedStack, declaration: FlowDeclaration) -> None:
    role = synthesized.properties(synthesized.stack.flows[declaration.name].role)
    assert "ManagedPolicyArns" not in role


def test_undeclared_tables_get_no_grant(synthesized: SynthesizedStack) -> None:
    undeclared = [(d.name, table) for d in FLOWS for table in Table if table not in d.tables]
    assert undeclared, "every flow declares every table: nothing left to prove"
    for flow_name, table in undeclared:
        assert synthesized.logical_id(synthesized.stack.tables[table]) not in grants_by_resource(synthesized, flow_name), (flow_name, table)


def test_read_only_tables_get_no_write_actions(synthesized: SynthesizedStack) -> None:
    read_only = [(d.name, table) for d in FLOWS for table in d.reads if table not in d.writes]
    assert read_only, "no flow reads a table without writing it: nothing left to prove"
    for flow_name, table in read_only:
        actions = grants_by_resource(synthesized, flow_name)[synthesized.logical_id(synthesized.stack.tables[table])]
        assert "dynamodb:Query" in actions and not actions & DYNAMO_WRITE_ACTIONS, (flow_name, table)


def test_undeclared_secrets_get_no_grant(synthesized: SynthesizedStack) -> None:
    undeclared = [(d.name, secret) for d in FLOWS for secret in synthesized.stack.secrets if secret not in d.secrets]
    assert undeclared, "every flow declares every secret: nothing left to prove"
    for flow_name, secret in undeclared:
        grants = grants_by_resource(synthesized, flow_name)
        assert synthesized.logical_id(synthesized.stack.secrets[secret]) not in grants, (flow_name, secret)
        if not next(d for d in FLOWS if d.name == flow_name).secrets:
            assert not any(action.startswith("secretsmanager:") for actions in grants.values() for action in actions)


def test_flows_that_emit_nothing_cannot_put_events(synthesized: SynthesizedStack) -> None:
    silent = [d.name for d in FLOWS if not d.emits]
    assert silent, "every flow emits events: nothing left to prove"
    for flow_name in silent:
        grants = grants_by_resource(synthesized, flow_name)
        assert not any("events:PutEvents" in actions for actions in grants.values()), flow_name


def test_only_flows_declaring_publishes_alerts_may_publish(synthesized: SynthesizedStack) -> None:
    assert ALERT_PUBLISHERS, "no flow publishes alerts: nothing left to prove"
    publishers = {
        d.name
        for d in FLOWS
        if any("sns:Publish" in actions for actions in grants_by_resource(synthesized, d.name).values())
    }
    assert publishers == {d.name for d in ALERT_PUBLISHERS}


# --- tables and secrets ------------------------------------------------------------------------


@pytest.mark.parametrize("spec", TABLES, ids=[s.table.value for s in TABLES])
def test_table_matches_its_spec(synthesized: SynthesizedStack, spec: TableSpec) -> None:
    resource = synthesized.resource(synthesized.stack.tables[spec.table])
    assert resource["DeletionPolicy"] == "Retain" and resource["UpdateReplacePolicy"] == "Retain"
    table = resource["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}

    key_schema = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    if spec.sort_key:
        key_schema.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
    assert table["KeySchema"] == key_schema
    assert all(attribute["AttributeType"] == "S" for attribute in table["AttributeDefinitions"])

    if spec.ttl_attribute:
        assert table["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in table

    indexes = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {index.name for index in spec.indexes}
    for index in spec.indexes:
        expected_keys = [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
        if index.sort_key:
            expected_keys.append({"AttributeName": index.sort_key, "KeyType": "RANGE"})
        assert indexes[index.name]["KeySchema"] == expected_keys
        assert indexes[index.name]["Projection"] == {"ProjectionType": "ALL"}


def test_table_env_vars_are_the_ones_settings_reads() -> None:
    for spec in TABLES:
        assert spec.env_var in known_variables() and spec.env_var == TABLE_VARIABLES[spec.table], spec.env_var
        assert table_spec(spec.table) is spec


def test_secrets_use_the_names_functions_expect(synthesized: SynthesizedStack) -> None:
    names = {secret: synthesized.properties(resource)["Name"] for secret, resource in synthesized.stack.secrets.items()}
    assert names == {
        Secret.CONSONANCE: "consonance-spotify/consonance-api-key",
        Secret.MEGAPHONE: "consonance-spotify/megaphone-token",
        Secret.SPOTIFY: "consonance-spotify/spotify-client",
        Secret.WEBHOOK: "consonance-spotify/webhook-signing-key",
        Secret.SPOTIFY_CREATORS: "consonance-spotify/spotify-creators-session",
    }
    for declaration in FLOWS:  # each flow is told the id of every secret it declares, by the spec's variable
        variables = environment(synthesized, declaration.name)
        for secret in declaration.secrets:
            if secret in names:
                assert variables[SECRET_SPECS[secret].env_var] == names[secret], (declaration.name, secret)


def test_secret_placeholders_have_the_shape_functions_read(synthesized: SynthesizedStack) -> None:
    secrets = synthesized.stack.secrets
    spotify = synthesized.properties(secrets[Secret.SPOTIFY])["GenerateSecretString"]
    assert set(json.loads(spotify["SecretStringTemplate"])) == {"client_id"}
    assert spotify["GenerateStringKey"] == "client_secret"  # together: {"client_id", "client_secret"}
    webhook = synthesized.properties(secrets[Secret.WEBHOOK])["GenerateSecretString"]
    assert webhook["PasswordLength"] >= 32 and webhook["ExcludePunctuation"] is True
    for secret, resource in secrets.items():
        assert synthesized.resource(resource)["DeletionPolicy"] == "Retain", secret
        assert "SecretString" not in synthesized.properties(resource), secret  # no value in the template


# --- physical names ----------------------------------------------------------------------------


def test_resources_carry_the_names_the_ops_cli_and_sandbox_use(synthesized: SynthesizedStack) -> None:
    stack = synthesized.stack
    assert synthesized.properties(stack.event_bus)["Name"] == NAMES.event_bus == "consonance-spotify"
    assert synthesized.properties(stack.operations_topic)["TopicName"] == NAMES.alerts_topic
    for table, resource in stack.tables.items():
        assert synthesized.properties(resource)["TableName"] == NAMES.table(table) == f"consonance-spotify-{table.value}"
    for declaration in FLOWS:
        flow = stack.flows[declaration.name]
        assert synthesized.properties(flow.function)["FunctionName"] == NAMES.function(declaration.name)
        if flow.queue is not None:
            assert synthesized.properties(flow.queue)["QueueName"] == NAMES.queue(declaration.name)
            if not isinstance(declaration.trigger, DirectTrigger):  # a direct trigger has no rule
                assert synthesized.properties(flow.rule)["Name"] == NAMES.event_rule(declaration.name)
        if isinstance(declaration.trigger, ScheduleTrigger):
            assert synthesized.properties(flow.rule)["Name"] == NAMES.schedule_rule(declaration.name)
        if flow.dead_letter_queue is not None:
            assert synthesized.properties(flow.dead_letter_queue)["QueueName"] == NAMES.dead_letter_queue(declaration.name)


# --- monitoring --------------------------------------------------------------------------------


def alarms_of(synthesized: SynthesizedStack, flow_name: str) -> dict[str, dict[str, Any]]:
    """Alarm kind (suffix of the alarm name) -> alarm properties."""
    prefix = f"ConsonanceSpotify-{flow_name}-"
    return {
        alarm["Properties"]["AlarmName"].removeprefix(prefix): alarm["Properties"]
        for alarm in synthesized.template.find_resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["AlarmName"].startswith(prefix)
    }


def queue_metric_of(alarm: dict[str, Any]) -> set[str]:
    return referenced_logical_ids(alarm.get("Dimensions", []))


def expected_alarm_kinds(declaration: FlowDeclaration) -> set[str]:
    expected = {"error-rate", "throttles"}
    if not isinstance(declaration.trigger, HttpTrigger):
        expected.add("dead-letters")
    if declaration.consumes_queue:
        expected.add("oldest-message-age")
    if declaration.name in HEARTBEATS:
        expected.add("lag")
    expected |= {signal.kind for signal in SIGNAL_ALARMS if declaration.name in signal.flows}
    return expected


@pytest.mark.parametrize("declaration", FLOWS, ids=ids(FLOWS))
def test_each_flow_has_dead_letter_error_throttle_and_queue_age_alarms(synthesized: SynthesizedStack, declaration: FlowDeclaration) -> None:
    flow = synthesized.stack.flows[declaration.name]
    alarms = alarms_of(synthesized, declaration.name)
    assert set(alarms) == expected_alarm_kinds(declaration)

    if flow.dead_letter_queue is not None:
        dead_letters = alarms["dead-letters"]
        assert dead_letters["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert queue_metric_of(dead_letters) == {synthesized.logical_id(flow.dead_letter_queue)}
        assert dead_letters["ComparisonOperator"] == "GreaterThanThreshold" and dead_letters["Threshold"] == 0

    throttles = alarms["throttles"]
    assert throttles["MetricName"] == "Throttles" and throttles["Threshold"] == THRESHOLDS.throttles
    assert referenced_logical_ids(throttles["Dimensions"]) == {synthesized.logical_id(flow.function)}

    error_rate = alarms["error-rate"]
    assert error_rate["Threshold"] == THRESHOLDS.error_rate_percent
    metric_names = {m["MetricStat"]["Metric"]["MetricName"] for m in error_rate["Metrics"] if "MetricStat" in m}
    assert metric_names == {"Errors", "Invocations"}

    if declaration.consumes_queue:
        age = alarms["oldest-message-age"]
        assert age["MetricName"] == "ApproximateAgeOfOldestMessage"
        assert queue_metric_of(age) == {synthesized.logical_id(flow.queue)}
        assert age["Threshold"] == oldest_message_age_threshold(flow).to_seconds()
        assert age["Threshold"] >= THRESHOLDS.oldest_message_age_floor.to_seconds()


def test_poller_lag_alarm_fires_when_no_successful_poll_is_reported(synthesized: SynthesizedStack) -> None:
    poller = next(d for d in FLOWS if d.name == "consonance-poller")
    assert isinstance(poller.trigger, ScheduleTrigger)
    lag = alarms_of(synthesized, "consonance-poller")["lag"]
    assert lag["Namespace"] == METRICS_NAMESPACE
    assert lag["MetricName"] == "PollSucceeded"
    assert lag["Dimensions"] == [{"Name": "service", "Value": "consonance-poller"}]
    assert lag["Statistic"] == "Sum"
    assert lag["Period"] == THRESHOLDS.heartbeat_schedule_periods * poller.trigger.every_minutes * 60
    assert lag["ComparisonOperator"] == "LessThanThreshold" and lag["Threshold"] == 1
    assert lag["TreatMissingData"] == "breaching"


@pytest.mark.parametrize(
    ("flow_name", "kind", "metric_name", "threshold", "period_seconds"),
    [
        ("rights-sync", "withdrawals", "EpisodesWithdrawn", 0, 3600),
        ("episode-publisher", "withdrawals", "EpisodesWithdrawn", 0, 3600),
        ("availability-recorder", "takedowns", "TakedownsDetected", 0, 3600),
        ("rights-sync", "unenforceable-restrictions", "UnenforceableRestrictions", 0, 3600),
        ("episode-publisher", "unenforceable-restrictions", "UnenforceableRestrictions", 0, 3600),
        ("webhook-ingest", "rejections", "WebhookRejected", THRESHOLDS.webhook_rejections, 300),
        ("webhook-ingest", "misconfigured", "WebhookMisconfigured", 0, 300),
    ],
)
def test_signal_alarms_watch_what_the_handlers_count(
    synthesized: SynthesizedStack, flow_name: str, kind: str, metric_name: str, threshold: int, period_seconds: int
) -> None:
    alarm = alarms_of(synthesized, flow_name)[kind]
    assert alarm["Namespace"] == METRICS_NAMESPACE
    assert alarm["MetricName"] == metric_name
    assert alarm["Dimensions"] == [{"Name": "service", "Value": flow_name}]
    assert alarm["Statistic"] == "Sum"
    assert alarm["Period"] == period_seconds
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] == threshold
    assert alarm["EvaluationPeriods"] == 1
    assert alarm["TreatMissingData"] == "notBreaching"


def test_every_http_flow_alarms_on_rejected_requests() -> None:
    rejections = next(signal for signal in SIGNAL_ALARMS if signal.kind == "rejections")
    assert set(rejections.flows) == {d.name for d in HTTP_FLOWS}


def test_every_alarm_notifies_the_operations_topic(synthesized: SynthesizedStack) -> None:
    topic_ref = {"Ref": synthesized.logical_id(synthesized.stack.operations_topic)}
    alarms = synthesized.template.find_resources("AWS::CloudWatch::Alarm")
    expected_count = sum(len(expected_alarm_kinds(d)) for d in FLOWS) + len(synthesized.stack.account_secrets)  # + expiry alarms
    assert len(alarms) == expected_count
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [topic_ref]
        assert alarm["Properties"]["OKActions"] == [topic_ref]


def test_operations_topic_is_kms_encrypted_and_cloudwatch_may_use_it(synthesized: SynthesizedStack) -> None:
    alerts = synthesized.stack.operations_alerts
    key_id = synthesized.logical_id(alerts.key)
    topic = synthesized.properties(alerts.topic)
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = synthesized.properties(alerts.key)
    assert key["EnableKeyRotation"] is True
    key_statements = key["KeyPolicy"]["Statement"]
    cloudwatch_statements = [s for s in key_statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch_statements and "kms:GenerateDataKey*" in cloudwatch_statements[0]["Action"]
    synthesized.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish", "Effect": "Allow"})]
                )
            }
        },
    )


def test_dashboard_shows_every_flow(synthesized: SynthesizedStack) -> None:
    dashboards = synthesized.template.find_resources("AWS::CloudWatch::Dashboard")
    assert len(dashboards) == 1
    body = json.dumps(next(iter(dashboards.values()))["Properties"]["DashboardBody"])
    for declaration in FLOWS:
        assert f"{declaration.name}: invocations" in body
        assert (f"{declaration.name}: dead letters" in body) == (declaration in FLOWS_WITH_DEAD_LETTERS)
    assert "PollSucceeded" in body
    for signal in SIGNAL_ALARMS:
        assert signal.metric_name in body


# --- cdk-nag -----------------------------------------------------------------------------------


def test_no_unsuppressed_aws_solutions_errors(synthesized: SynthesizedStack) -> None:
    errors = Annotations.from_stack(synthesized.stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert errors == []
    assert [m for m in synthesized.messages if m.level.name == "ERROR"] == []


def test_nag_suppressions_are_scoped_and_explained(synthesized: SynthesizedStack) -> None:
    suppressed: dict[str, set[str]] = {}
    for logical_id, resource in synthesized.resources.items():
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            assert len(rule["reason"]) >= 80, f"{logical_id} {rule['id']}: reason too thin"
            suppressed.setdefault(rule["id"], set()).add(resource["Type"])
            if rule["id"] == "AwsSolutions-IAM5":
                assert rule.get("applies_to"), f"{logical_id}: IAM5 suppressed without appliesTo"
    assert suppressed == {
        "AwsSolutions-L1": {"AWS::Lambda::Function"},
        "AwsSolutions-IAM5": {"AWS::IAM::Policy"},
        "AwsSolutions-SMG4": {"AWS::SecretsManager::Secret"},
        "AwsSolutions-S1": {"AWS::S3::Bucket"},  # the documents bucket: no access-log bucket (infra/nag.py)
    }
    template_metadata = synthesized.template.to_json().get("Metadata", {})
    assert "cdk_nag" not in template_metadata  # no stack-wide suppressions


# --- Spotify account authorisations --------------------------------------------------------------


def test_each_configured_spotify_account_has_a_secret_and_an_expiry_alarm(synthesized: SynthesizedStack) -> None:
    stack = synthesized.stack
    assert set(stack.account_secrets) == {"publisher", "northwind-brand"}
    for account, secret in stack.account_secrets.items():
        assert synthesized.properties(secret)["Name"] == f"consonance-spotify/spotify-account/{account}"
        alarm = synthesized.properties(stack.monitoring.authorisation_alarms[account])
        assert alarm["MetricName"] == "SpotifyAuthorisationDaysLeft" and alarm["Threshold"] == 14
        assert alarm["ComparisonOperator"] == "LessThanOrEqualToThreshold" and alarm["TreatMissingData"] == "breaching"
        assert alarm["Dimensions"] == [{"Name": "account", "Value": account}]


def test_flows_using_spotify_accounts_may_read_and_rotate_only_those_secrets(synthesized: SynthesizedStack) -> None:
    stack = synthesized.stack
    account_ids = {synthesized.logical_id(secret) for secret in stack.account_secrets.values()}
    for declaration in FLOWS:
        grants = grants_by_resource(synthesized, declaration.name)
        granted = {i: actions for i, actions in grants.items() if i in account_ids}
        if Secret.SPOTIFY_ACCOUNTS in declaration.secrets:
            assert set(granted) == account_ids, declaration.name
            assert all({"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"} <= actions for actions in granted.values())
            variables = environment(synthesized, declaration.name)
            assert variables["SPOTIFY_ACCOUNTS"] == "publisher,northwind-brand"
            assert variables["SPOTIFY_ACCOUNTS_SECRET_PREFIX"] == "consonance-spotify/spotify-account"
        else:
            assert granted == {}, declaration.name
