"""The bench's in-process AWS and moto speed-ups answer exactly what moto answers without them."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any
from unittest import mock

import boto3
import pytest

from bench.aws import InProcessAws, fast_body, fast_dynamodb_json, moto_speedups, moto_sqs_and_events_speedups
from functions.clock import clock, use_clock
from functions.state.keys import episode_key, series_key
from functions.state.ledger import SyncLedger, new_entry
from functions.state.targets import MEGAPHONE
from functions.state.targets import LedgerStatus
from infra.tables import TABLES, TableSpec
from sandbox.clock import VirtualClock
from sandbox.moto_speedups import access_key_search_prechecked, cheaper_request_id_strings, json_requests_converted
from sandbox.resources import _create_table
from tests.moto_parameters import ParameterComparisons


@pytest.fixture
def aws() -> Iterator[InProcessAws]:
    with InProcessAws() as in_process:
        yield in_process


def test_fast_body_only_for_plain_json() -> None:
    assert json.loads(fast_body({"Items": [{"pk": {"S": "a"}}], "Count": 1}) or "") == {"Items": [{"pk": {"S": "a"}}], "Count": 1}
    assert fast_body({"Item": {"b": {"B": b"\x00"}}}) is None  # binary: moto's serializer encodes it


def test_in_process_aws_points_the_environment_at_the_mock_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_PROFILE", "someone")
    with InProcessAws() as in_process:
        assert "AWS_ENDPOINT_URL" not in os.environ and "AWS_PROFILE" not in os.environ
        assert os.environ["AWS_DEFAULT_REGION"] == in_process.region
        boto3.client("sqs").create_queue(QueueName="q")
        in_process.reset_state()
        assert boto3.client("sqs").list_queues().get("QueueUrls", []) == []
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1" and os.environ["AWS_PROFILE"] == "someone"


def test_in_process_aws_shows_the_world_which_queues_hold_messages(aws: InProcessAws) -> None:
    """The world asks its AWS (the moto server, or this in the bench) which queues an idle poll need
    receive from; both read moto's backend in this process."""
    sqs = boto3.client("sqs")
    holding, empty = (sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("holding", "empty"))
    sqs.send_message(QueueUrl=holding, MessageBody="{}")
    assert aws.queues_holding_messages([holding, empty]) == {holding}


def test_fast_dynamodb_json_equals_the_serializer_for_ledger_traffic(aws: InProcessAws) -> None:
    compared: list[str] = []
    different: list[str] = []

    def compare(operation: str, fast: str, serialized: str) -> None:
        compared.append(operation)
        if json.loads(fast) != json.loads(serialized):
            different.append(f"{operation}: {fast[:200]} != {serialized[:200]}")

    with _ledger_table() as table, fast_dynamodb_json(compare):
        _ledger_traffic(table)
    assert set(compared) >= {"PutItem", "GetItem", "BatchGetItem", "Query", "Scan", "UpdateItem"}
    assert different == []


def test_converted_dynamodb_requests_are_what_moto_parses_for_ledger_traffic(aws: InProcessAws) -> None:
    """mock_aws's requests (the bench's) are converted too; their parameters are moto's."""
    comparisons = ParameterComparisons()
    with _ledger_table() as table, json_requests_converted(comparisons):
        _ledger_traffic(table)
    assert set(comparisons.compared) >= {"PutItem", "GetItem", "BatchGetItem", "Query", "Scan", "UpdateItem"}
    assert comparisons.different == []


@contextmanager
def _ledger_table() -> Iterator[str]:
    """A ledger table, in virtual time while it is used."""
    spec: TableSpec = next(s for s in TABLES if s.table.value == "ledger")
    table = _create_table(spec, "bench-ledger")
    previous = clock()
    use_clock(VirtualClock(datetime(2027, 3, 1, tzinfo=timezone.utc)))
    try:
        yield table
    finally:
        use_clock(previous)


def _ledger_traffic(table: str) -> None:
    """The ledger's kinds of DynamoDB calls: saves (puts, then conditional updates), reads by key, batch
    reads, index queries, a scan and a counter update."""
    ledger = SyncLedger(table)
    for n in range(12):
        entry = new_entry(episode_key(n), MEGAPHONE)
        entry.series_key = "series#1"
        entry.state.draft, entry.state.episode_id, entry.state.spotify_id = False, f"ep-{n}", None
        entry.record("created", "detail")
        entry.set_status(LedgerStatus.DELIVERED if n % 2 else LedgerStatus.AWAITING_INGEST, "why")
        ledger.save(entry)
        ledger.save(entry)  # an update (conditional on its version)
    assert ledger.get(episode_key(3), MEGAPHONE) is not None
    assert ledger.get(episode_key(404), MEGAPHONE) is None
    assert len(ledger.get_many([episode_key(n) for n in range(12)], MEGAPHONE)) == 12
    assert len(ledger.by_series(series_key(1), MEGAPHONE)) == 12
    assert len(ledger.by_status(MEGAPHONE, LedgerStatus.AWAITING_INGEST)) == 6
    assert len(list(ledger.scan())) == 12
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key={"pk": {"S": "rate#k"}, "sk": {"S": "x"}},
        UpdateExpression="ADD request_count :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )


def test_sqs_speedups_keep_queue_semantics(aws: InProcessAws) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    with moto_sqs_and_events_speedups():
        for n in range(15):
            sqs.send_message(QueueUrl=url, MessageBody=str(n))
        first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert len(first) == 10 and len(second) == 5  # received messages are hidden
        assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "15"
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=0)
        time.sleep(0.002)  # moto compares its wall clock in milliseconds, strictly
        again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert [m["Body"] for m in again] == [first[0]["Body"]]


def test_expressions_are_parsed_once_per_text_with_the_speedups(aws: InProcessAws) -> None:
    """moto parses an UpdateItem's update and condition expressions twice per call; with the speed-ups an
    update expression is parsed once per text, a condition once per (text, names, values' placeholders) — the
    answers themselves are compared in tests/sandbox/test_aws_transport.py."""
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.tokens import ExpressionTokenizer

    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="counters",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    parsed = {"update": 0, "condition": 0}
    tokenize, lex = ExpressionTokenizer.make_list, ConditionExpressionParser._lex_condition_expression

    def counted_tokenize(expression: str) -> Any:
        parsed["update"] += 1
        return tokenize(expression)

    def counted_lex(parser: Any) -> Any:
        parsed["condition"] += 1
        return lex(parser)

    def updates(times: tuple[str, ...]) -> list[str]:
        counts = []
        for now in times:
            answer = dynamodb.update_item(
                TableName="counters",
                Key={"pk": {"S": "k"}},
                UpdateExpression="SET #t = :now ADD #c :one",
                ConditionExpression="attribute_not_exists(#t) OR #t <= :now",
                ExpressionAttributeNames={"#t": "taken_at", "#c": "count"},
                ExpressionAttributeValues={":now": {"N": now}, ":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
            counts.append(answer["Attributes"]["count"]["N"])
        return counts

    with (
        mock.patch.object(ExpressionTokenizer, "make_list", staticmethod(counted_tokenize)),
        mock.patch.object(ConditionExpressionParser, "_lex_condition_expression", counted_lex),
    ):
        assert updates(("1", "2", "2", "3")) == ["1", "2", "3", "4"]
        assert parsed == {"update": 8, "condition": 8}, "moto: twice per call"
        parsed.update(update=0, condition=0)
        with moto_speedups():
            assert updates(("4", "5", "5", "6")) == ["5", "6", "7", "8"]
        assert parsed == {"update": 1, "condition": 1}, "one text; one (names, placeholders), whatever the values"


def test_request_ids_keep_moto_s_format_with_the_speedups(aws: InProcessAws) -> None:
    """`cheaper_request_id_strings` draws moto's kind of request id: 52 letters and digits, fresh each time."""
    dynamodb = boto3.client("dynamodb")
    with cheaper_request_id_strings():
        ids = {dynamodb.list_tables()["ResponseMetadata"]["RequestId"] for _ in range(20)}
    assert len(ids) == 20 and all(re.fullmatch(r"[A-Za-z0-9]{52}", request_id) for request_id in ids)


@pytest.mark.parametrize(
    "header",
    [
        "AWS4-HMAC-SHA256 Credential=testing/20261202/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=3f1c2d4e5a6b7c8d9e0f",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261202/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=0",
        "AWS AKIAIOSFODNN7EXAMPLE:signature",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLEX/20261202/eu-west-1/sqs/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE-/x",
        "no scheme AKIAIOSFODNN7EXAMPLE/",
        "",
    ],
)
def test_access_key_search_prechecked_finds_what_moto_finds(header: str) -> None:
    from moto.core.responses import BaseResponse

    original = BaseResponse.access_key_regex
    with access_key_search_prechecked():
        found = BaseResponse.access_key_regex.search(header)
    expected = original.search(header)
    assert (found and (found.span(), found.groupdict())) == (expected and (expected.span(), expected.groupdict()))
