"""Each invocation runs as its flow deploys: exactly its declaration's grants (anything else fails as
IAM makes it fail), exactly its environment variables, and its own warm execution environment."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from infra.flows import Secret, Table, queue_url_variable
from sandbox.aws_grants import Permission
from sandbox.moto_server import MotoServer
from sandbox.runtime import LocalRuntime, SimulatedCrash
from tests.sandbox import sample_flows
from tests.sandbox.deployments import BuildRuntime
from tests.sandbox.sample_flows import (
    ALERTER,
    CALLER,
    DIRECT,
    PRODUCER,
    PROBE,
    REMEMBERED,
    REMEMBERED_UNGRANTED,
    SAMPLE_SECRET,
    SENDER,
    WARM_A,
    WARM_B,
    SampleOrderPlaced,
)

BOTH_SECRETS = {Secret.MEGAPHONE: SAMPLE_SECRET, Secret.CONSONANCE: "another-sample-credential"}


def call(runtime: LocalRuntime, flow: Any, service: str, operation: str, **params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = runtime.invoke(flow, {"service": service, "operation": operation, "params": params})
    return answer


@pytest.fixture
def caller(build_runtime: BuildRuntime) -> LocalRuntime:
    return build_runtime((CALLER,), deploy_options={"secret_values": BOTH_SECRETS})


def key(name: str) -> dict[str, Any]:
    return {"pk": {"S": name}, "sk": {"S": "x"}}


# grants ------------------------------------------------------------------------------------------
def test_calls_inside_the_declaration_reach_aws(caller: LocalRuntime) -> None:
    resources = caller.resources
    ledger, cursors = resources.tables[Table.LEDGER], resources.tables[Table.CURSORS]
    wiring = resources.queues[CALLER.name]
    event = {
        "EventBusName": resources.event_bus_name,
        "Source": resources.event_source,
        "DetailType": SampleOrderPlaced.detail_type,
        "Detail": json.dumps({"order_id": "1"}),
    }
    answers = [
        call(caller, CALLER, "dynamodb", "get_item", TableName=ledger, Key=key("a")),
        call(caller, CALLER, "dynamodb", "query", TableName=ledger, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}),
        call(caller, CALLER, "dynamodb", "put_item", TableName=cursors, Item={"pk": {"S": "c"}}),
        call(caller, CALLER, "dynamodb", "get_item", TableName=cursors, Key={"pk": {"S": "c"}}),  # a written table is readable
        call(caller, CALLER, "dynamodb", "describe_table", TableName=ledger),
        call(caller, CALLER, "secretsmanager", "get_secret_value", SecretId=resources.secret_ids[Secret.MEGAPHONE]),
        call(caller, CALLER, "events", "put_events", Entries=[event]),
        call(caller, CALLER, "sqs", "send_message", QueueUrl=wiring.dead_letter_queue_url, MessageBody="with a reason"),
    ]
    assert [answer["allowed"] for answer in answers] == [True] * len(answers), answers
    assert caller.access.denials == []
    assert answers[3]["response"]["Item"] == {"pk": {"S": "c"}}


@pytest.mark.parametrize(
    ("target", "service", "operation", "code", "status", "action"),
    [
        ("ledger", "dynamodb", "put_item", "AccessDeniedException", 400, "dynamodb:PutItem"),
        ("idempotency", "dynamodb", "get_item", "AccessDeniedException", 400, "dynamodb:GetItem"),
        ("none", "dynamodb", "list_tables", "AccessDeniedException", 400, "dynamodb:ListTables"),
        ("consonance secret", "secretsmanager", "get_secret_value", "AccessDeniedException", 400, "secretsmanager:GetSecretValue"),
        ("undeclared detail-type", "events", "put_events", "AccessDeniedException", 400, "events:PutEvents"),
        ("own queue", "sqs", "send_message", "AccessDenied", 403, "sqs:SendMessage"),
        ("own dead-letter queue", "sqs", "receive_message", "AccessDenied", 403, "sqs:ReceiveMessage"),
        ("alerts topic", "sns", "publish", "AuthorizationError", 403, "sns:Publish"),
        ("none", "sts", "get_caller_identity", "AccessDenied", 403, "sts:GetCallerIdentity"),
    ],
)
def test_calls_outside_the_declaration_fail_as_iam_makes_them_fail(
    build_runtime: BuildRuntime, target: str, service: str, operation: str, code: str, status: int, action: str
) -> None:
    topic = boto3.client("sns").create_topic(Name="sample-alerts")["TopicArn"]
    runtime = build_runtime((CALLER,), deploy_options={"secret_values": BOTH_SECRETS, "alerts_topic_arn": topic})
    resources = runtime.resources
    params: dict[str, Any] = {
        "ledger": {"TableName": resources.tables[Table.LEDGER], "Item": key("written")},
        "idempotency": {"TableName": resources.tables[Table.IDEMPOTENCY], "Key": {"id": {"S": "k"}}},
        "consonance secret": {"SecretId": resources.secret_ids[Secret.CONSONANCE]},
        "undeclared detail-type": {
            "Entries": [
                {"EventBusName": resources.event_bus_name, "Source": resources.event_source, "DetailType": "SampleOrderPlaced", "Detail": "{}"},
                {"EventBusName": resources.event_bus_name, "Source": resources.event_source, "DetailType": "SomethingElse", "Detail": "{}"},
            ]
        },
        "own queue": {"QueueUrl": resources.queues[CALLER.name].queue_url, "MessageBody": "x"},
        "own dead-letter queue": {"QueueUrl": resources.queues[CALLER.name].dead_letter_queue_url},
        "alerts topic": {"TopicArn": topic, "Message": "x"},
        "none": {},
    }[target]

    answer = call(runtime, CALLER, service, operation, **params)

    assert (answer["allowed"], answer["code"], answer["status"]) == (False, code, status)
    assert f"is not authorized to perform: {action} on resource:" in answer["message"]
    (denial,) = runtime.access.denials
    assert (denial.flow, denial.permission.action) == (CALLER.name, action)
    if target == "ledger":
        item = boto3.client("dynamodb").get_item(TableName=resources.tables[Table.LEDGER], Key=key("written"))
        assert "Item" not in item, "a denied call never reaches the table"
    if target == "undeclared detail-type":
        assert denial.permission.detail_type == "SomethingElse"


def test_a_flow_declaring_the_alerts_topic_may_publish_to_it_and_nowhere_else(build_runtime: BuildRuntime) -> None:
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="sample-ops-alerts")["TopicArn"]
    other = sns.create_topic(Name="sample-other-topic")["TopicArn"]
    runtime = build_runtime((ALERTER,), deploy_options={"alerts_topic_arn": topic})

    assert call(runtime, ALERTER, "sns", "publish", TopicArn=topic, Message="takedown")["allowed"] is True
    assert call(runtime, ALERTER, "sns", "publish", TopicArn=other, Message="takedown")["code"] == "AuthorizationError"
    assert runtime.resources.environments[ALERTER.name]["ALERTS_TOPIC_ARN"] == topic


def test_a_table_the_declaration_forgot_dead_letters_every_record_with_the_access_error(build_runtime: BuildRuntime) -> None:
    """The metadata-sync bug in miniature: the handler remembers events in the idempotency table,
    the declaration does not grant it; deployed, every record fails. Granting it fixes it."""
    ungranted = build_runtime((REMEMBERED_UNGRANTED,))
    assert "IDEMPOTENCY_TABLE" not in ungranted.resources.environments[REMEMBERED_UNGRANTED.name]
    publish(ungranted, "u1")
    ungranted.run_for(minutes=30)

    (letter,) = ungranted.dead_letters()
    assert letter.dead_lettered_by == "handler"
    assert "AccessDeniedException" in letter.reason and "dynamodb:PutItem" in letter.reason
    assert {d.permission.action for d in ungranted.access.denials} == {"dynamodb:PutItem"}
    ungranted.close()

    granted = build_runtime((REMEMBERED,))
    publish(granted, "g1")
    granted.run_for(minutes=30)
    assert granted.dead_letters() == [] and granted.access.denials == []
    assert granted.stats()[REMEMBERED.name].succeeded == 1
    used = granted.access.used[REMEMBERED.name]
    assert Permission("dynamodb:PutItem", table_arn(granted, Table.IDEMPOTENCY)) in used


def publish(runtime: LocalRuntime, order_id: str) -> None:
    from functions.event_bus import EventBus

    EventBus(runtime.resources.event_bus_name, runtime.resources.event_source).publish([SampleOrderPlaced(order_id=order_id)])


def table_arn(runtime: LocalRuntime, table: Table) -> str:
    resources = runtime.resources
    return f"arn:aws:dynamodb:{resources.region}:{resources.account}:table/{resources.tables[table]}"


# environment variables -----------------------------------------------------------------------------
def test_an_invocation_sees_exactly_its_flows_variables(build_runtime: BuildRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "left-over-from-the-shell")  # a setting no flow here is given
    monkeypatch.setenv("SANDBOX_UNRELATED", "kept")  # not a setting, not a flow's: the process's own
    runtime = build_runtime((PROBE, PRODUCER))

    runtime.run_for(minutes=31)  # the producer runs, the probe consumes nothing (no probe events)
    producer = sample_flows.WORLD.producer_environment
    assert producer["POWERTOOLS_SERVICE_NAME"] == PRODUCER.name
    assert "LEDGER_TABLE" not in producer, "the probe's table is not the producer's"
    assert "IDEMPOTENCY_TABLE" not in producer, "a stray setting never reaches a flow"
    assert producer["SANDBOX_UNRELATED"] == "kept"
    runtime.invoke(PROBE, {"Records": []})
    assert os.environ["LEDGER_TABLE"] == runtime.resources.tables[Table.LEDGER]

    runtime.close()
    assert os.environ["IDEMPOTENCY_TABLE"] == "left-over-from-the-shell"
    assert "LEDGER_TABLE" not in os.environ


# warm starts -------------------------------------------------------------------------------------
def test_a_flow_keeps_its_own_clients_between_invocations_and_never_shares_them(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((WARM_A, WARM_B))

    first_a = runtime.invoke(WARM_A, {})
    second_a = runtime.invoke(WARM_A, {})
    first_b = runtime.invoke(WARM_B, {})
    third_a = runtime.invoke(WARM_A, {})

    built = [name for name in first_a if name != "service"]
    assert all(first_a[name] is second_a[name] is third_a[name] for name in built), "a warm start reuses what the cold start built"
    assert (first_a["service"], first_b["service"]) == (WARM_A.name, WARM_B.name)
    shared = {name for name in built if first_a[name] is first_b[name]}
    assert shared == set(), f"built by one flow, used by another: {shared}"
    assert runtime.environments.cold_starts == {WARM_A.name: 1, WARM_B.name: 1}


def test_every_botocore_session_shares_one_loader_while_environments_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's service models are parsed once per process, not once per session (each flow's
    environment, and every Powertools secrets provider, makes its own); botocore's factory is back
    once the last ExecutionEnvironments closes, whatever the order they close in."""
    import botocore.session

    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from sandbox.execution_environments import ExecutionEnvironments

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    own_factory = botocore.session.create_loader
    first, second = ExecutionEnvironments({}), ExecutionEnvironments({})
    sessions = [boto3.session.Session(), boto3.session.Session(), SecretsProvider().client._loader]
    loaders = [session._loader for session in sessions[:2]] + [sessions[2]]
    assert loaders[0] is loaders[1] is loaders[2]
    assert len(loaders[0].search_paths) == len(set(loaders[0].search_paths))  # boto3's own path once, however many sessions
    first.close()
    assert boto3.session.Session()._loader is loaders[0]  # the second is still open
    second.close()
    assert botocore.session.create_loader is own_factory
    assert boto3.session.Session()._loader is not loaders[0]


def test_an_environment_that_crashed_is_replaced_by_a_cold_start(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((WARM_A,))
    before = runtime.invoke(WARM_A, {})
    with pytest.raises(SimulatedCrash):
        runtime.invoke(WARM_A, {"crash": True})
    after = runtime.invoke(WARM_A, {})

    assert all(after[name] is not before[name] for name in before if name != "service")
    assert runtime.environments.cold_starts[WARM_A.name] == 2


# polling -----------------------------------------------------------------------------------------
def test_queues_are_polled_after_an_invocation_only_for_the_detail_types_it_put(build_runtime: BuildRuntime) -> None:
    from sandbox.aws_grants import OUTSIDE_INVOCATIONS
    from tests.sandbox.sample_flows import HOURLY, ORDERS

    quiet = build_runtime((HOURLY, ORDERS), idle_poll_interval=timedelta(days=1))
    quiet.run_for(hours=5)  # five hourly runs that put nothing on the bus
    # the queue's visibility read at start-up and run_until's one poll of every queue; nothing after
    assert quiet.access.requests_by_flow[OUTSIDE_INVOCATIONS] == 2
    assert quiet.stats()["sample-hourly"].succeeded == 5
    quiet.close()

    producing = build_runtime((PRODUCER, ORDERS), idle_poll_interval=timedelta(days=1))
    producing.run_for(hours=2)
    assert [delivery.receive_count for delivery in sample_flows.WORLD.deliveries] == [1, 1, 1, 1]


def test_an_idle_poll_receives_only_from_queues_holding_messages(build_runtime: BuildRuntime, moto_server: MotoServer) -> None:
    """With moto's backend in this process the runtime sees which queues hold messages: an idle poll
    of empty queues sends no request, and a message nobody told the runtime about (sent from outside
    it, as S3's notifications reach a queue inside moto) is still delivered at the next idle poll."""
    from sandbox.aws_grants import OUTSIDE_INVOCATIONS
    from tests.sandbox.sample_flows import HOURLY, ORDERS

    runtime = build_runtime((HOURLY, ORDERS), idle_poll_interval=timedelta(hours=1), holding_messages=moto_server.queues_holding_messages)
    runtime.run_for(hours=5)  # five idle polls and run_until's poll, of an empty queue
    assert runtime.access.requests_by_flow[OUTSIDE_INVOCATIONS] == 1  # only the queue's visibility read at start-up

    send_at = runtime.clock.now() + timedelta(minutes=10)
    body = json.dumps(
        {
            "version": "0", "id": "unseen-1", "detail-type": "SampleOrderPlaced", "source": "test", "account": "123456789012",
            "time": "2025-03-03T14:10:00Z", "region": "eu-west-1", "resources": [],
            "detail": SampleOrderPlaced(order_id="unseen").model_dump(mode="json"),
        }
    )  # fmt: skip

    def send_unannounced(now: datetime) -> None:  # a sender outside the runtime that does not call expect_messages()
        if now == send_at:
            boto3.client("sqs").send_message(QueueUrl=runtime.resources.queues[ORDERS.name].queue_url, MessageBody=body)

    runtime.add_before_tick(send_unannounced)
    runtime.run_for(hours=1)  # the hourly idle poll comes 50 minutes after the send: the queue holds a message
    assert [(d.order_id, d.receive_count) for d in sample_flows.WORLD.deliveries] == [("unseen", 1)]
    assert sample_flows.WORLD.deliveries[0].at - send_at == timedelta(minutes=50)


def test_a_flow_sends_straight_to_the_queues_it_declares_and_no_other(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((SENDER, CALLER, DIRECT), deploy_options={"secret_values": BOTH_SECRETS})
    direct_queue = runtime.resources.queues[DIRECT.name]
    assert direct_queue.rule_name is None and direct_queue.detail_types == ()  # nothing reaches it from the bus
    assert runtime.resources.environments[SENDER.name][queue_url_variable(DIRECT.name)] == direct_queue.queue_url
    assert queue_url_variable(DIRECT.name) not in runtime.resources.environments[CALLER.name]

    sent = call(runtime, SENDER, "sqs", "send_message", QueueUrl=direct_queue.queue_url, MessageBody="{}")
    refused = call(runtime, CALLER, "sqs", "send_message", QueueUrl=direct_queue.queue_url, MessageBody="{}")

    assert sent["allowed"] is True
    assert (refused["allowed"], refused["code"], refused["status"]) == (False, "AccessDenied", 403)
    assert [(d.flow, d.permission.action) for d in runtime.access.denials] == [(CALLER.name, "sqs:SendMessage")]
