"""The compiled JSON response walk (sandbox.botocore_json_responses) parses what botocore's own walk
parses: crafted bodies over real service models — nested and recursive shapes, blobs and
timestamps, nulls where botocore keeps and where it drops them, unknown members, members whose wire
name differs, a document, empty and non-JSON bodies. The AWS transport's scenario compares it on
every answer moto gives (tests/sandbox/test_aws_transport.py)."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.parsers import JSONParser

from sandbox.botocore_json_responses import CompiledJsonParser

SESSION = botocore.session.get_session()


def output_shape(service: str, operation: str) -> Any:
    return SESSION.get_service_model(service).operation_model(operation).output_shape


def response(body: Any, status: int = 200) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return {"status_code": status, "headers": {"x-amzn-RequestId": "r-1", "Content-Type": "application/x-amz-json-1.0"}, "body": raw, "context": {}}


ITEM = {
    "pk": {"S": "a"},
    "n": {"N": "1.5"},
    "b": {"B": "AAEC"},
    "bs": {"BS": ["AAE=", "Ag=="]},
    "m": {"M": {"inner": {"L": [{"S": "x"}, {"M": {"deep": {"B": "/w=="}}}, {"NULL": True}, {"BOOL": False}]}}},
    "ns": {"NS": ["1", "2"]},
    "empty": {"M": {}},
    "nothing": {},  # no type at all
    "unknown": {"X": "not a member"},
    "two": {"S": "s", "N": "1"},  # two members: botocore keeps both
    "null member": {"S": None},
}

CASES = [
    ("dynamodb", "GetItem", {"Item": ITEM, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}}),
    ("dynamodb", "GetItem", {"Item": None}),  # a structure sent as null
    ("dynamodb", "GetItem", {"Item": {"pk": None}}),  # a map value that is null: botocore keeps None
    ("dynamodb", "Query", {"Items": [ITEM, None, {"pk": {"S": "b"}}], "Count": 3, "ScannedCount": 3, "LastEvaluatedKey": {"pk": {"S": "b"}}, "Extra": 1}),
    ("dynamodb", "BatchGetItem", {"Responses": {"t": [ITEM]}, "UnprocessedKeys": {"t": {"Keys": [{"pk": {"B": "AA=="}}], "ConsistentRead": True}}}),
    ("dynamodb", "DescribeTable", {"Table": {"TableName": "t", "CreationDateTime": 1764547200.5, "TableStatus": "ACTIVE", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}}),
    ("sqs", "ReceiveMessage", {"Messages": [{"MessageId": "m", "Body": "b", "Attributes": {"SentTimestamp": "1"}, "MessageAttributes": {"k": {"DataType": "Binary", "BinaryValue": "AAE="}}}]}),
    ("events", "PutEvents", {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}, None]}),
    ("secretsmanager", "GetSecretValue", {"ARN": "arn", "SecretBinary": "AAE=", "CreatedDate": 1764547200, "VersionStages": ["AWSCURRENT"]}),
    ("dynamodb", "GetItem", {}),
    ("dynamodb", "GetItem", b""),  # an empty body: {}
    ("dynamodb", "GetItem", b"not json"),  # kept as the message
]


@pytest.mark.parametrize(("service", "operation", "body"), CASES)
def test_the_compiled_walk_parses_what_botocore_parses(service: str, operation: str, body: Any) -> None:
    shape = output_shape(service, operation)
    expected = JSONParser().parse(response(body), shape)
    compiled = CompiledJsonParser()
    assert compiled.parse(response(body), shape) == expected
    assert compiled.parse(response(body), shape) == expected, "and again, from the compiled walk kept for the shape"


def test_members_keep_botocore_s_order() -> None:
    shape = output_shape("dynamodb", "Query")
    body = {"ScannedCount": 1, "Items": [{"pk": {"S": "a"}}], "Count": 1}
    expected = JSONParser().parse(response(body), shape)
    parsed = CompiledJsonParser().parse(response(body), shape)
    assert list(parsed) == list(expected)


def test_the_comparison_sees_both_walks() -> None:
    seen: list[tuple[str, bool, Any]] = []
    shape = output_shape("dynamodb", "GetItem")
    compare = lambda name, expected, actual: seen.append((name, expected == actual, expected))  # noqa: E731
    CompiledJsonParser(compare=compare).parse(response({"Item": ITEM}), shape)
    ((name, same, expected),) = seen
    assert name == "GetItemOutput" and same and expected["Item"]["b"] == {"B": b"\x00\x01\x02"}


def test_a_wrongly_typed_value_fails_as_botocore_fails() -> None:
    shape = output_shape("dynamodb", "Query")
    body = {"Items": "not a list of items"}
    with pytest.raises(AttributeError):
        JSONParser().parse(response(body), shape)
    with pytest.raises(AttributeError):
        CompiledJsonParser().parse(response(body), shape)
