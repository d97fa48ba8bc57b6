"""The in-process transport answers exactly what the loopback socket answers: the same scenario of
DynamoDB, SQS, EventBridge, SNS and Secrets Manager calls — errors included — is run once over the
socket and once in process, against the same moto server emptied in between, and every answer
(parsed by botocore, volatile ids and timestamps masked) is compared. The same scenario holds moto's
speed-ups (`sandbox.moto_speedups`, on by default in the sandbox) to moto's own answers."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox.moto_server import MotoServer
from sandbox.moto_speedups import moto_speedups

Clients = Callable[[str], Any]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SECRET_SUFFIX = re.compile(r"(:secret:[A-Za-z0-9/_+=.@-]+?)-[A-Za-z0-9]{6}\b")
VOLATILE_KEYS = {
    "ReceiptHandle",
    "SentTimestamp",
    "ApproximateFirstReceiveTimestamp",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "Timestamp",
    "time",
    "SigningCertURL",
    "UnsubscribeURL",
    "Signature",
    "MD5OfBody",  # of a body holding an event id and time; checked against the body itself below
}


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with MotoServer(speedups=False) as running:  # moto as it is; the speed-ups are compared below
        yield running


def socket_clients(server: MotoServer) -> Clients:
    """Clients whose session does not carry the in-process handler: they go through the socket."""
    session = boto3.session.Session()
    session._session.unregister("before-send", server.transport)  # noqa: SLF001 - the one botocore API for it
    return session.client


def in_process_clients() -> Clients:
    return boto3.session.Session().client


def normalized(value: Any) -> Any:
    if isinstance(value, dict):
        return {normalized(key): ("<volatile>" if key in VOLATILE_KEYS else normalized(item)) for key, item in value.items() if key != "ResponseMetadata"} | (
            {"HTTPStatusCode": value["ResponseMetadata"]["HTTPStatusCode"]} if "ResponseMetadata" in value else {}
        )
    if isinstance(value, list):
        return [normalized(item) for item in value]
    if isinstance(value, datetime):
        return "<time>"
    if isinstance(value, str):
        if value[:1] in "{[":
            try:
                return {"json": normalized(json.loads(value))}
            except ValueError:
                pass
        return SECRET_SUFFIX.sub(r"\1-<suffix>", UUID.sub("<uuid>", value))
    return value


def outcome(call: Callable[[], Any]) -> Any:
    try:
        return {"ok": normalized(call())}
    except ClientError as error:
        return {
            "error": error.response["Error"].get("Code"),
            "message": normalized(error.response["Error"].get("Message", "")),
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
            "class": type(error).__name__,
            "cancellation": normalized(error.response.get("CancellationReasons")),
        }


def scenario(client: Clients) -> list[tuple[str, Any]]:
    dynamodb, sqs, events = client("dynamodb"), client("sqs"), client("events")
    sns, secrets = client("sns"), client("secretsmanager")
    steps: list[tuple[str, Any]] = []

    def step(name: str, call: Callable[[], Any]) -> Any:
        result = outcome(call)
        steps.append((name, result))
        return result

    # DynamoDB: keys and an index, conditions, updates, batches, paging, transactions, errors
    step(
        "create_table",
        lambda: dynamodb.create_table(
            TableName="t",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}
            ],
            BillingMode="PAY_PER_REQUEST",
        ),
    )
    for number in range(5):
        item = {"pk": {"S": "a"}, "sk": {"S": f"{number:02}"}, "g": {"S": "x"}, "n": {"N": str(number)}, "l": {"L": [{"S": "é"}, {"BOOL": True}]}}
        step(f"put_item {number}", lambda item=item: dynamodb.put_item(TableName="t", Item=item))
    step("get_item", lambda: dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}, "sk": {"S": "01"}}, ConsistentRead=True))
    step("get_item absent", lambda: dynamodb.get_item(TableName="t", Key={"pk": {"S": "b"}, "sk": {"S": "01"}}))
    step(
        "conditional put fails",
        lambda: dynamodb.put_item(
            TableName="t",
            Item={"pk": {"S": "a"}, "sk": {"S": "01"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
    )
    step(
        "update ADD",
        lambda: dynamodb.update_item(
            TableName="t",
            Key={"pk": {"S": "a"}, "sk": {"S": "02"}},
            UpdateExpression="ADD n :one SET m = :m",
            ExpressionAttributeValues={":one": {"N": "1"}, ":m": {"M": {"k": {"NULL": True}}}},
            ReturnValues="UPDATED_NEW",
        ),
    )
    step("query index", lambda: dynamodb.query(TableName="t", IndexName="by-g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "x"}}))
    step("query page", lambda: dynamodb.query(TableName="t", KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}}, Limit=2))
    step("scan filtered", lambda: dynamodb.scan(TableName="t", FilterExpression="n > :one", ExpressionAttributeValues={":one": {"N": "1"}}))
    step("batch_get", lambda: dynamodb.batch_get_item(RequestItems={"t": {"Keys": [{"pk": {"S": "a"}, "sk": {"S": s}} for s in ("00", "03", "09")]}}))
    step(
        "batch_write",
        lambda: dynamodb.batch_write_item(
            RequestItems={"t": [{"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"S": "00"}}}}, {"DeleteRequest": {"Key": {"pk": {"S": "a"}, "sk": {"S": "04"}}}}]}
        ),
    )
    # numeric keys in several partitions, written out of key order (10 sorts before 9 as a string):
    # a Scan and an index Query answer in moto's key order
    step(
        "create numeric table",
        lambda: dynamodb.create_table(
            TableName="numbers",
            AttributeDefinitions=[{"AttributeName": "h", "AttributeType": "N"}, {"AttributeName": "r", "AttributeType": "N"}, {"AttributeName": "g", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "h", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}
            ],
            BillingMode="PAY_PER_REQUEST",
        ),
    )
    for h, r in (("10", "2"), ("9", "30"), ("10", "-1"), ("100", "5"), ("9", "4.5"), ("9", "10")):
        item = {"h": {"N": h}, "r": {"N": r}, "g": {"S": "x"}}
        step(f"put numeric {h}/{r}", lambda item=item: dynamodb.put_item(TableName="numbers", Item=item))
    step("scan numeric", lambda: dynamodb.scan(TableName="numbers"))
    step("scan numeric page", lambda: dynamodb.scan(TableName="numbers", Limit=4))
    step("query numeric index", lambda: dynamodb.query(TableName="numbers", IndexName="by-g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "x"}}))
    step("query numeric partition", lambda: dynamodb.query(TableName="numbers", KeyConditionExpression="h = :h", ExpressionAttributeValues={":h": {"N": "9"}}))
    step(
        "transaction cancelled",
        lambda: dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "c"}, "sk": {"S": "00"}}}},
                {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "a"}, "sk": {"S": "00"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        ),
    )
    dynamodb_reads(dynamodb, step)
    step("missing table", lambda: dynamodb.get_item(TableName="nope", Key={"pk": {"S": "a"}}))
    step("validation error", lambda: dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}}))

    # SQS: a queue with a redrive policy, attributes, batches, visibility, errors
    dlq = step("create dlq", lambda: sqs.create_queue(QueueName="q-dlq"))["ok"]["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = step(
        "create queue",
        lambda: sqs.create_queue(
            QueueName="q", Attributes={"VisibilityTimeout": "60", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})}
        ),
    )["ok"]["QueueUrl"]
    step("queue attributes", lambda: sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"]))
    step(
        "send with attributes",
        lambda: sqs.send_message(
            QueueUrl=queue, MessageBody="héllo", MessageAttributes={"reason": {"DataType": "String", "StringValue": "why"}, "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}}
        ),
    )
    step("send batch", lambda: sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)]))
    received: dict[str, Any] = {}

    def receive() -> Any:
        received.update(sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"], VisibilityTimeout=30))
        return received

    step("receive", receive)
    handles = [message["ReceiptHandle"] for message in received["Messages"]]
    step(
        "visibility batch",
        lambda: sqs.change_message_visibility_batch(
            QueueUrl=queue,
            Entries=[{"Id": "0", "ReceiptHandle": handles[0], "VisibilityTimeout": 0}, {"Id": "1", "ReceiptHandle": "not-a-handle", "VisibilityTimeout": 0}],
        ),
    )
    step("delete batch", lambda: sqs.delete_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles[1:])]))
    step("receive again", lambda: sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"]))
    step("missing queue", lambda: sqs.get_queue_url(QueueName="does-not-exist"))

    # EventBridge -> SQS routing by rule pattern
    step("create bus", lambda: events.create_event_bus(Name="bus"))
    routed = sqs.create_queue(QueueName="routed")["QueueUrl"]
    routed_arn = sqs.get_queue_attributes(QueueUrl=routed, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    step("put rule", lambda: events.put_rule(Name="r", EventBusName="bus", EventPattern=json.dumps({"source": ["s"], "detail-type": ["Wanted"]})))
    step("put targets", lambda: events.put_targets(Rule="r", EventBusName="bus", Targets=[{"Id": "q", "Arn": routed_arn}]))
    step(
        "put events",
        lambda: events.put_events(
            Entries=[
                {"EventBusName": "bus", "Source": "s", "DetailType": dt, "Detail": json.dumps({"n": n, "text": "ü"})}
                for n, dt in enumerate(("Wanted", "Unwanted", "Wanted"))
            ]
        ),
    )
    step("routed messages", lambda: sqs.receive_message(QueueUrl=routed, MaxNumberOfMessages=10, AttributeNames=["All"]))
    step("missing rule", lambda: events.describe_rule(Name="nope", EventBusName="bus"))

    # SNS -> SQS (raw delivery), errors
    topic = step("create topic", lambda: sns.create_topic(Name="alerts"))["ok"]["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    step("subscribe", lambda: sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"}))
    step("publish", lambda: sns.publish(TopicArn=topic, Subject="takedown", Message="product 1 <gone> & more", MessageAttributes={"kind": {"DataType": "String", "StringValue": "takedown"}}))
    step("inbox", lambda: sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, MessageAttributeNames=["All"]))
    step("publish to missing topic", lambda: sns.publish(TopicArn=topic + "-missing", Message="x"))

    # Secrets Manager
    step("create secret", lambda: secrets.create_secret(Name="app/token", SecretString="s3cr€t"))
    step("get secret", lambda: secrets.get_secret_value(SecretId="app/token"))
    step("describe secret", lambda: secrets.describe_secret(SecretId="app/token"))
    step("missing secret", lambda: secrets.get_secret_value(SecretId="app/none"))
    return steps


def dynamodb_reads(dynamodb: Any, step: Callable[[str, Callable[[], Any]], Any]) -> None:
    """Queries and scans the way moto's speed-ups narrow, skip copies and remember sizes: index queries
    with and without range conditions, filters, paging both ways, projections, counts, legacy filters,
    items without the index's keys, a table without a range key, and pages cut at 1 MB."""

    def paged(name: str, operation: Callable[..., Any], **arguments: Any) -> None:
        start: dict[str, Any] = {}
        for page in range(30):
            answer = step(f"{name} page {page}", lambda start=start: operation(**arguments, **start))
            last = answer.get("ok", {}).get("LastEvaluatedKey")
            if not last:
                return
            start = {"ExclusiveStartKey": last}
        raise AssertionError(f"{name}: paging did not end")

    step(
        "create reads table",
        lambda: dynamodb.create_table(
            TableName="reads",
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": t} for n, t in (("pk", "S"), ("sk", "S"), ("status", "S"), ("rank", "N"), ("kind", "S"))
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-status",
                    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}, {"AttributeName": "rank", "KeyType": "RANGE"}],
                    "Projection": {"ProjectionType": "ALL"},
                },
                {"IndexName": "by-kind", "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}},
                {
                    "IndexName": "by-kind-include",
                    "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]},
                },
            ],
            BillingMode="PAY_PER_REQUEST",
        ),
    )
    for number in range(40):  # written out of key order; some items lack the indexes' key attributes
        item: dict[str, Any] = {"pk": {"S": f"p{(number * 7) % 5}"}, "sk": {"S": f"s{(number * 11) % 40:02}"}, "note": {"S": f"n{number % 3}"}}
        if number % 4:
            item["status"] = {"S": ("open", "closed")[number % 2]}
        if number % 6:
            item["rank"] = {"N": str((number * 13) % 9)}  # equal ranks: moto orders them by the table's keys
        if number % 5 != 2:
            item["kind"] = {"S": ("a", "b", "c")[number % 3]}
        if number % 8 == 0:
            item["tags"] = {"SS": ["x", f"t{number}"]}
        dynamodb.put_item(TableName="reads", Item=item)
    statuses = {":s": {"S": "open"}}
    query = dynamodb.query
    step("query index", lambda: query(TableName="reads", IndexName="by-status", KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues=statuses))
    step(
        "query index range",
        lambda: query(
            TableName="reads",
            IndexName="by-status",
            KeyConditionExpression="#s = :s AND #r BETWEEN :lo AND :hi",
            ExpressionAttributeNames={"#s": "status", "#r": "rank"},
            ExpressionAttributeValues=statuses | {":lo": {"N": "2"}, ":hi": {"N": "6"}},
        ),
    )
    for forward in (True, False):
        paged(
            f"query index filtered forward={forward}",
            query,
            TableName="reads",
            IndexName="by-status",
            KeyConditionExpression="#s = :s AND #r > :lo",
            FilterExpression="note <> :n",
            ExpressionAttributeNames={"#s": "status", "#r": "rank"},
            ExpressionAttributeValues=statuses | {":lo": {"N": "1"}, ":n": {"S": "n1"}},
            ScanIndexForward=forward,
            Limit=3,
        )
        paged(
            f"query partition forward={forward}",
            query,
            TableName="reads",
            KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            FilterExpression="attribute_exists(#s)",
            ProjectionExpression="pk, sk, #s, tags",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":p": {"S": "p2"}, ":s": {"S": "s"}},
            ScanIndexForward=forward,
            Limit=2,
        )
    step("query index projected", lambda: query(TableName="reads", IndexName="by-status", KeyConditionExpression="#s = :s", ProjectionExpression="pk, #r", ExpressionAttributeNames={"#s": "status", "#r": "rank"}, ExpressionAttributeValues=statuses))
    step("query index count", lambda: query(TableName="reads", IndexName="by-status", KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues=statuses, Select="COUNT"))
    paged("query keys-only index", query, TableName="reads", IndexName="by-kind", KeyConditionExpression="kind = :k", ExpressionAttributeValues={":k": {"S": "b"}}, Limit=4)
    step("query include index", lambda: query(TableName="reads", IndexName="by-kind-include", KeyConditionExpression="kind = :k AND sk < :s", FilterExpression="note = :n", ExpressionAttributeValues={":k": {"S": "a"}, ":s": {"S": "s30"}, ":n": {"S": "n0"}}))
    step("query empty partition", lambda: query(TableName="reads", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p9"}}))
    step(
        "query legacy conditions",
        lambda: query(
            TableName="reads",
            KeyConditions={"pk": {"AttributeValueList": [{"S": "p1"}], "ComparisonOperator": "EQ"}},
            QueryFilter={"note": {"AttributeValueList": [{"S": "n2"}], "ComparisonOperator": "EQ"}},
        ),
    )
    scan = dynamodb.scan
    paged("scan filtered", scan, TableName="reads", FilterExpression="note IN (:a, :b) AND attribute_exists(kind)", ExpressionAttributeValues={":a": {"S": "n0"}, ":b": {"S": "n2"}}, Limit=7)
    paged("scan index", scan, TableName="reads", IndexName="by-status", FilterExpression="#r >= :r", ExpressionAttributeNames={"#r": "rank"}, ExpressionAttributeValues={":r": {"N": "4"}}, Limit=5)
    step("scan projected", lambda: scan(TableName="reads", ProjectionExpression="sk, tags", FilterExpression="contains(tags, :x)", ExpressionAttributeValues={":x": {"S": "x"}}))
    step("scan count", lambda: scan(TableName="reads", Select="COUNT", FilterExpression="note = :n", ExpressionAttributeValues={":n": {"S": "n1"}}))
    step("scan legacy filter", lambda: scan(TableName="reads", ScanFilter={"status": {"ComparisonOperator": "NULL"}, "note": {"AttributeValueList": [{"S": "n0"}], "ComparisonOperator": "EQ"}}))
    step("scan segment", lambda: scan(TableName="reads", Segment=1, TotalSegments=3, FilterExpression="attribute_not_exists(#r)", ExpressionAttributeNames={"#r": "rank"}))

    # a table without a range key (numbers written out of order), queried by a differently spelt number
    step(
        "create flat table",
        lambda: dynamodb.create_table(
            TableName="flat",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}, {"AttributeName": "group", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "by-group", "KeySchema": [{"AttributeName": "group", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
            BillingMode="PAY_PER_REQUEST",
        ),
    )
    for number in (12, 3, 40, 7, 25, 1, 9, 30):
        flat_item = {"id": {"N": str(number)}, "n": {"N": str(number % 4)}} | ({"group": {"S": f"g{number % 2}"}} if number != 9 else {})
        dynamodb.put_item(TableName="flat", Item=flat_item)
    step("query flat", lambda: query(TableName="flat", KeyConditionExpression="id = :i", ExpressionAttributeValues={":i": {"N": "7.0"}}))
    paged("query flat index", query, TableName="flat", IndexName="by-group", KeyConditionExpression="#g = :g", FilterExpression="n <> :z", ExpressionAttributeNames={"#g": "group"}, ExpressionAttributeValues={":g": {"S": "g1"}, ":z": {"N": "0"}}, Limit=2, ScanIndexForward=False)
    paged("scan flat", scan, TableName="flat", FilterExpression="n < :two", ExpressionAttributeValues={":two": {"N": "2"}}, Limit=3)

    # pages cut at 1 MB as moto counts it: in "edge" the first three items are exactly 1,000,000 bytes
    # (a full page), in "over" one byte more (the third item goes to the next page)
    for partition, extra in (("edge", 0), ("over", 1)):
        for number, blob_bytes in enumerate((333_264, 333_264, 333_265 + extra, 0)):
            edge_item = {
                "pk": {"S": partition},
                "sk": {"S": f"b{number}"},
                "status": {"S": partition},
                "rank": {"N": "1.50"},
                "flag": {"BOOL": True},
                "none": {"NULL": True},
                "list": {"L": [{"S": "é"}, {"N": "10"}]},
                "map": {"M": {"k": {"S": "ü"}}},
                "bin": {"B": b"\x00\x01\x02"},
                "nums": {"NS": ["1", "22"]},
            } | ({"blob": {"S": "é" * 1000 + "a" * (blob_bytes - 2000)}} if blob_bytes else {})
            dynamodb.put_item(TableName="reads", Item=edge_item)
        paged(f"query {partition}", query, TableName="reads", KeyConditionExpression="pk = :p", ProjectionExpression="sk", ExpressionAttributeValues={":p": {"S": partition}})
        by_status = {"IndexName": "by-status", "ExpressionAttributeNames": {"#s": "status"}, "ExpressionAttributeValues": {":s": {"S": partition}}}
        paged(f"query {partition} index", query, TableName="reads", KeyConditionExpression="#s = :s", ProjectionExpression="sk", **by_status)
    paged("scan big", scan, TableName="reads", ProjectionExpression="sk", FilterExpression="attribute_exists(#b)", ExpressionAttributeNames={"#b": "blob"})


def test_every_answer_is_the_same_over_the_socket_and_in_process(server: MotoServer) -> None:
    assert server.transport is not None
    server.reset_state()
    before = server.transport.requests
    over_socket = scenario(socket_clients(server))
    assert server.transport.requests == before, "the socket clients must not use the in-process transport"

    server.reset_state()
    in_process = scenario(in_process_clients())
    assert server.transport.requests - before >= len(in_process)

    assert [name for name, _ in in_process] == [name for name, _ in over_socket]
    for (name, expected), (_, actual) in zip(over_socket, in_process, strict=True):
        assert actual == expected, name
    errors = {name: result["error"] for name, result in in_process if "error" in result}
    assert errors == {
        "conditional put fails": "ConditionalCheckFailedException",
        "transaction cancelled": "TransactionCanceledException",
        "missing table": "ResourceNotFoundException",
        "validation error": "ValidationException",
        "missing queue": "AWS.SimpleQueueService.NonExistentQueue",
        "missing rule": "ResourceNotFoundException",
        "publish to missing topic": "NotFound",
        "missing secret": "ResourceNotFoundException",
    }
    routed = next(result for name, result in in_process if name == "routed messages")["ok"]["Messages"]
    assert [m["Body"]["json"]["detail"]["n"] for m in routed] == [0, 2], "EventBridge routed only the matching detail-type"


def test_moto_speedups_answer_what_moto_answers(server: MotoServer) -> None:
    server.reset_state()
    plain = scenario(in_process_clients())
    server.reset_state()
    with moto_speedups():
        fast = scenario(in_process_clients())

    for (name, expected), (_, actual) in zip(plain, fast, strict=True):
        assert actual == expected, name
    counts = {name: result["ok"]["Count"] for name, result in plain if name.startswith(("query edge", "query over"))}
    assert counts["query edge page 0"] == counts["query edge index page 0"] == 3, "a page of exactly 1,000,000 bytes is full"
    assert counts["query over page 0"] == counts["query over index page 0"] == 2, "one byte more starts the next page"


def test_message_digests_match_their_bodies_in_process(server: MotoServer) -> None:
    sqs = in_process_clients()("sqs")
    queue = sqs.create_queue(QueueName="digests")["QueueUrl"]
    for body in ("plain", "ünïcödé", json.dumps({"id": "x"})):
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 3
    assert all(m["MD5OfBody"] == hashlib.md5(m["Body"].encode()).hexdigest() for m in messages)


def test_other_processes_still_reach_the_server_over_the_socket(server: MotoServer) -> None:
    import subprocess
    import sys

    server.reset_state()
    boto3.client("sqs").create_queue(QueueName="seen-from-outside")
    listed = subprocess.run(
        [sys.executable, "-c", "import boto3; print(boto3.client('sqs').list_queues()['QueueUrls'])"],
        env=server.environment | {"PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "seen-from-outside" in listed.stdout


def test_requests_for_other_hosts_are_left_to_botocore(server: MotoServer) -> None:
    from botocore.awsrequest import AWSPreparedRequest

    assert server.transport is not None
    elsewhere = AWSPreparedRequest("GET", "http://127.0.0.2:1/", {}, b"", stream_output=False)
    assert server.transport(elsewhere) is None
