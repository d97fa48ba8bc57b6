"""The local runtime delivers to handlers as Lambda does: EventBridge rule -> SQS -> batch in Lambda's
event shape, partial batch failures, redelivery after the visibility timeout, dead letters with their
reason (or by SQS's redrive), crashes, timeouts, and schedules on the virtual clock."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from aws_lambda_powertools.utilities.data_classes import SQSEvent

from functions.event_bus import EventBus
from infra.flows import Secret, Table
from sandbox.http_log import RequestLog, read_request_log
from sandbox.moto_server import MotoServer
from sandbox.resources import create_resources
from sandbox.runtime import FlowStats, LocalRuntime, SimulatedCrash
from tests.sandbox import sample_flows
from tests.sandbox.deployments import START, BuildRuntime, deploy
from tests.sandbox.sample_flows import (
    DIRECT,
    FLAKY,
    HOURLY,
    ORDERS,
    OVERSLEEPER,
    PROBE,
    PROBE_DETAIL_TYPE,
    PRODUCER,
    QUARTER_HOURLY_SLEEPER,
    SAMPLE_API_HOST,
    SAMPLE_SECRET,
    SENDER,
    SampleOrderPlaced,
)


def publish(runtime: LocalRuntime, *orders: tuple[str, str]) -> None:
    bus = EventBus(runtime.resources.event_bus_name, runtime.resources.event_source)
    bus.publish([SampleOrderPlaced(order_id=order_id, behaviour=behaviour) for order_id, behaviour in orders])


def put_probe(runtime: LocalRuntime, *details: dict[str, Any], detail_type: str = PROBE_DETAIL_TYPE) -> None:
    boto3.client("events").put_events(
        Entries=[
            {
                "EventBusName": runtime.resources.event_bus_name,
                "Source": runtime.resources.event_source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
            }
            for detail in details
        ]
    )


def receive_counts(order_id: str) -> list[int]:
    return [delivery.receive_count for delivery in sample_flows.WORLD.deliveries if delivery.order_id == order_id]


def delivery_times(order_id: str) -> list[datetime]:
    return [delivery.at for delivery in sample_flows.WORLD.deliveries if delivery.order_id == order_id]


def queue_depth(queue_url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def assert_queue_arithmetic(stats: FlowStats) -> None:
    assert stats.delivered == stats.acknowledged + stats.retried


# delivery shape -----------------------------------------------------------------------------------
def test_bus_events_reach_the_handler_through_rule_and_queue_in_lambdas_sqs_event_shape(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((PROBE, ORDERS))
    wiring = runtime.resources.queues["sample-probe"]
    put_probe(runtime, {"probe": 1})
    put_probe(runtime, {"probe": 2}, detail_type="NotRouted")
    boto3.client("sqs").send_message(
        QueueUrl=wiring.queue_url,
        MessageBody="sent directly",
        MessageAttributes={"origin": {"DataType": "String", "StringValue": "test"}},
    )

    runtime.run_due()

    records = [record for event in sample_flows.WORLD.probe_events for record in event["Records"]]
    assert len(records) == 2, "the detail-type outside the rule's pattern is not routed"
    from_bus = next(record for record in records if record["body"] != "sent directly")
    assert set(from_bus) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert set(from_bus["attributes"]) == {"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
    assert from_bus["attributes"]["ApproximateReceiveCount"] == "1"
    assert from_bus["eventSource"] == "aws:sqs"
    assert from_bus["eventSourceARN"] == wiring.queue_arn
    assert from_bus["awsRegion"] == "eu-west-1"
    assert from_bus["md5OfBody"] == hashlib.md5(from_bus["body"].encode()).hexdigest()
    assert from_bus["messageAttributes"] == {}
    envelope = json.loads(from_bus["body"])
    assert (envelope["source"], envelope["detail-type"], envelope["detail"]) == (runtime.resources.event_source, PROBE_DETAIL_TYPE, {"probe": 1})

    direct = next(record for record in records if record["body"] == "sent directly")
    assert direct["messageAttributes"] == {
        "origin": {"stringValue": "test", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }
    assert "md5OfMessageAttributes" in direct
    parsed = SQSEvent(sample_flows.WORLD.probe_events[0])  # Powertools reads the shape
    assert all(record.attributes.approximate_receive_count == "1" for record in parsed.records)

    context = sample_flows.WORLD.probe_contexts[0]
    assert context["function_name"] == runtime.resources.function_name("sample-probe")
    assert context["invoked_function_arn"].endswith(":function:" + runtime.resources.function_name("sample-probe"))
    assert context["memory_limit_in_mb"] == PROBE.memory_mb
    assert context["remaining_ms"] == PROBE.timeout_seconds * 1000  # no virtual time has passed

    environment = sample_flows.WORLD.probe_environments[0]
    assert environment == {
        "DEAD_LETTER_QUEUE_URL": wiring.dead_letter_queue_url,
        "MAX_RECEIVES": "2",
        "POWERTOOLS_SERVICE_NAME": "sample-probe",
        "LEDGER_TABLE": runtime.resources.tables[Table.LEDGER],
        "CURSORS_TABLE": None,  # not declared by the flow: not granted
        "EVENT_BUS_NAME": runtime.resources.event_bus_name,
        "EVENT_SOURCE": runtime.resources.event_source,
    }
    stats = runtime.stats()["sample-probe"]
    assert (stats.delivered, stats.succeeded, stats.retried, stats.dead_lettered) == (2, 2, 0, 0)
    assert queue_depth(wiring.queue_url) == 0


def test_each_invocation_sees_its_own_flows_settings(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((PROBE, ORDERS))
    for round_number in range(3):
        put_probe(runtime, {"probe": round_number})
        publish(runtime, (f"o{round_number}", "succeed"))
        runtime.run_for(minutes=1)
    seen = sample_flows.WORLD.dead_letter_urls_seen
    assert seen["sample-probe"] == {runtime.resources.queues["sample-probe"].dead_letter_queue_url}
    assert seen["sample-orders"] == {runtime.resources.queues["sample-orders"].dead_letter_queue_url}


def test_closing_the_runtime_restores_environment_and_clock(build_runtime: BuildRuntime) -> None:
    import functions.clock

    before_clock = functions.clock.clock()
    assert "DEAD_LETTER_QUEUE_URL" not in os.environ
    runtime = build_runtime((PROBE,))
    assert functions.clock.utcnow() == START
    runtime.invoke(PROBE, {"Records": []})
    assert os.environ["POWERTOOLS_SERVICE_NAME"] == "sample-probe"
    runtime.close()
    assert "DEAD_LETTER_QUEUE_URL" not in os.environ
    assert functions.clock.clock() is before_clock


# partial batch failures, redelivery and dead letters ----------------------------------------------
def test_partial_batch_failure_redelivers_only_the_failed_record_after_the_visibility_timeout(
    build_runtime: BuildRuntime,
) -> None:
    runtime = build_runtime((ORDERS,))
    publish(runtime, ("a", "succeed"), ("b", "fail_times:1"), ("c", "succeed"))

    runtime.run_due()
    assert sorted(sample_flows.WORLD.completed) == ["a", "c"]
    runtime.run_for(minutes=1)  # visibility timeout is 120 s: not yet
    assert receive_counts("b") == [1]
    runtime.run_for(minutes=1)

    assert receive_counts("a") == [1] and receive_counts("c") == [1]
    assert receive_counts("b") == [1, 2]
    assert delivery_times("b") == [START, START + timedelta(seconds=ORDERS.visibility_timeout_seconds)]
    assert sorted(sample_flows.WORLD.completed) == ["a", "b", "c"]
    stats = runtime.stats()["sample-orders"]
    assert (stats.invocations, stats.delivered, stats.succeeded, stats.retried, stats.dead_lettered) == (2, 4, 3, 1, 0)
    assert_queue_arithmetic(stats)
    assert [record.outcome for record in runtime.invocation_log] == ["partial", "succeeded"]


def test_a_record_failing_on_every_receive_is_dead_lettered_with_its_reason_on_the_last(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((ORDERS,))
    publish(runtime, ("x", "always_fail"), ("y", "succeed"))

    runtime.run_for(minutes=10)

    assert receive_counts("x") == [1, 2, 3]  # max_receives = 3
    (letter,) = runtime.dead_letters()
    assert letter.flow == "sample-orders"
    assert letter.dead_lettered_by == "handler"
    assert letter.error_code == "sample_unavailable"
    assert letter.reason.startswith("SampleUnavailable: order service unavailable for x")
    assert letter.receive_count == 3
    assert json.loads(letter.body)["detail"]["order_id"] == "x"
    stats = runtime.stats()["sample-orders"]
    assert (stats.delivered, stats.acknowledged, stats.succeeded, stats.retried) == (4, 2, 1, 2)
    assert (stats.dead_lettered, stats.moved_by_redrive) == (1, 0)
    assert_queue_arithmetic(stats)
    assert queue_depth(runtime.resources.queues["sample-orders"].queue_url) == 0


def test_a_permanent_error_goes_to_the_dead_letter_queue_at_once_while_the_rest_succeeds(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((ORDERS,))
    publish(runtime, ("p1", "succeed"), ("bad", "permanent"), ("p2", "succeed"))

    runtime.run_for(minutes=10)

    assert sorted(sample_flows.WORLD.completed) == ["p1", "p2"]
    assert receive_counts("bad") == [1]
    (letter,) = runtime.dead_letters()
    assert (letter.error_code, letter.receive_count, letter.dead_lettered_by) == ("invalid_record", 1, "handler")
    assert letter.reason == "InvalidRecord: order bad has no customer"
    stats = runtime.stats()["sample-orders"]
    assert (stats.invocations, stats.delivered, stats.succeeded, stats.retried, stats.dead_lettered) == (1, 3, 2, 0, 1)


def test_a_handler_that_raises_fails_the_whole_batch_until_sqs_redrive_moves_it(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((PROBE,))
    put_probe(runtime, {"explode": True}, {"probe": "innocent bystander"})

    runtime.run_for(minutes=15)

    batches = sample_flows.WORLD.probe_events
    # max_receives = 2; the queue's redrive is one receive later (a handler that cannot report gets one
    # more receive, on which the project's consumer dead-letters with a reason; this raw handler cannot)
    assert [len(batch["Records"]) for batch in batches] == [2, 2, 2]  # whole batch each time
    assert [record["attributes"]["ApproximateReceiveCount"] for record in batches[2]["Records"]] == ["3", "3"]
    letters = runtime.dead_letters()
    assert len(letters) == 2
    assert {letter.dead_lettered_by for letter in letters} == {"sqs-redrive"}
    assert {letter.reason for letter in letters} == {"moved by SQS redrive after 3 receives (no handler reason)"}
    stats = runtime.stats()["sample-probe"]
    assert (stats.invocations, stats.errors, stats.delivered, stats.retried, stats.succeeded) == (3, 3, 6, 6, 0)
    assert (stats.dead_lettered, stats.moved_by_redrive) == (2, 2)


def test_a_response_naming_a_message_outside_the_batch_fails_the_whole_batch(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((PROBE,))
    put_probe(runtime, {"answer": "unknown-id"})

    runtime.run_due()

    (record,) = runtime.invocation_log
    assert record.outcome == "malformed_response"
    stats = runtime.stats()["sample-probe"]
    assert (stats.retried, stats.errors, stats.acknowledged) == (1, 1, 0)


# crashes and timeouts ----------------------------------------------------------------------------
def test_simulated_crash_is_not_an_exception() -> None:
    assert issubclass(SimulatedCrash, BaseException) and not issubclass(SimulatedCrash, Exception)


def test_crashed_invocations_redeliver_the_whole_batch_and_sqs_redrive_ends_it(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((ORDERS,), crash_probability=1.0, seed=3)
    publish(runtime, ("c1", "call_api"), ("c2", "call_api"))

    runtime.run_for(minutes=15)

    # max_receives = 3: the last allowed receive crashed too, so each record comes back once more (the
    # queue's redrive is one receive later) and the consumer dead-letters it at once, with the reason
    assert receive_counts("c1") == [1, 2, 3, 4] and receive_counts("c2") == [1, 2, 3, 4]
    assert len(sample_flows.WORLD.api_requests) == 3  # each invocation died right after its first call
    assert sample_flows.WORLD.completed == []
    assert [record.outcome for record in runtime.invocation_log] == ["crash"] * 3 + ["succeeded"]
    letters = runtime.dead_letters()
    assert {letter.dead_lettered_by for letter in letters} == {"handler"} and len(letters) == 2
    assert {letter.error_code for letter in letters} == {"crashed_or_timed_out"}
    assert all("crashed or timed out on receive 3" in letter.reason for letter in letters)
    stats = runtime.stats()["sample-orders"]
    assert (stats.invocations, stats.crashes, stats.delivered, stats.retried, stats.succeeded) == (4, 3, 8, 6, 0)
    assert (stats.dead_lettered, stats.moved_by_redrive) == (2, 0)


def test_random_crashes_are_repeatable_for_a_seed(build_runtime: BuildRuntime) -> None:
    def play(seed: int) -> tuple[Any, ...]:
        sample_flows.reset_world()
        runtime = build_runtime((ORDERS,), crash_probability=0.3, seed=seed)
        publish(runtime, *[(f"r{number}", "call_api") for number in range(8)])
        runtime.run_for(hours=1)
        stats = runtime.stats()["sample-orders"]
        assert_queue_arithmetic(stats)
        assert stats.crashes > 0
        settled = set(sample_flows.WORLD.completed) | {json.loads(letter.body)["detail"]["order_id"] for letter in runtime.dead_letters()}
        assert settled == {f"r{number}" for number in range(8)}
        runtime.close()
        return (
            stats.invocations,
            stats.crashes,
            stats.delivered,
            stats.retried,
            stats.dead_lettered,
            len(sample_flows.WORLD.api_requests),
            [(d.order_id, d.receive_count, d.at) for d in sample_flows.WORLD.deliveries],
        )

    assert play(11) == play(11)


def test_an_invocation_past_its_timeout_fails_its_batch(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((ORDERS,))
    publish(runtime, ("s", "slow"))

    runtime.run_for(minutes=5)

    assert sample_flows.WORLD.remaining_after_sleep_ms == [0]
    assert receive_counts("s") == [1, 2]
    stats = runtime.stats()["sample-orders"]
    assert (stats.timeouts, stats.retried, stats.succeeded) == (1, 1, 1)
    assert [record.outcome for record in runtime.invocation_log] == ["timeout", "succeeded"]


# schedules ---------------------------------------------------------------------------------------
def scheduled_runs(flow: str) -> list[tuple[str, str, datetime]]:
    return [(event_id, event_time, now) for name, event_id, event_time, now in sample_flows.WORLD.schedule_runs if name == flow]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_schedules_fire_at_their_virtual_times_over_two_days_in_little_wall_time(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((HOURLY, QUARTER_HOURLY_SLEEPER))

    started = time.perf_counter()
    runtime.run_for(days=2)
    elapsed = time.perf_counter() - started

    hourly = scheduled_runs("sample-hourly")
    expected_hours = [START + timedelta(hours=hour) for hour in range(1, 49)]
    assert [event_time for _, event_time, _ in hourly] == [iso(moment) for moment in expected_hours]
    assert [now for _, _, now in hourly] == expected_hours
    quarters = scheduled_runs("sample-quarter-hourly")
    expected_quarters = [START + timedelta(minutes=15 * slot) for slot in range(1, 193)]
    assert [event_time for _, event_time, _ in quarters] == [iso(moment) for moment in expected_quarters]
    assert [now for _, _, now in quarters] == expected_quarters  # its 7-minute sleeps never shift a slot
    assert len({event_id for event_id, _, _ in hourly + quarters}) == 48 + 192
    assert runtime.clock.now() >= START + timedelta(days=2)
    stats = runtime.stats()
    assert (stats["sample-hourly"].scheduled_runs, stats["sample-hourly"].succeeded) == (48, 48)
    assert (stats["sample-quarter-hourly"].scheduled_runs, stats["sample-quarter-hourly"].skipped_slots) == (192, 0)
    assert elapsed < 5.0, f"two virtual days took {elapsed:.1f} s of wall time"


def test_scheduled_event_has_eventbridges_shape(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((HOURLY,))

    runtime.run_for(hours=1)

    (event,) = sample_flows.WORLD.schedule_events
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert (event["version"], event["detail-type"], event["source"], event["detail"]) == ("0", "Scheduled Event", "aws.events", {})
    assert event["resources"] == [runtime.resources.schedules["sample-hourly"].rule_arn]
    assert (event["account"], event["region"]) == (runtime.resources.account, "eu-west-1")


def test_schedule_slots_follow_the_clock_when_a_handler_sleeps_past_them(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((OVERSLEEPER,))

    runtime.run_for(minutes=90)  # every 10 minutes, but each run sleeps 25

    runs = scheduled_runs("sample-oversleeper")
    # Each run starts at the first tick after the previous one woke, for the latest slot passed.
    assert [now for _, _, now in runs] == [START + timedelta(minutes=m) for m in (10, 36, 62, 88)]
    assert [event_time for _, event_time, _ in runs] == [iso(START + timedelta(minutes=m)) for m in (10, 30, 60, 80)]
    stats = runtime.stats()["sample-oversleeper"]
    assert (stats.scheduled_runs, stats.skipped_slots) == (4, 4)


def test_a_failed_scheduled_invocation_is_retried_twice_like_lambda_async_invocations(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((FLAKY,))
    sample_flows.WORLD.flaky_failures_left = 4

    runtime.run_for(hours=2, minutes=30)

    runs = scheduled_runs("sample-flaky")
    minutes = [int((now - START).total_seconds() // 60) for _, _, now in runs]
    assert minutes == [60, 61, 63, 120, 121]  # 1 then 2 minutes between attempts; the first hour gives up
    assert [event_time for _, event_time, _ in runs] == [iso(START + timedelta(hours=1))] * 3 + [iso(START + timedelta(hours=2))] * 2
    assert len({event_id for event_id, _, _ in runs[:3]}) == 1, "a retry re-sends the same event"
    stats = runtime.stats()["sample-flaky"]
    assert (stats.scheduled_runs, stats.delivered, stats.succeeded, stats.retried, stats.failed_runs) == (2, 5, 1, 3, 1)
    assert stats.errors == 4
    assert stats.delivered == stats.succeeded + stats.retried + stats.failed_runs


def test_a_scheduled_producer_feeds_a_queue_flow_through_the_bus(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((PRODUCER, ORDERS))

    runtime.run_for(hours=2)

    assert [(d.order_id, d.receive_count, d.at) for d in sample_flows.WORLD.deliveries] == [
        (f"produced-{number}", 1, START + timedelta(minutes=30 * number)) for number in range(1, 5)
    ]
    environment = sample_flows.WORLD.producer_environment
    assert environment["EVENT_BUS_NAME"] == runtime.resources.event_bus_name
    assert "DEAD_LETTER_QUEUE_URL" not in environment and "MAX_RECEIVES" not in environment
    stats = runtime.stats()
    assert (stats["sample-producer"].succeeded, stats["sample-orders"].succeeded) == (4, 4)


def test_before_tick_hooks_see_every_tick_once(build_runtime: BuildRuntime) -> None:
    seen: list[datetime] = []
    runtime = build_runtime((HOURLY,), before_tick=[seen.append])

    runtime.run_for(minutes=3)
    runtime.run_for(minutes=2)

    assert seen == [START + timedelta(minutes=minute) for minute in range(6)]


# request log -------------------------------------------------------------------------------------
def test_request_log_records_each_request_with_secrets_redacted(build_runtime: BuildRuntime, tmp_path: Path) -> None:
    runtime = build_runtime((ORDERS,))
    log_path = tmp_path / "http.jsonl"
    with RequestLog(log_path, secret_values=[SAMPLE_SECRET]) as log:
        publish(runtime, ("h1", "call_api"), ("h2", "leaky_call_api"))
        runtime.run_for(minutes=1)

    assert sample_flows.WORLD.api_requests[0].headers["authorization"] == f"Bearer {SAMPLE_SECRET}"  # it was sent
    entries = read_request_log(log_path)
    assert len(entries) == log.records_written == 2
    first = entries[0]
    assert (first["service"], first["method"], first["url"], first["status"]) == ("sample", "POST", f"https://{SAMPLE_API_HOST}/v1/orders", 201)
    assert first["virtual_time"] == START.isoformat()
    assert first["request_headers"]["authorization"] == "[redacted]"
    assert first["request_body"] == {"order_id": "h1"}
    assert "token=[redacted]" in entries[1]["url"]
    assert log.secret_redactions == 1  # the leak in the query string, found by the scan
    assert SAMPLE_SECRET not in log_path.read_text()

    with RequestLog(log_path, secret_values=[SAMPLE_SECRET]):  # a second run: its own requests only
        publish(runtime, ("h3", "call_api"))
        runtime.run_for(minutes=1)
    assert [entry["request_body"] for entry in read_request_log(log_path)] == [{"order_id": "h3"}]


# resources ---------------------------------------------------------------------------------------
def test_resources_follow_the_declarations(moto_server: MotoServer) -> None:
    resources = deploy((ORDERS, HOURLY), extra_environment={"MEGAPHONE_URL": "https://megaphone.simulated"})
    sqs, events, dynamodb = boto3.client("sqs"), boto3.client("events"), boto3.client("dynamodb")

    wiring = resources.queues["sample-orders"]
    attributes = sqs.get_queue_attributes(QueueUrl=wiring.queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == str(ORDERS.visibility_timeout_seconds)
    # one receive beyond max_receives (3): see functions/sqs_batch.py
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": wiring.dead_letter_queue_arn, "maxReceiveCount": 4}
    rule = events.describe_rule(Name=wiring.rule_name, EventBusName=resources.event_bus_name)
    assert json.loads(rule["EventPattern"]) == {"source": [resources.event_source], "detail-type": ["SampleOrderPlaced"]}
    (target,) = events.list_targets_by_rule(Rule=wiring.rule_name, EventBusName=resources.event_bus_name)["Targets"]
    assert target["Arn"] == wiring.queue_arn
    schedule = events.describe_rule(Name=resources.schedules["sample-hourly"].rule_name)
    assert schedule["ScheduleExpression"] == "rate(60 minutes)"

    ledger = dynamodb.describe_table(TableName=resources.tables[Table.LEDGER])["Table"]
    assert [(key["AttributeName"], key["KeyType"]) for key in ledger["KeySchema"]] == [("pk", "HASH"), ("sk", "RANGE")]
    assert {(index["IndexName"], index["Projection"]["ProjectionType"]) for index in ledger["GlobalSecondaryIndexes"]} == {
        ("by-series", "ALL"),
        ("by-status", "ALL"),
    }
    ttl = dynamodb.describe_time_to_live(TableName=resources.tables[Table.CURSORS])["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")

    secret_id = resources.secret_ids[Secret.MEGAPHONE]
    assert secret_id == f"{resources.prefix}/megaphone-token"
    assert boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"] == SAMPLE_SECRET
    assert SAMPLE_SECRET not in json.dumps(resources.as_dict()) and SAMPLE_SECRET not in repr(resources)

    assert resources.environments["sample-orders"] == {
        "MEGAPHONE_URL": "https://megaphone.simulated",
        "POWERTOOLS_SERVICE_NAME": "sample-orders",
        "POWERTOOLS_METRICS_NAMESPACE": "ConsonanceSpotify",
        "EVENT_BUS_NAME": resources.event_bus_name,
        "EVENT_SOURCE": resources.event_source,
        "MEGAPHONE_SECRET_ID": secret_id,
        "DEAD_LETTER_QUEUE_URL": wiring.dead_letter_queue_url,
        "MAX_RECEIVES": "3",
    }
    assert "DEAD_LETTER_QUEUE_URL" not in resources.environments["sample-hourly"]


def test_resources_refuse_a_declared_secret_without_a_sandbox_value(moto_server: MotoServer) -> None:
    with pytest.raises(ValueError, match="megaphone"):
        create_resources((ORDERS,), secret_values={}, prefix="no-secrets")


def test_moto_server_points_the_environment_at_itself_and_restores_it(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "someone-real")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "https://sqs.elsewhere.invalid")
    before = dict(os.environ)

    with MotoServer() as inner:
        assert os.environ["AWS_ENDPOINT_URL"] == inner.endpoint_url != moto_server.endpoint_url
        assert "AWS_PROFILE" not in os.environ and "AWS_ENDPOINT_URL_SQS" not in os.environ
        client = boto3.client("sqs")  # built after the start: reaches the inner server
        assert client.meta.endpoint_url == inner.endpoint_url
        client.list_queues()

    assert dict(os.environ) == before


# message delays ----------------------------------------------------------------------------------
def test_a_delayed_message_is_delivered_when_its_delay_has_passed_in_virtual_time(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((SENDER, DIRECT))
    queue_url = runtime.resources.queues[DIRECT.name].queue_url
    attributes = {"origin": {"DataType": "String", "StringValue": "sender"}}
    requests_before = runtime.access.requests_by_flow[SENDER.name]

    answer = runtime.invoke(
        SENDER,
        {"service": "sqs", "operation": "send_message", "params": {"QueueUrl": queue_url, "MessageBody": '{"probe": 1}', "DelaySeconds": 150, "MessageAttributes": attributes}},
    )
    assert answer["allowed"] is True
    assert runtime.access.requests_by_flow[SENDER.name] == requests_before + 1  # the held send is the sender's request

    runtime.run_until(START + timedelta(seconds=149))
    assert [r for r in runtime.invocation_log if r.flow == DIRECT.name] == []  # not before its delay (not at a tick either)

    runtime.run_until(START + timedelta(minutes=5))
    [delivered] = [r for r in runtime.invocation_log if r.flow == DIRECT.name]
    assert delivered.started_at == START + timedelta(seconds=150)
    [record] = sample_flows.WORLD.probe_events[-1]["Records"]
    assert record["body"] == '{"probe": 1}' and record["attributes"]["ApproximateReceiveCount"] == "1"
    # the answer the sender got carries SQS's checksums of what was finally delivered
    assert answer["response"]["MD5OfMessageBody"] == record["md5OfBody"]
    assert answer["response"]["MD5OfMessageAttributes"] == record["md5OfMessageAttributes"]


def test_delayed_messages_of_a_batch_fall_due_each_at_its_own_delay(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((DIRECT,))
    queue_url = runtime.resources.queues[DIRECT.name].queue_url
    entries = [{"Id": str(delay), "MessageBody": json.dumps({"delay": delay}), "DelaySeconds": delay} for delay in (0, 60, 900)]
    sqs = boto3.session.Session().client("sqs")  # a session made after the runtime: its calls are the runtime's to hold
    sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    assert sorted(entry["Id"] for entry in sent["Successful"]) == ["0", "60", "900"] and not sent.get("Failed")

    runtime.run_until(START + timedelta(minutes=20))

    delivered = {
        json.loads(record["body"])["delay"]: runtime_record.started_at
        for runtime_record, event in zip([r for r in runtime.invocation_log if r.flow == DIRECT.name], sample_flows.WORLD.probe_events, strict=True)
        for record in event["Records"]
    }
    assert delivered == {delay: START + timedelta(seconds=delay) for delay in (0, 60, 900)}


def test_a_delay_sqs_refuses_is_refused(build_runtime: BuildRuntime) -> None:
    runtime = build_runtime((DIRECT,))
    with pytest.raises(ClientError) as refused:
        sqs = boto3.session.Session().client("sqs")
        sqs.send_message(QueueUrl=runtime.resources.queues[DIRECT.name].queue_url, MessageBody="x", DelaySeconds=901)
    assert "DelaySeconds" in str(refused.value)
    assert runtime.delayed.held == []


def test_request_log_finds_secrets_that_json_escapes_anywhere_in_an_entry(tmp_path: Path) -> None:
    """The log looks for each secret in the encoded line (scrubbing string by string only when one is
    there): a secret with characters JSON escapes (quotes, backslashes, non-ASCII) is found in a body,
    a header, a key and an error alike; an entry without one is written as it is."""
    from functions.connectors.http import HttpExchange

    secret = 'pa"ss\\wörd'
    exchange = HttpExchange(
        service="sample",
        method="POST",
        url="https://api.example/v1?q=1",
        status=200,
        virtual_time=START.isoformat(),
        request_headers={"x-trace": f"t {secret}"},
        request_body={"note": f"leaked {secret}!", secret: [1, {"deep": secret}]},
        error=f"boom: {secret}",
    )
    clean = dataclasses.replace(exchange, request_headers={"x-trace": "t"}, request_body={"note": "ok", "n": [1, 2.5, None]}, error=None)
    log_path = tmp_path / "http.jsonl"
    with RequestLog(log_path, secret_values=[secret]) as log:
        log.record(exchange)
        log.record(clean)

    leaked, kept = read_request_log(log_path)
    assert log.secret_redactions == 5
    assert leaked["request_headers"]["x-trace"] == "t [redacted]"
    assert leaked["request_body"] == {"note": "leaked [redacted]!", "[redacted]": [1, {"deep": "[redacted]"}]}
    assert leaked["error"] == "boom: [redacted]"
    assert kept["request_body"] == {"note": "ok", "n": [1, 2.5, None]} and kept["error"] is None
    assert secret not in log_path.read_text(encoding="utf-8")
