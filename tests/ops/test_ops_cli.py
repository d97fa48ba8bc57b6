"""The ops CLI against moto: resources created under the names the stack deploys (infra/naming.py),
dead letters seeded as the handlers and SQS write them, ledger and availability items as the flows
write them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions import dead_letters
from functions.domain.models import Episode, EpisodeKind, Finding
from functions.flows import planning
from functions.state.keys import episode_key
from functions.state.targets import EPISODE_SOURCE as SOURCE, MEGAPHONE as TARGET
from functions.state import dynamo
from functions.state.availability import CHANNEL_WIDE, AvailabilityStore, transition
from functions.state.ledger import HistoryEntry, SyncLedger, new_entry
from functions.state.targets import LedgerStatus
from infra.flows import FLOWS, Table
from infra.naming import ResourceNames
from infra.ops import dead_letter_queues
from infra.ops.__main__ import EXIT_AWS_FAILED, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, main
from infra.tables import TABLES, TableSpec

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PREFIX = "ops-test"
NAMES = ResourceNames(PREFIX)
QUEUE_FLOW = "episode-publisher"
OTHER_QUEUE_FLOW = "rights-sync"
SCHEDULED_FLOW = "availability-monitor"
PRODUCT_ID = 9101
ISBN = "9781234567897"
REASON = "MalformedEvent: EpisodeChanged detail is invalid: episode.title: Field required"


@dataclass(frozen=True)
class Cli:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(*arguments: str) -> Cli:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--prefix", PREFIX, *arguments], stdout=out, stderr=err)
    return Cli(code, out.getvalue(), err.getvalue())


def bus_event(detail_type: str, detail: dict[str, Any], event_id: str = "evt-1") -> str:
    return json.dumps(
        {
            "version": "0",
            "id": event_id,
            "detail-type": detail_type,
            "source": "consonance-spotify",
            "account": "123456789012",
            "time": "2025-03-03T09:00:00Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": detail,
        }
    )


def reset_cached_clients() -> None:
    dynamo.reset_clients()
    dead_letters.sqs_client.cache_clear()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # moto answers at once; AWS needs the long poll to be sure a queue is drained.
    monkeypatch.setattr(dead_letter_queues, "RECEIVE_WAIT_SECONDS", 0)
    reset_cached_clients()
    with mock_aws(config={"lambda": {"use_docker": False}}):
        create_queues()
        for spec in TABLES:
            create_table(spec)
        yield
    reset_cached_clients()


def create_queues() -> None:
    sqs = boto3.client("sqs")
    for flow_name in (QUEUE_FLOW, OTHER_QUEUE_FLOW):
        sqs.create_queue(QueueName=NAMES.queue(flow_name))
        sqs.create_queue(QueueName=NAMES.dead_letter_queue(flow_name))
    sqs.create_queue(QueueName=NAMES.dead_letter_queue(SCHEDULED_FLOW))


def create_table(spec: TableSpec) -> None:
    keys = [spec.partition_key, spec.sort_key] + [k for index in spec.indexes for k in (index.partition_key, index.sort_key)]
    arguments: dict[str, Any] = {
        "TableName": NAMES.table(spec.table),
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k in dict.fromkeys(k for k in keys if k)],
        "KeySchema": key_schema(spec.partition_key, spec.sort_key),
        "BillingMode": "PAY_PER_REQUEST",
    }
    if spec.indexes:
        arguments["GlobalSecondaryIndexes"] = [
            {"IndexName": index.name, "KeySchema": key_schema(index.partition_key, index.sort_key), "Projection": {"ProjectionType": "ALL"}}
            for index in spec.indexes
        ]
    boto3.client("dynamodb").create_table(**arguments)


def key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    return [{"AttributeName": partition_key, "KeyType": "HASH"}] + ([{"AttributeName": sort_key, "KeyType": "RANGE"}] if sort_key else [])


def queue_url(name: str) -> str:
    return str(boto3.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def drain(name: str) -> list[dict[str, Any]]:
    """Consume everything in a queue (test assertions only)."""
    sqs = boto3.client("sqs")
    url = queue_url(name)
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", []):
        messages.extend(batch)
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def visible_count(name: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url(name), AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


# --- seeding ---------------------------------------------------------------------------------------

HANDLER_BODY = bus_event("EpisodeChanged", {"schema_version": 1, "episode": {"product_id": PRODUCT_ID}, "content_hash": "h1"}, "evt-handler")
REDRIVEN_BODY = bus_event("RightsChanged", {"schema_version": 1, "product_id": 4242, "rights_hash": "r1"}, "evt-redriven")


def seed_dead_letters() -> None:
    """One dead-lettered by the handler (with its reason, through the real producer), one moved by
    SQS's redrive (no attributes), one on another flow."""
    dead_letters.dead_letter(
        queue_url(NAMES.dead_letter_queue(QUEUE_FLOW)),
        HANDLER_BODY,
        flow=QUEUE_FLOW,
        error_code="malformed_event",
        reason=REASON,
        receive_count=1,
        message_id="orig-1",
    )
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=queue_url(NAMES.dead_letter_queue(QUEUE_FLOW)), MessageBody=REDRIVEN_BODY)
    sqs.send_message(
        QueueUrl=queue_url(NAMES.dead_letter_queue(OTHER_QUEUE_FLOW)),
        MessageBody=bus_event("RightsWindowDue", {"schema_version": 1, "product_id": 77, "due_at": "2025-03-03T00:00:00Z", "reason": "window closes"}),
    )


def seed_scheduled_failure() -> str:
    """What Lambda keeps of a failed asynchronous invocation of a scheduled flow."""
    body = json.dumps({"version": "0", "id": "sched-1", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2025-03-03T09:00:00Z", "detail": {}})
    boto3.client("sqs").send_message(
        QueueUrl=queue_url(NAMES.dead_letter_queue(SCHEDULED_FLOW)),
        MessageBody=body,
        MessageAttributes={
            "RequestID": {"DataType": "String", "StringValue": "req-1"},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": "Task timed out after 300.00 seconds"},
        },
    )
    return body


def sample_episode() -> Episode:
    return Episode(product_id=PRODUCT_ID, isbn13=ISBN, kind=EpisodeKind.SERIALIZED_FICTION, title="The Lighthouse Keeper, Part 1")


def seed_ledger() -> None:
    ledger = SyncLedger(NAMES.table(Table.LEDGER))
    episode = sample_episode()
    source = new_entry(episode_key(PRODUCT_ID), SOURCE)
    source.state.episode, source.source_hash = episode, episode.content_hash()
    ledger.save(source)
    history = [HistoryEntry(at=datetime(2025, 3, day, 9, tzinfo=timezone.utc), action=f"step-{day}", detail=f"detail {day}") for day in range(1, 9)]
    target = new_entry(episode_key(PRODUCT_ID), TARGET)
    target.status, target.status_reason = LedgerStatus.WITHDRAWN, "narration licence expired 2025-03-01"
    target.state.episode_id = "mp-1"
    target.findings = [Finding(code="rights_window_closed", entity=episode_key(PRODUCT_ID), message="narration licence expired", flow="rights-sync")]
    target.history = history
    ledger.save(target)


def seed_availability() -> None:
    """As the availability recorder writes it: live in GB, taken down in the US, and on Megaphone."""
    store = AvailabilityStore(NAMES.table(Table.AVAILABILITY))
    entity = episode_key(PRODUCT_ID)
    went_live = datetime(2025, 1, 10, tzinfo=timezone.utc)
    for channel, territory in (("spotify", "GB"), ("spotify", "US"), ("megaphone", CHANNEL_WIDE)):
        store.put(
            transition(
                None,
                entity=entity,
                channel=channel,
                territory=territory,
                live=True,
                reason="published",
                taken_down=False,
                source="monitor",
                observed_at=went_live,
                spotify_id="sp-1" if channel == "spotify" else None,
                isbn13=ISBN,
            )
        )
    store.put(
        transition(
            store.get(entity, "spotify", "US"),
            entity=entity,
            channel="spotify",
            territory="US",
            live=False,
            reason="takedown notice: rights dispute",
            taken_down=True,
            source="webhook",
            observed_at=datetime(2025, 3, 1, tzinfo=timezone.utc),
        )
    )


# --- dlq list ------------------------------------------------------------------------------------


def test_dlq_list_shows_each_message_with_its_reason_and_consumes_nothing(aws: None) -> None:
    seed_dead_letters()
    result = run_cli("dlq", "list")
    assert result.code == EXIT_OK, result.err
    assert REASON in result.out
    assert "malformed_event" in result.out
    assert dead_letter_queues.SQS_REDRIVE_REASON in result.out
    assert f"episode#{PRODUCT_ID}" in result.out and "EpisodeChanged" in result.out
    assert "episode#4242" in result.out and "RightsChanged" in result.out
    assert "episode#77" in result.out and OTHER_QUEUE_FLOW in result.out
    assert "3 dead-lettered message(s)" in result.out
    lines = result.out.splitlines()
    assert lines[0] == "By reason:" and lines[1].split() == ["FLOW", "COUNT", "ERROR", "REASON"]
    header = next(line for line in lines if line.startswith("FLOW") and "MESSAGE" in line)
    assert header.split() == ["FLOW", "MESSAGE", "ID", "DEAD-LETTERED", "ERROR", "RECEIVES", "EVENT", "ENTITY", "REASON"]
    assert visible_count(NAMES.dead_letter_queue(QUEUE_FLOW)) == 2
    assert visible_count(NAMES.dead_letter_queue(OTHER_QUEUE_FLOW)) == 1
    assert run_cli("dlq", "list").out.count("\n") == result.out.count("\n")  # a second listing sees the same


def test_dlq_list_groups_by_reason_per_queue_with_a_count_then_lists_each_message(aws: None) -> None:
    sqs = boto3.client("sqs")
    publisher_dlq, rights_dlq = queue_url(NAMES.dead_letter_queue(QUEUE_FLOW)), queue_url(NAMES.dead_letter_queue(OTHER_QUEUE_FLOW))
    for product_id in (41, 42, 43):  # one reason, three products: one group of three
        dead_letters.dead_letter(
            publisher_dlq, bus_event("EpisodeChanged", {"schema_version": 1, "episode": {"product_id": product_id}}, f"e{product_id}"),
            flow=QUEUE_FLOW, error_code="invalid_record", reason=f"InvalidRecord: product {product_id} has no master audio",
            receive_count=1, message_id=f"orig-{product_id}",
        )  # fmt: skip
    dead_letters.dead_letter(
        publisher_dlq, HANDLER_BODY, flow=QUEUE_FLOW, error_code="malformed_event", reason=REASON, receive_count=1, message_id="orig-1"
    )
    sqs.send_message(QueueUrl=rights_dlq, MessageBody=REDRIVEN_BODY)
    sqs.send_message(QueueUrl=publisher_dlq, MessageBody=REDRIVEN_BODY)

    shown = run_cli("dlq", "list")
    assert shown.code == EXIT_OK, shown.err
    lines = shown.out.splitlines()
    summary = lines[3 : lines.index("")]
    assert [line.split()[:2] for line in summary] == [[QUEUE_FLOW, "3"], [QUEUE_FLOW, "1"], [QUEUE_FLOW, "1"], [OTHER_QUEUE_FLOW, "1"]]
    assert summary[0].endswith("InvalidRecord: product # has no master audio")
    messages = lines[lines.index("") + 3 :]
    assert [line.split()[0] for line in messages[:5]] == [QUEUE_FLOW] * 5
    assert all("has no master audio" in line for line in messages[:3])  # a group's messages together
    assert "6 dead-lettered message(s)" in shown.out

    document = run_cli("dlq", "list", "--json").json()
    groups = {(g["flow"], g["reason"]): g for g in document["groups"]}
    grouped = groups[(QUEUE_FLOW, "InvalidRecord: product # has no master audio")]
    assert grouped["count"] == 3 and grouped["error_code"] == "invalid_record" and len(grouped["message_ids"]) == 3
    assert grouped["example"].startswith("InvalidRecord: product 4")
    assert groups[(OTHER_QUEUE_FLOW, dead_letter_queues.SQS_REDRIVE_REASON)]["count"] == 1
    assert sum(g["count"] for g in document["groups"]) == len(document["messages"]) == 6
    assert visible_count(NAMES.dead_letter_queue(QUEUE_FLOW)) == 5  # consumed nothing


def test_dlq_list_json_for_one_flow(aws: None) -> None:
    seed_dead_letters()
    result = run_cli("dlq", "list", "--flow", QUEUE_FLOW, "--json")
    assert result.code == EXIT_OK, result.err
    document = result.json()
    assert document["queues"] == [{"flow": QUEUE_FLOW, "queue": NAMES.dead_letter_queue(QUEUE_FLOW), "exists": True, "messages": 2}]
    by_origin = {message["origin"]: message for message in document["messages"]}
    assert set(by_origin) == {"handler", "sqs-redrive"}
    handler = by_origin["handler"]
    assert (handler["error_code"], handler["reason"], handler["receive_count"]) == ("malformed_event", REASON, "1")
    assert (handler["detail_type"], handler["entity"], handler["original_message_id"]) == ("EpisodeChanged", f"episode#{PRODUCT_ID}", "orig-1")
    redriven = by_origin["sqs-redrive"]
    assert redriven["reason"] == dead_letter_queues.SQS_REDRIVE_REASON and redriven["error_code"] is None
    assert redriven["body"] == REDRIVEN_BODY


def test_dlq_list_explains_a_scheduled_flows_failed_invocation(aws: None) -> None:
    seed_scheduled_failure()
    result = run_cli("dlq", "list", "--flow", SCHEDULED_FLOW, "--json")
    (message,) = result.json()["messages"]
    assert message["origin"] == "lambda-async"
    assert message["error_code"] == "200"
    assert "Task timed out after 300.00 seconds" in message["reason"]
    assert message["detail_type"] == "Scheduled Event"


def test_dlq_list_pages_past_one_receive(aws: None) -> None:
    sqs = boto3.client("sqs")
    url = queue_url(NAMES.dead_letter_queue(OTHER_QUEUE_FLOW))
    for number in range(23):
        sqs.send_message(QueueUrl=url, MessageBody=bus_event("RightsChanged", {"schema_version": 1, "product_id": number, "rights_hash": "r"}, f"e{number}"))
    result = run_cli("dlq", "list", "--flow", OTHER_QUEUE_FLOW, "--json")
    assert len(result.json()["messages"]) == 23
    assert len({m["message_id"] for m in result.json()["messages"]}) == 23
    assert visible_count(NAMES.dead_letter_queue(OTHER_QUEUE_FLOW)) == 23


def test_dlq_list_reports_queues_missing_from_the_deployment(aws: None) -> None:
    result = run_cli("dlq", "list")
    assert result.code == EXIT_OK
    assert "0 dead-lettered message(s)" in result.out
    assert NAMES.dead_letter_queue("consonance-writeback") in result.out  # not created in this test
    assert run_cli("dlq", "list", "--flow", "consonance-writeback").code == EXIT_NOT_FOUND


@pytest.mark.parametrize("flow_name", ["no-such-flow", "webhook-ingest"])
def test_dlq_list_of_a_flow_without_a_dead_letter_queue_is_a_usage_error(aws: None, flow_name: str) -> None:
    result = run_cli("dlq", "list", "--flow", flow_name)
    assert result.code == EXIT_USAGE
    assert flow_name in result.err


# --- dlq redrive ---------------------------------------------------------------------------------


def test_redrive_moves_every_message_back_without_the_reason_attributes(aws: None) -> None:
    seed_dead_letters()
    result = run_cli("dlq", "redrive", QUEUE_FLOW)
    assert result.code == EXIT_OK, result.err
    assert f"moved 2 message(s) to {NAMES.queue(QUEUE_FLOW)}" in result.out
    assert REASON in result.out and dead_letter_queues.SQS_REDRIVE_REASON in result.out  # the record of what was replayed
    assert drain(NAMES.dead_letter_queue(QUEUE_FLOW)) == []
    back = drain(NAMES.queue(QUEUE_FLOW))
    assert sorted(m["Body"] for m in back) == sorted([HANDLER_BODY, REDRIVEN_BODY])
    assert all("MessageAttributes" not in m for m in back)
    assert visible_count(NAMES.dead_letter_queue(OTHER_QUEUE_FLOW)) == 1  # other flows untouched


def test_redrive_dry_run_moves_nothing(aws: None) -> None:
    seed_dead_letters()
    result = run_cli("dlq", "redrive", QUEUE_FLOW, "--dry-run", "--json")
    assert result.code == EXIT_OK
    document = result.json()
    assert document["dry_run"] is True and len(document["moved"]) == 2 and document["left_in_place"] == 2
    assert {m["origin"] for m in document["moved_messages"]} == {"handler", "sqs-redrive"}
    assert visible_count(NAMES.dead_letter_queue(QUEUE_FLOW)) == 2
    assert visible_count(NAMES.queue(QUEUE_FLOW)) == 0


def test_redrive_limit_moves_at_most_n(aws: None) -> None:
    seed_dead_letters()
    result = run_cli("dlq", "redrive", QUEUE_FLOW, "--limit", "1", "--json")
    assert result.code == EXIT_OK
    assert len(result.json()["moved"]) == 1
    assert visible_count(NAMES.dead_letter_queue(QUEUE_FLOW)) == 1
    assert len(drain(NAMES.queue(QUEUE_FLOW))) == 1


def test_redrive_keeps_a_message_whose_send_failed(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_dead_letters()
    real_client = boto3.client

    def client_whose_send_fails(service: str, *args: Any, **kwargs: Any) -> Any:
        client = real_client(service, *args, **kwargs)
        if service == "sqs":
            def refuse(**_: Any) -> None:
                raise dead_letter_queues.ClientError({"Error": {"Code": "KMS.DisabledException", "Message": "key disabled"}}, "SendMessage")

            client.send_message = refuse
        return client

    monkeypatch.setattr(boto3, "client", client_whose_send_fails)
    result = run_cli("dlq", "redrive", QUEUE_FLOW)
    assert result.code == EXIT_AWS_FAILED
    assert "2 failed and stay in the DLQ" in result.out
    monkeypatch.setattr(boto3, "client", real_client)
    assert visible_count(NAMES.dead_letter_queue(QUEUE_FLOW)) == 2  # nothing lost, visible again at once


def test_redrive_of_a_scheduled_flow_without_a_function_leaves_it_to_the_next_run(aws: None) -> None:
    seed_scheduled_failure()
    result = run_cli("dlq", "redrive", SCHEDULED_FLOW)
    assert result.code == EXIT_OK
    assert "1 message(s) left in the DLQ" in result.out and "next scheduled run" in result.out
    assert visible_count(NAMES.dead_letter_queue(SCHEDULED_FLOW)) == 1


def test_redrive_of_a_scheduled_flow_invokes_its_function_asynchronously(aws: None) -> None:
    body = seed_scheduled_failure()
    create_function(NAMES.function(SCHEDULED_FLOW))
    result = run_cli("dlq", "redrive", SCHEDULED_FLOW, "--json")
    assert result.code == EXIT_OK, result.err
    assert len(result.json()["moved"]) == 1 and result.json()["target"] == NAMES.function(SCHEDULED_FLOW)
    assert visible_count(NAMES.dead_letter_queue(SCHEDULED_FLOW)) == 0

    # what exactly was invoked, seen through a recording Lambda client
    seed_scheduled_failure()
    invocations: list[dict[str, Any]] = []

    class RecordingLambda:
        def get_function(self, **arguments: Any) -> dict[str, Any]:
            return {"Configuration": {"FunctionName": arguments["FunctionName"]}}

        def invoke(self, **arguments: Any) -> dict[str, Any]:
            invocations.append(arguments)
            return {"StatusCode": 202}

    moved = dead_letter_queues.redrive_to_function(boto3.client("sqs"), RecordingLambda(), NAMES, SCHEDULED_FLOW, dry_run=False, limit=None)
    assert len(moved.moved) == 1
    assert invocations == [{"FunctionName": NAMES.function(SCHEDULED_FLOW), "InvocationType": "Event", "Payload": body.encode()}]


def create_function(name: str) -> None:
    role = boto3.client("iam").create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        ),
    )["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("handler.py", "def handler(event, context):\n    return event\n")
    boto3.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler", Code={"ZipFile": archive.getvalue()}
    )


def test_redrive_of_an_http_flow_is_a_usage_error(aws: None) -> None:
    assert run_cli("dlq", "redrive", "webhook-ingest").code == EXIT_USAGE


# --- availability --------------------------------------------------------------------------------


def test_availability_by_product_id_shows_where_live_why_stopped_and_ledger_status(aws: None) -> None:
    seed_ledger()
    seed_availability()
    result = run_cli("availability", str(PRODUCT_ID))
    assert result.code == EXIT_OK, result.err
    out = result.out
    assert "The Lighthouse Keeper, Part 1" in out
    assert "Live in: megaphone all territories, spotify GB" in out
    us_row = next(line for line in out.splitlines() if line.split()[:2] == ["spotify", "US"])
    assert "takedown notice: rights dispute" in us_row and "2025-03-01T00:00:00+00:00" in us_row and " yes " in us_row
    assert "Ledger status: withdrawn — narration licence expired 2025-03-01" in out
    assert "rights_window_closed: narration licence expired" in out
    assert "step-8" in out and "step-4" in out and "step-3" not in out  # the last five history entries


def test_availability_by_isbn_uses_the_index_and_gives_json(aws: None) -> None:
    seed_ledger()
    seed_availability()
    result = run_cli("availability", "978-1-234-56789-7", "--json")
    assert result.code == EXIT_OK, result.err
    (episode,) = result.json()["episodes"]
    assert episode["product_id"] == PRODUCT_ID
    assert episode["looked_up_by"] == f"ISBN {ISBN}"
    assert episode["live_in"] == ["megaphone:*", "spotify:GB"]
    stopped = next(record for record in episode["availability"] if record["territory"] == "US")
    assert (stopped["live"], stopped["reason"], stopped["source"], stopped["taken_down"]) == (False, "takedown notice: rights dispute", "webhook", True)
    assert stopped["since"].startswith("2025-01-10") and stopped["stopped_at"].startswith("2025-03-01")
    assert episode["ledger"]["status"] == "withdrawn"
    assert len(episode["ledger"]["history"]) == 5


def test_availability_of_a_product_known_only_to_the_ledger(aws: None) -> None:
    seed_ledger()
    result = run_cli("availability", str(PRODUCT_ID))
    assert result.code == EXIT_OK
    assert "Live in: nowhere" in result.out and "No availability recorded yet" in result.out


@pytest.mark.parametrize("lookup", ["123456", "9780000000002"])
def test_availability_not_found(aws: None, lookup: str) -> None:
    result = run_cli("availability", lookup)
    assert result.code == EXIT_NOT_FOUND
    assert "not found" in result.err


def test_a_prefix_without_a_deployment_is_not_found(aws: None) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["--prefix", "elsewhere", "availability", str(PRODUCT_ID)], stdout=out, stderr=err) == EXIT_NOT_FOUND
    assert "--prefix" in err.getvalue()


def test_availability_of_something_that_is_neither_id_nor_isbn_is_a_usage_error(aws: None) -> None:
    assert run_cli("availability", "lighthouse").code == EXIT_USAGE


# --- plan ------------------------------------------------------------------------------------------


def test_plan_prints_what_the_planner_decides(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_ledger()
    calls: list[dict[str, Any]] = []

    def plan_changes(
        ledger: SyncLedger, config: Any, today: date, rights_check: Any, product_ids: Any = None, preflight: Any = None
    ) -> list[planning.PlannedChange]:
        assert callable(rights_check)  # the publisher's clearance check
        assert preflight is not None and preflight.settings.artwork_min_side == 1400  # the deployed pre-flight, dry run
        calls.append({"table": ledger.table_name, "today": today, "product_ids": product_ids, "podcasts": dict(config.podcasts)})
        return [
            planning.PlannedChange(
                product_id=PRODUCT_ID,
                title="The Lighthouse Keeper, Part 1",
                current_status="delivered",
                action="update",
                reason="approved and cleared",
                changed_fields=["title", "summary"],
            ),
            planning.PlannedChange(product_id=9102, title="Part 2", current_status="held", action="none", reason="release date 2025-04-01"),
        ]

    monkeypatch.setattr(planning, "plan_changes", plan_changes)
    monkeypatch.setenv("MEGAPHONE_PODCASTS", '{"7": "podcast-from-env"}')
    result = run_cli("plan", "--today", "2025-03-03")
    assert result.code == EXIT_OK, result.err
    assert calls == [{"table": NAMES.table(Table.LEDGER), "today": date(2025, 3, 3), "product_ids": None, "podcasts": {"7": "podcast-from-env"}}]
    lines = result.out.splitlines()
    assert lines[0].split() == ["PRODUCT", "TITLE", "STATUS", "ACTION", "CHANGED", "FIELDS", "REASON"]
    assert "title, summary" in result.out and "release date 2025-04-01" in result.out
    assert "1 of 2 product(s) would change on the next sync (as of 2025-03-03)" in result.out

    as_json = run_cli("plan", "--product", str(PRODUCT_ID), "--today", "2025-03-03", "--json")
    assert as_json.code == EXIT_OK
    assert calls[-1]["product_ids"] == [PRODUCT_ID]
    assert as_json.json()["changes"][0]["changed_fields"] == ["title", "summary"]


def test_plan_runs_the_real_planner_over_the_ledger_without_writing(aws: None) -> None:
    seed_ledger()
    before = boto3.client("dynamodb").scan(TableName=NAMES.table(Table.LEDGER))["Items"]
    result = run_cli("plan", "--product", str(PRODUCT_ID), "--today", "2025-03-03", "--json")
    assert result.code == EXIT_OK, result.err
    (change,) = result.json()["changes"]
    assert change["product_id"] == PRODUCT_ID and change["title"] == "The Lighthouse Keeper, Part 1"
    assert change["action"] in {"create", "update", "publish", "withdraw", "hold", "none"}
    assert change["reason"]
    assert boto3.client("dynamodb").scan(TableName=NAMES.table(Table.LEDGER))["Items"] == before


def test_plan_for_an_unknown_product_is_not_found(aws: None) -> None:
    result = run_cli("plan", "--product", "5555")
    assert result.code == EXIT_NOT_FOUND
    assert "5555" in result.err


# --- usage -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [[], ["dlq"], ["dlq", "redrive"], ["dlq", "redrive", QUEUE_FLOW, "--limit", "0"], ["plan", "--today", "tomorrow"], ["teleport"]],
)
def test_usage_errors_exit_2(arguments: list[str]) -> None:
    assert run_cli(*arguments).code == EXIT_USAGE


def test_an_invalid_prefix_is_a_usage_error() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["--prefix", "Not_A_Prefix", "dlq", "list"], stdout=out, stderr=err) == EXIT_USAGE
    assert "prefix" in err.getvalue()


def test_every_flow_with_a_dead_letter_queue_is_listed(aws: None) -> None:
    queues = run_cli("dlq", "list", "--json").json()["queues"]
    assert [q["flow"] for q in queues] == [d.name for d in FLOWS if dead_letter_queues.has_dead_letter_queue(d)]


def test_the_cli_runs_as_a_module_without_loading_cdk() -> None:
    """`python -m infra.ops` must start fast and work where only boto3 is installed."""
    probe = "import sys, infra.ops.__main__; print(sorted({m.split('.')[0] for m in sys.modules} & {'aws_cdk', 'constructs', 'cdk_nag'}))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
    usage = subprocess.run([sys.executable, "-m", "infra.ops", "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert usage.returncode == 0 and "dlq" in usage.stdout and "availability" in usage.stdout and "plan" in usage.stdout
