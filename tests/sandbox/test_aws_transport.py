"""The in-process transport answers exactly what the loopback socket answers: the same scenario of
DynamoDB, SQS, EventBridge, SNS, Secrets Manager, S3, Glue and Athena calls — errors included — is
run over the socket, in process through moto's WSGI application and in process through the direct
dispatch (`sandbox.moto_direct_dispatch`), against the same moto server emptied in between, and every
answer (parsed by botocore, volatile ids and timestamps masked) is compared; the two in-process
paths are also compared raw, status and headers. The same scenario holds moto's speed-ups
(`sandbox.moto_speedups`, on by default in the sandbox) to moto's own answers."""

from __future__ import annotations

import hashlib
import json
import re
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox.aws_transport import InProcessTransport
from sandbox.botocore_json_responses import CompiledJsonParser
from sandbox.moto_server import DUMMY_CREDENTIAL as DUMMY
from sandbox.moto_server import MotoServer
from sandbox.moto_speedups import json_requests_converted, moto_speedups
from tests.moto_parameters import ParameterComparisons

Clients = Callable[[str], Any]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SECRET_SUFFIX = re.compile(r"(:secret:[A-Za-z0-9/_+=.@-]+?)-[A-Za-z0-9]{6}\b")
VOLATILE_KEYS = {
    "ReceiptHandle",
    "SequenceNumber",  # random digits for a FIFO message
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

# headers that differ between two runs of the same call (request ids, times, digests of bodies that
# hold ids and times)
VOLATILE_HEADERS = {"x-amzn-requestid", "x-amz-request-id", "x-amz-id-2", "x-amz-crc32", "date", "last-modified", "content-length", "content-md5"}

# the same in raw bodies: ids, SQS receipt handles, secret ARN suffixes, S3 request ids, digests of
# bodies holding ids and times, and every number (times; floats print with varying digits)
VOLATILE_BYTES = (
    (re.compile(UUID.pattern.encode()), b"<uuid>"),
    (re.compile(rb'"ReceiptHandle": "[^"]*"'), b'"ReceiptHandle": "<volatile>"'),
    (re.compile(rb'"MD5OfBody": "[^"]*"'), b'"MD5OfBody": "<volatile>"'),
    (re.compile(SECRET_SUFFIX.pattern.encode()), rb"\1-<suffix>"),
    (re.compile(rb"<RequestId>[^<]*</RequestId>"), b"<RequestId>volatile</RequestId>"),
    (re.compile(rb"\d+(\.\d+)?"), b"0"),
)


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with MotoServer(speedups=False) as running:  # moto as it is; the speed-ups are compared below
        yield running


def socket_clients(server: MotoServer) -> Clients:
    """Clients whose session does not carry the in-process handlers: they go through the socket."""
    session = boto3.session.Session()
    _unregister_transport(session, server)
    return session.client


def _unregister_transport(session: boto3.session.Session, server: MotoServer) -> None:
    assert server.transport is not None
    session._session.unregister("before-send", server.transport)  # noqa: SLF001 - the one botocore API for it
    session._session.unregister("before-call", server.transport.answer_call)  # noqa: SLF001


def in_process_clients() -> Clients:
    return boto3.session.Session().client


class RecordingTransport(InProcessTransport):
    """The in-process transport, keeping every raw answer: (method, path, status, headers, body)."""

    def __init__(self, server: MotoServer, *, direct: bool):
        assert server.transport is not None and server.athena is not None
        super().__init__(server.athena, server.endpoint_url, server.transport.direct if direct else None)
        self.answers: list[tuple[str, str, int, list[tuple[str, str]], bytes]] = []
        self.json_requests = 0  # requests in a JSON protocol (those name their operation in X-Amz-Target)

    def exchange(self, method: str, url: str, headers: Any, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = list(headers)
        self.json_requests += any(name.lower() == "x-amz-target" for name, _ in headers)
        status, response_headers, content = super().exchange(method, url, headers, body)
        self.answers.append((method, url.split("?")[0], status, response_headers, content))
        return status, response_headers, content


def recording_clients(server: MotoServer, transport: RecordingTransport, *, early: bool = False) -> Clients:
    """Clients whose session sends through `transport` instead of the server's own (`early`: JSON
    calls answered at `before-call`, as the sandbox's clients are; else all signed and sent)."""
    session = boto3.session.Session()
    _unregister_transport(session, server)
    session._session.register("before-send", transport)  # noqa: SLF001
    if early:
        session._session.get_component("event_emitter").register_last("before-call", transport.answer_call)  # noqa: SLF001
    return session.client


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
    s3, glue, athena = client("s3"), client("glue"), client("athena")
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
    dynamodb_reads_between_writes(dynamodb, step)
    dynamodb_expressions(dynamodb, step)
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
    step("queue counts after sends", lambda: sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"]))
    fifo = step("create fifo queue", lambda: sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true"}))["ok"]["QueueUrl"]
    step("fifo send without a group", lambda: sqs.send_message(QueueUrl=fifo, MessageBody="no group"))
    step("fifo send without deduplication", lambda: sqs.send_message(QueueUrl=fifo, MessageBody="no id", MessageGroupId="g"))
    step("fifo send", lambda: sqs.send_message(QueueUrl=fifo, MessageBody="kept", MessageGroupId="g", MessageDeduplicationId="d"))
    step("fifo counts", lambda: sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["ApproximateNumberOfMessages", "ContentBasedDeduplication"]))
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

    # S3: a bucket, objects with metadata and keys that need quoting, listing, ranges, HEAD, errors
    step("create bucket", lambda: s3.create_bucket(Bucket="reports", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}))
    keys = ("day=2026-01-01/part 1.json", "day=2026-01-02/part+2.json", "naïve/ünïcode~key.txt")
    for number, key in enumerate(keys):
        step(
            f"put object {number}",
            lambda key=key, number=number: s3.put_object(Bucket="reports", Key=key, Body=f"body {number} é".encode(), ContentType="application/json", Metadata={"source": "sandbox"}),
        )
    step("get object", lambda: _read_body(s3.get_object(Bucket="reports", Key=keys[0])))
    step("get object range", lambda: _read_body(s3.get_object(Bucket="reports", Key=keys[2], Range="bytes=2-5")))
    step("head object", lambda: s3.head_object(Bucket="reports", Key=keys[1]))
    step("list prefix", lambda: s3.list_objects_v2(Bucket="reports", Prefix="day=", Delimiter="/"))
    step("list page", lambda: s3.list_objects_v2(Bucket="reports", MaxKeys=2))
    step("copy object", lambda: s3.copy_object(Bucket="reports", Key="copy.json", CopySource={"Bucket": "reports", "Key": keys[1]}))
    step("delete object", lambda: s3.delete_object(Bucket="reports", Key="copy.json"))
    step("missing key", lambda: s3.get_object(Bucket="reports", Key="nope"))
    step("head missing key", lambda: s3.head_object(Bucket="reports", Key="nope"))
    step("missing bucket", lambda: s3.list_objects_v2(Bucket="no-such-bucket"))

    # Glue tables over S3, and Athena: moto's own operations and the sandbox's query engine
    step("create database", lambda: glue.create_database(DatabaseInput={"Name": "analytics"}))
    step(
        "create glue table",
        lambda: glue.create_table(
            DatabaseName="analytics",
            TableInput={
                "Name": "plays",
                "PartitionKeys": [{"Name": "day", "Type": "string"}],
                "StorageDescriptor": {"Columns": [{"Name": "n", "Type": "bigint"}], "Location": "s3://reports/plays/"},
            },
        ),
    )
    step("get glue table", lambda: glue.get_table(DatabaseName="analytics", Name="plays"))
    step("missing glue table", lambda: glue.get_table(DatabaseName="analytics", Name="nope"))
    step("list work groups", lambda: athena.list_work_groups())
    started: dict[str, Any] = {}

    def start_query() -> Any:
        started.update(athena.start_query_execution(QueryString="SELECT count(*) AS n FROM plays", QueryExecutionContext={"Database": "analytics"}))
        return started

    step("start query", start_query)
    step("query results", lambda: athena.get_query_results(QueryExecutionId=started["QueryExecutionId"]))
    step("work group exists", lambda: athena.create_work_group(Name="primary"))
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
        if number % 3 == 0:  # a map and a list, numbers as a client writes them and as it may not
            count = {"N": "1e2" if number % 2 else "12"}
            item["state"] = {"M": {"name": {"S": "x"}, "count": count, "nested": {"L": [{"BOOL": True}, {"NULL": True}, {"N": "0.50"}, {"N": "007"}]}}}
        if number % 7 == 0:
            item["blob"], item["marks"] = {"B": bytes([number, 0, 1])}, {"NS": ["1", "2.5", str(number)]}
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
    # top-level names in any order, absent from some items or from all (moto's projection, short-cut)
    step("scan projected names", lambda: scan(TableName="reads", ProjectionExpression="#r, note, pk, absent, tags, sk", ExpressionAttributeNames={"#r": "rank"}))
    step("scan projected values", lambda: scan(TableName="reads", ProjectionExpression="#st, #b, marks, sk, #r", ExpressionAttributeNames={"#st": "state", "#b": "blob", "#r": "rank"}))
    step("scan projected nothing present", lambda: scan(TableName="reads", ProjectionExpression="absent", Limit=3))
    step(
        "batch get projected",
        lambda: dynamodb.batch_get_item(
            RequestItems={"reads": {"Keys": [{"pk": {"S": f"p{(n * 7) % 5}"}, "sk": {"S": f"s{(n * 11) % 40:02}"}} for n in (0, 5, 8, 13)], "ProjectionExpression": "tags, sk, #r", "ExpressionAttributeNames": {"#r": "rank"}}}
        ),
    )
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
    # pages started from keys no item has, or spelt differently from the item's
    step("scan flat from a key no item has", lambda: scan(TableName="flat", ExclusiveStartKey={"id": {"N": "8"}}))
    step("scan flat from a differently spelt key", lambda: scan(TableName="flat", ExclusiveStartKey={"id": {"N": "7.0"}}, Limit=2))
    step("scan from a key no item has", lambda: scan(TableName="reads", ExclusiveStartKey={"pk": {"S": "p2"}, "sk": {"S": "s15x"}}, Limit=4))
    step("scan from past the last key", lambda: scan(TableName="reads", ExclusiveStartKey={"pk": {"S": "z"}, "sk": {"S": "z"}}))

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


def dynamodb_reads_between_writes(dynamodb: Any, step: Callable[[str, Callable[[], Any]], Any]) -> None:
    """Scans and index queries repeated with nothing written between them (`sandbox.moto_read_caches`
    answers them from what the first computed), and after a write through every path that changes a
    table: a put, an update in place (of an index key) and one that creates the item, a delete, a batch
    write, a transaction, a cancelled transaction (rolled back), a failed conditional update, PartiQL."""
    key = {"AttributeName": "pk", "KeyType": "HASH"}
    step(
        "create generations table",
        lambda: dynamodb.create_table(
            TableName="generations",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "status")],
            KeySchema=[key, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": "by-status", "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
            BillingMode="PAY_PER_REQUEST",
        ),
    )

    def item(pk: str, sk: str, status: str | None) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}} | ({"status": {"S": status}} if status else {})

    def reads(after: str) -> None:
        for status in ("open", "closed", "gone"):
            query = {"IndexName": "by-status", "KeyConditionExpression": "#s = :s", "ExpressionAttributeNames": {"#s": "status"}}
            step(f"{after}: query {status}", lambda s=status, q=query: dynamodb.query(TableName="generations", ExpressionAttributeValues={":s": {"S": s}}, **q))
        step(f"{after}: scan", lambda: dynamodb.scan(TableName="generations"))
        step(f"{after}: scan again", lambda: dynamodb.scan(TableName="generations", Limit=3))
        step(f"{after}: scan index", lambda: dynamodb.scan(TableName="generations", IndexName="by-status"))
        step(f"{after}: query key", lambda: dynamodb.query(TableName="generations", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "b"}}))

    for number in (3, 0, 4, 1, 2):
        dynamodb.put_item(TableName="generations", Item=item("ab"[number % 2], f"{number}", ("open", "closed", None)[number % 3]))
    reads("puts")
    reads("nothing written")
    dynamodb.put_item(TableName="generations", Item=item("a", "9", "open"))
    reads("put")
    set_status = {"UpdateExpression": "SET #s = :s", "ExpressionAttributeNames": {"#s": "status"}}
    dynamodb.update_item(TableName="generations", Key=item("b", "1", None), ExpressionAttributeValues={":s": {"S": "open"}}, **set_status)
    reads("update in place")
    dynamodb.update_item(TableName="generations", Key=item("b", "7", None), ExpressionAttributeValues={":s": {"S": "open"}}, **set_status)
    reads("update creating")
    dynamodb.delete_item(TableName="generations", Key=item("a", "0", None))
    reads("delete")
    dynamodb.batch_write_item(
        RequestItems={"generations": [{"PutRequest": {"Item": item("c", "5", "gone")}}, {"DeleteRequest": {"Key": item("a", "4", None)}}]}
    )
    reads("batch write")
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "generations", "Item": item("c", "6", "open")}},
            {"Update": {"TableName": "generations", "Key": item("b", "3", None), "ExpressionAttributeValues": {":s": {"S": "gone"}}, **set_status}},
            {"Delete": {"TableName": "generations", "Key": item("a", "2", None)}},
        ]
    )
    reads("transaction")
    step(
        "cancelled transaction",
        lambda: dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "generations", "Item": item("d", "1", "open")}},
                {"Update": {"TableName": "generations", "Key": item("b", "1", None), "ConditionExpression": "attribute_not_exists(pk)", "ExpressionAttributeValues": {":s": {"S": "gone"}}, **set_status}},
            ]
        ),
    )
    reads("cancelled transaction")
    step(
        "failed conditional update",
        lambda: dynamodb.update_item(
            TableName="generations", Key=item("c", "5", None), ConditionExpression="attribute_not_exists(pk)", ExpressionAttributeValues={":s": {"S": "open"}}, **set_status
        ),
    )
    reads("failed conditional update")
    step("partiql update", lambda: dynamodb.execute_statement(Statement="UPDATE generations SET status='closed' WHERE pk='c' AND sk='6'"))
    reads("partiql update")


# update expressions (with values and a condition) that moto refuses: each is sent twice
INVALID_UPDATES = {
    "syntax": ("SET a = ", {":v": {"N": "1"}}, None),
    "undefined value": ("SET a = :v, b = :nope", {":v": {"N": "1"}}, None),
    "two ADD clauses": ("ADD a :v ADD b :v", {":v": {"N": "1"}}, None),
    "overlapping paths": ("SET a = :v, a = :v", {":v": {"N": "1"}}, None),
    "key attribute": ("SET pk = :v", {":v": {"S": "x"}}, None),
    "unknown function": ("SET a = nope(a, :v)", {":v": {"N": "1"}}, None),
    "reserved word": ("SET name = :v", {":v": {"S": "x"}}, None),
    "list_append to a number": ("SET n2 = list_append(:v, :v)", {":v": {"N": "1"}}, None),
    "condition reserved word": ("SET a = :v", {":v": {"N": "1"}}, "attribute_exists(name)"),
    "condition redundant parentheses": ("SET a = :v", {":v": {"N": "1"}}, "((a = :v))"),
}


def dynamodb_expressions(dynamodb: Any, step: Callable[[str, Callable[[], Any]], Any]) -> None:
    """Update, condition and filter expressions the way moto's speed-ups keep their parses: one
    expression again and again with other values, other names and values in another order, updates
    of an item an earlier update of the same expression changed, list_append / if_not_exists / ADD /
    DELETE / REMOVE, conditional failures (also in transactions), a set value written to an item and
    used again in a condition, binary values, and invalid expressions answered twice."""
    step(
        "create exprs table",
        lambda: dynamodb.create_table(
            TableName="exprs",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        ),
    )
    key = {"pk": {"S": "limiter"}}
    take = "SET #t = :now, #c = if_not_exists(#c, :zero) + :one"
    for number, (now, limit) in enumerate((("10", "5"), ("20", "15"), ("12", "30"), ("40", "30"), ("41", "30"))):
        step(
            f"limiter update {number}",
            lambda now=now, limit=limit: dynamodb.update_item(
                TableName="exprs",
                Key=key,
                UpdateExpression=take,
                ConditionExpression="attribute_not_exists(#t) OR #t < :now AND #c < :limit",
                ExpressionAttributeNames={"#t": "taken_at", "#c": "count"},
                ExpressionAttributeValues={":now": {"N": now}, ":zero": {"N": "0"}, ":one": {"N": "1"}, ":limit": {"N": limit}},
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ),
        )
    step(
        "limiter values in another order",
        lambda: dynamodb.update_item(
            TableName="exprs",
            Key=key,
            UpdateExpression=take,
            ConditionExpression="attribute_not_exists(#t) OR #t < :now AND #c < :limit",
            ExpressionAttributeNames={"#c": "count", "#t": "taken_at"},
            ExpressionAttributeValues={":limit": {"N": "99"}, ":one": {"N": "2"}, ":zero": {"N": "0"}, ":now": {"N": "50"}},
            ReturnValues="UPDATED_OLD",
        ),
    )
    step(
        "same expression, other names",
        lambda: dynamodb.update_item(
            TableName="exprs",
            Key=key,
            UpdateExpression=take,
            ExpressionAttributeNames={"#t": "other_time", "#c": "other_count"},
            ExpressionAttributeValues={":now": {"N": "1"}, ":zero": {"N": "100"}, ":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        ),
    )
    grow = "SET #l = list_append(if_not_exists(#l, :empty), :add) ADD n :one, tags :tags"
    for number in range(3):
        step(
            f"list_append and ADD {number}",
            lambda number=number: dynamodb.update_item(
                TableName="exprs",
                Key={"pk": {"S": "lists"}},
                UpdateExpression=grow,
                ExpressionAttributeNames={"#l": "log"},
                ExpressionAttributeValues={
                    ":empty": {"L": []},
                    ":add": {"L": [{"S": f"entry {number}"}, {"M": {"n": {"N": str(number)}}}]},
                    ":one": {"N": "1"},
                    ":tags": {"SS": [f"t{number}", "common"]},
                },
                ReturnValues="ALL_NEW",
            ),
        )
    step(
        "DELETE from a set and REMOVE list elements",
        lambda: dynamodb.update_item(
            TableName="exprs",
            Key={"pk": {"S": "lists"}},
            UpdateExpression="DELETE tags :gone REMOVE #l[0], #l[2]",
            ExpressionAttributeNames={"#l": "log"},
            ExpressionAttributeValues={":gone": {"SS": ["common"]}},
            ReturnValues="ALL_NEW",
        ),
    )
    step(
        "REMOVE and SET with spaces around",
        lambda: dynamodb.update_item(
            TableName="exprs",
            Key={"pk": {"S": "lists"}},
            UpdateExpression="  REMOVE n   SET   nested = :m ,  extra = :m  ",
            ExpressionAttributeValues={":m": {"M": {"a": {"L": [{"N": "1"}]}}}},
            ReturnValues="ALL_NEW",
        ),
    )
    step(
        "SET a nested path",
        lambda: dynamodb.update_item(
            TableName="exprs",
            Key={"pk": {"S": "lists"}},
            UpdateExpression="SET nested.a[1] = :v, nested.b = nested.a[0] - :v",
            ExpressionAttributeValues={":v": {"N": "7"}},
            ReturnValues="UPDATED_NEW",
        ),
    )
    # a set value both written to an item and used in a later condition: the later condition sees its own
    for number, (expression, values) in enumerate(
        (
            ("SET s = :ss", {":ss": {"SS": ["a"]}}),
            ("ADD s :more", {":more": {"SS": ["b"]}}),
        )
    ):
        step(
            f"set value {number}",
            lambda expression=expression, values=values: dynamodb.update_item(
                TableName="exprs", Key={"pk": {"S": "sets"}}, UpdateExpression=expression, ExpressionAttributeValues=values, ReturnValues="ALL_NEW"
            ),
        )
    for number in range(2):
        step(
            f"set condition {number}",
            lambda: dynamodb.update_item(
                TableName="exprs",
                Key={"pk": {"S": "sets"}},
                UpdateExpression="SET s = :ss",
                ConditionExpression="s <> :ss",
                ExpressionAttributeValues={":ss": {"SS": ["a"]}},
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ),
        )
    step(
        "binary condition",
        lambda: dynamodb.put_item(
            TableName="exprs",
            Item={"pk": {"S": "bin"}, "b": {"B": b"\x01"}},
            ConditionExpression="attribute_not_exists(b) OR b <> :b",
            ExpressionAttributeValues={":b": {"B": b"\x01"}},
        ),
    )
    step(
        "binary condition fails",
        lambda: dynamodb.put_item(
            TableName="exprs",
            Item={"pk": {"S": "bin"}, "b": {"B": b"\x02"}},
            ConditionExpression="attribute_not_exists(b) OR b <> :b",
            ExpressionAttributeValues={":b": {"B": b"\x01"}},
        ),
    )
    # invalid expressions answer their errors every time
    for attempt in range(2):
        for name, (expression, values, condition) in INVALID_UPDATES.items():
            step(
                f"invalid update {name} {attempt}",
                lambda expression=expression, values=values, condition=condition: dynamodb.update_item(
                    TableName="exprs",
                    Key=key,
                    UpdateExpression=expression,
                    ExpressionAttributeValues=values,
                    **({"ConditionExpression": condition} if condition else {}),
                ),
            )
    def limiter_transaction(now: str, limit: str) -> Any:
        """The limiter's update (a kept expression and condition) beside a conditional put, in one transaction."""
        update = {
            "TableName": "exprs",
            "Key": key,
            "UpdateExpression": take,
            "ConditionExpression": "#c < :limit",
            "ExpressionAttributeNames": {"#t": "taken_at", "#c": "count"},
            "ExpressionAttributeValues": {":now": {"N": now}, ":zero": {"N": "0"}, ":one": {"N": "1"}, ":limit": {"N": limit}},
        }
        put = {"TableName": "exprs", "Item": {"pk": {"S": "tx"}}, "ConditionExpression": "attribute_not_exists(pk)"}
        return dynamodb.transact_write_items(TransactItems=[{"Update": update}, {"Put": put}])

    step("transaction with a kept update expression", lambda: limiter_transaction("60", "100"))
    step("transaction cancelled by a kept condition", lambda: limiter_transaction("70", "1"))
    step(
        "transaction with an invalid update expression",
        lambda: dynamodb.transact_write_items(
            TransactItems=[{"Update": {"TableName": "exprs", "Key": key, "UpdateExpression": "SET a = ", "ExpressionAttributeValues": {":v": {"N": "1"}}}}]
        ),
    )
    step("get limiter", lambda: dynamodb.get_item(TableName="exprs", Key=key, ConsistentRead=True))
    for number, low in enumerate(("0", "2", "0")):
        step(
            f"scan with a kept filter {number}",
            lambda low=low: dynamodb.scan(TableName="exprs", FilterExpression="#c > :low OR attribute_exists(#g)", ExpressionAttributeNames={"#c": "count", "#g": "tags"}, ExpressionAttributeValues={":low": {"N": low}}),
        )
    for attempt in range(2):
        step(f"scan with a bad filter {attempt}", lambda: dynamodb.scan(TableName="exprs", FilterExpression="#c >", ExpressionAttributeNames={"#c": "count"}))


def _read_body(response: dict[str, Any]) -> dict[str, Any]:
    return {**response, "Body": response["Body"].read()}


def test_every_answer_is_the_same_over_the_socket_and_in_process(server: MotoServer) -> None:
    assert server.transport is not None and server.transport.direct is not None
    server.reset_state()
    before = server.transport.requests
    over_socket = scenario(socket_clients(server))
    assert server.transport.requests == before, "the socket clients must not use the in-process transport"

    server.reset_state()
    wsgi = RecordingTransport(server, direct=False)
    through_wsgi = scenario(recording_clients(server, wsgi))
    server.reset_state()
    direct = RecordingTransport(server, direct=True)
    through_direct = scenario(recording_clients(server, direct))
    server.reset_state()
    early = RecordingTransport(server, direct=True)
    answered_early = scenario(recording_clients(server, early, early=True))
    server.reset_state()
    direct_before, early_before = server.transport.direct_requests, server.transport.calls_answered_early
    in_process = scenario(in_process_clients())  # the server's own transport, as the sandbox uses it
    assert server.transport.requests - before >= len(in_process)
    assert server.transport.direct_requests - direct_before == direct.direct_requests, "the sandbox's transport dispatches directly"
    assert server.transport.calls_answered_early - early_before == early.calls_answered_early, "and answers JSON calls early"

    for path, steps in (("wsgi", through_wsgi), ("direct", through_direct), ("early", answered_early), ("in process", in_process)):
        assert [name for name, _ in steps] == [name for name, _ in over_socket], path
        for (name, expected), (_, actual) in zip(over_socket, steps, strict=True):
            assert actual == expected, f"{path}: {name}"
    errors = {name: result["error"] for name, result in in_process if "error" in result}
    assert errors == {
        "conditional put fails": "ConditionalCheckFailedException",
        "transaction cancelled": "TransactionCanceledException",
        "cancelled transaction": "TransactionCanceledException",
        "fifo send without a group": "MissingParameter",
        "fifo send without deduplication": "InvalidParameterValue",
        "failed conditional update": "ConditionalCheckFailedException",
        "missing table": "ResourceNotFoundException",
        "validation error": "ValidationException",
        "missing queue": "AWS.SimpleQueueService.NonExistentQueue",
        "missing rule": "ResourceNotFoundException",
        "publish to missing topic": "NotFound",
        "missing secret": "ResourceNotFoundException",
        "missing key": "NoSuchKey",
        "head missing key": "404",
        "missing bucket": "NoSuchBucket",
        "missing glue table": "EntityNotFoundException",
        "work group exists": "InvalidRequestException",
        "limiter update 2": "ConditionalCheckFailedException",
        "set condition 1": "ConditionalCheckFailedException",
        "binary condition fails": "ConditionalCheckFailedException",
        "transaction cancelled by a kept condition": "TransactionCanceledException",
        "transaction with an invalid update expression": "ValidationException",
    } | {f"invalid update {name} {attempt}": "ValidationException" for name in INVALID_UPDATES for attempt in range(2)} | {
        f"scan with a bad filter {attempt}": "ValidationException" for attempt in range(2)
    }
    routed = next(result for name, result in in_process if name == "routed messages")["ok"]["Messages"]
    assert [m["Body"]["json"]["detail"]["n"] for m in routed] == [0, 2], "EventBridge routed only the matching detail-type"
    results = next(result for name, result in in_process if name == "query results")["ok"]["ResultSet"]["Rows"]
    assert results == [{"Data": [{"VarCharValue": "n"}]}, {"Data": [{"VarCharValue": "0"}]}], "the sandbox's Athena engine answered"

    # raw: the direct dispatch took every request but the Athena engine's, and answered what the
    # WSGI application answered, header for header and byte for byte but for ids, times and digests
    athena_engine_calls = 2  # StartQueryExecution, GetQueryResults
    assert wsgi.direct_requests == 0
    assert direct.direct_requests == direct.requests - athena_engine_calls == len(direct.answers) - athena_engine_calls
    assert len(direct.answers) == len(wsgi.answers)
    for (method, path, status, headers, body), (*request, wsgi_status, wsgi_headers, wsgi_body) in zip(direct.answers, wsgi.answers, strict=True):
        assert request == [method, path]
        assert (status, masked_headers(headers)) == (wsgi_status, masked_headers(wsgi_headers)), f"{method} {path}"
        assert masked_body(body) == masked_body(wsgi_body), f"{method} {path}"

    # raw: every JSON-protocol call answered early (unsigned, at before-call) got the answer its signed
    # request got, and only those were taken early (S3's and SNS's were signed and sent)
    assert 0 < early.calls_answered_early == direct.json_requests < early.requests
    assert len(early.answers) == len(direct.answers)
    for (method, path, status, headers, body), (*request, signed_status, signed_headers, signed_body) in zip(early.answers, direct.answers, strict=True):
        assert request == [method, path]
        assert (status, masked_headers(headers)) == (signed_status, masked_headers(signed_headers)), f"{method} {path}"
        assert masked_body(body) == masked_body(signed_body), f"{method} {path}"


def masked_body(body: bytes) -> bytes:
    for pattern, replacement in VOLATILE_BYTES:
        body = pattern.sub(replacement, body)
    return body


def masked_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, "<volatile>" if name.lower() in VOLATILE_HEADERS else value) for name, value in headers]


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


def test_the_compiled_json_walk_parses_every_answer_as_botocore_does(server: MotoServer) -> None:
    """Every JSON answer of the scenario (DynamoDB, SQS, EventBridge, Secrets Manager, Glue, Athena;
    errors' modeled members included), parsed by the transport's compiled walk and by botocore's own."""
    assert server.transport is not None
    compared: set[str] = set()
    different: list[str] = []

    def compare(shape: str, expected: Any, actual: Any) -> None:
        compared.add(shape)
        if expected != actual:
            different.append(f"{shape}: {expected!r} != {actual!r}")

    kept = server.transport.json_parser
    server.reset_state()
    server.transport.json_parser = CompiledJsonParser(compare=compare)
    try:
        scenario(in_process_clients())
    finally:
        server.transport.json_parser = kept
    assert different == []
    assert compared >= {
        "GetItemOutput", "QueryOutput", "ScanOutput", "BatchGetItemOutput", "UpdateItemOutput", "CreateTableOutput",
        "TransactionCanceledException", "ReceiveMessageResult", "PutEventsResponse", "GetSecretValueResponse",
        "GetTableResponse", "GetQueryResultsOutput",
    }


def test_converted_dynamodb_requests_are_what_moto_parses(server: MotoServer) -> None:
    """Every DynamoDB and SQS request of the scenario, its parameters converted and parsed by moto: identical."""
    comparisons = ParameterComparisons()
    server.reset_state()
    with json_requests_converted(comparisons):
        scenario(in_process_clients())
    operations = {"CreateTable", "PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem", "TransactWriteItems"}
    operations |= {"CreateQueue", "SendMessage", "SendMessageBatch", "ReceiveMessage", "ChangeMessageVisibilityBatch", "DeleteMessageBatch", "GetQueueAttributes"}
    assert set(comparisons.compared) >= operations
    assert comparisons.different == []


def test_bodies_the_converter_does_not_take_get_moto_s_answer(server: MotoServer) -> None:
    """Bodies botocore would not send (values of the wrong type, nulls, bad base64, no JSON, members the
    shape does not know) are answered, or crash, exactly as moto answers them without the converter."""
    assert server.transport is not None
    key = '"Key": {"pk": {"S": "a"}, "sk": {"S": "01"}}'
    get_item = ("dynamodb", "DynamoDB_20120810.GetItem")
    send = ("sqs", "AmazonSQS.SendMessage")
    queue = f'"QueueUrl": "{server.endpoint_url}/123456789012/q", "MessageBody": "m"'
    bodies = [
        (get_item, b""),
        (get_item, b"null"),
        (get_item, b"[]"),
        (get_item, b"not json"),
        (get_item, b'{"TableName": "t", "Key": []}'),
        (get_item, b'{"TableName": "t", "Key": {"pk": "a"}}'),
        (get_item, b'{"TableName": "t", "Key": {"pk": null, "sk": {"S": "01"}}}'),
        (get_item, b'{"TableName": "t", "Key": {"pk": {"B": "not base64!"}, "sk": {"S": "01"}}}'),
        (get_item, b'{"TableName": "t", "Key": {"pk": {"S": "a", "N": null}, "sk": {"S": "01"}}}'),
        (get_item, ('{"Unknown": 1, "ConsistentRead": null, "TableName": "t", ' + key + "}").encode()),
        (get_item, ('{"TableName": "t", "AttributesToGet": "pk", ' + key + "}").encode()),
        (send, ("{" + queue + ', "DelaySeconds": "1"}').encode()),
        (send, ("{" + queue + ', "MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": "%%%"}}}').encode()),
        (send, ("{" + queue + ', "MessageAttributes": []}').encode()),
    ]
    server.reset_state()
    scenario(in_process_clients())  # table "t" and its items, queue "q"

    def answers() -> list[Any]:
        found = []
        for (service, target), body in bodies:
            headers = signed(service, ("X-Amz-Target", target), JSON_10)
            try:
                status, _, content = server.transport.exchange("POST", server.endpoint_url + "/", headers, body)  # type: ignore[union-attr]
                found.append((status, masked_body(content)))
            except Exception as error:  # noqa: BLE001 - moto's crash is the answer compared
                found.append(("raised", type(error).__name__, str(error)))
        return found

    plain = answers()
    with json_requests_converted():
        assert answers() == plain
    assert any(answer[0] == "raised" for answer in plain) and any(answer[0] == 200 for answer in plain)


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


def test_what_the_direct_dispatch_declines_goes_through_the_wsgi_application(server: MotoServer) -> None:
    """CORS requests and moto's own API are answered by the WSGI application, unchanged."""
    assert server.transport is not None and server.transport.direct is not None
    transport = server.transport
    declined = {
        "an Origin header": ("POST", f"{server.endpoint_url}/", [("X-Amz-Target", "AmazonSQS.ListQueues"), ("Origin", "http://example.test")]),
        "a preflight": ("OPTIONS", f"{server.endpoint_url}/", [("Origin", "http://example.test"), ("Access-Control-Request-Method", "POST")]),
        "moto's API": ("GET", f"{server.endpoint_url}/moto-api/data.json", []),
    }
    for reason, (method, url, headers) in declined.items():
        environ = transport._environ(method, url, headers, b"")  # noqa: SLF001 - the environ the transport builds
        assert transport.direct.answer(environ) is None, reason
        direct_before = transport.direct_requests
        status, _, _ = transport.exchange(method, url, headers, b"")
        assert transport.direct_requests == direct_before, reason
        assert status < 500, reason


JSON_10 = ("Content-Type", "application/x-amz-json-1.0")


def signed(service: str, *headers: tuple[str, str]) -> list[tuple[str, str]]:
    """The headers of a raw request as botocore signs it for `service` (the signature is not checked)."""
    credential = f"Credential={DUMMY}/20260101/eu-west-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    return [("Authorization", f"AWS4-HMAC-SHA256 {credential}"), *headers]


def test_malformed_requests_get_the_same_answer_or_error_from_both_paths(server: MotoServer) -> None:
    """Requests botocore would not send: moto's errors, its crashes (raised to the caller in both)
    and Flask's 404 for an unrouted path come out of the direct dispatch as out of the application."""
    assert server.transport is not None and server.athena is not None
    server.reset_state()
    wsgi = InProcessTransport(server.athena, server.endpoint_url)
    direct = InProcessTransport(server.athena, server.endpoint_url, server.transport.direct)
    requests = [
        ("POST", "/", signed("dynamodb", ("X-Amz-Target", "DynamoDB_20120810.GetItem"), JSON_10), b"not json"),
        ("POST", "/", signed("dynamodb", ("X-Amz-Target", "DynamoDB_20120810.NoSuchOperation"), JSON_10), b"{}"),
        ("POST", "/", signed("sqs", ("X-Amz-Target", "AmazonSQS.GetQueueUrl"), JSON_10), b"{}"),
        ("POST", "/", signed("sns", ("Content-Type", "application/x-www-form-urlencoded")), b"Action=Publish&Version=2010-03-31"),
        ("GET", "/no/such/path", signed("events"), b""),
        ("PUT", "/some-bucket", signed("s3"), b""),
        ("HEAD", "/some-bucket", signed("s3"), b""),
        ("GET", "/some-bucket?location", signed("s3"), b""),
    ]

    crashed_in_direct_dispatch = 0

    def answer(transport: InProcessTransport, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> Any:
        nonlocal crashed_in_direct_dispatch
        try:
            status, response_headers, content = transport.exchange(method, server.endpoint_url + path, headers, body)
        except Exception as error:  # noqa: BLE001 - moto's crash is the answer compared
            crashed_in_direct_dispatch += any("moto_direct_dispatch" in frame.filename for frame in traceback.extract_tb(error.__traceback__))
            return ("raised", type(error).__name__, str(error))
        return (status, masked_headers(response_headers), masked_body(content))

    for method, path, headers, body in requests:
        assert answer(direct, method, path, headers, body) == answer(wsgi, method, path, headers, body), f"{method} {path}"
    crashes = 3
    assert (direct.direct_requests, crashed_in_direct_dispatch) == (len(requests) - 1 - crashes, crashes), "all but the unrouted path went the direct way"


def test_requests_for_other_hosts_are_left_to_botocore(server: MotoServer) -> None:
    from botocore.awsrequest import AWSPreparedRequest

    assert server.transport is not None
    elsewhere = AWSPreparedRequest("GET", "http://127.0.0.2:1/", {}, b"", stream_output=False)
    assert server.transport(elsewhere) is None


def test_athena_queries_read_the_objects_as_they_are_now(server: MotoServer) -> None:
    """The engine keeps its copies of a table's Parquet objects between queries: a query after an
    object is overwritten, deleted or added answers from the objects as they are then."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    server.reset_state()
    clients = in_process_clients()
    s3, glue, athena = clients("s3"), clients("glue"), clients("athena")
    s3.create_bucket(Bucket="facts", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    glue.create_database(DatabaseInput={"Name": "mirror"})
    storage = {"Columns": [{"Name": "n", "Type": "bigint"}], "Location": "s3://facts/plays/"}
    glue.create_table(DatabaseName="mirror", TableInput={"Name": "plays", "PartitionKeys": [{"Name": "day", "Type": "string"}], "StorageDescriptor": storage})

    def put(day: str, *values: int) -> None:
        buffer = io.BytesIO()
        pq.write_table(pa.table({"n": pa.array(values, pa.int64())}), buffer)
        s3.put_object(Bucket="facts", Key=f"plays/day={day}/part-0.parquet", Body=buffer.getvalue())

    def total_by_day() -> list[list[str | None]]:
        query = "SELECT day, sum(n) AS total FROM plays GROUP BY day ORDER BY day"
        started = athena.start_query_execution(QueryString=query, QueryExecutionContext={"Database": "mirror"})
        rows = athena.get_query_results(QueryExecutionId=started["QueryExecutionId"])["ResultSet"]["Rows"][1:]
        return [[cell.get("VarCharValue") for cell in row["Data"]] for row in rows]

    put("2026-01-01", 1, 2)
    put("2026-01-02", 10)
    assert total_by_day() == [["2026-01-01", "3"], ["2026-01-02", "10"]]
    assert total_by_day() == [["2026-01-01", "3"], ["2026-01-02", "10"]], "nothing changed: the same answer"
    put("2026-01-02", 20, 30)
    assert total_by_day() == [["2026-01-01", "3"], ["2026-01-02", "50"]], "an overwritten object is read again"
    s3.delete_object(Bucket="facts", Key="plays/day=2026-01-01/part-0.parquet")
    put("2026-01-03", 7)
    assert total_by_day() == [["2026-01-02", "50"], ["2026-01-03", "7"]], "a deleted object is gone, a new one is read"
