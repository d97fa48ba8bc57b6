"""The compiled converters give what moto's JSON parser gives, for bodies botocore sends and bodies it
would not: blobs and blob sets, timestamps, integers, nulls, members the shape does not know, keys out
of the shape's order, empty and broken bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.core.parse import JSONParser
from moto.core.utils import get_service_model

from sandbox.moto_json_requests import JsonShapeMismatch, json_request_converter
from tests.moto_parameters import identical

ITEM = {
    "sk": {"S": "01"},
    "pk": {"S": "a"},
    "blob": {"B": "AAEC"},
    "blobs": {"BS": ["AA==", "AQI="]},
    "numbers": {"NS": ["1", "2.5"]},
    "nested": {"M": {"list": {"L": [{"NULL": True}, {"BOOL": False}, {"B": "/w=="}, {"S": ""}]}}},
    "both": {"S": "x", "N": None, "Unknown": 1},
}
BODIES = {
    "PutItem": [
        {"Item": ITEM, "TableName": "t", "ConditionExpression": "attribute_not_exists(pk)", "ReturnValues": None, "Extra": {"x": 1}},
        {"TableName": "t", "Item": {}},
        {},
    ],
    "Query": [
        {"TableName": "t", "Limit": 5, "ExclusiveStartKey": {"pk": {"S": "a"}}, "ScanIndexForward": False, "ExpressionAttributeValues": {":b": {"B": "AA=="}}},
    ],
    "RestoreTableToPointInTime": [
        {"SourceTableName": "a", "TargetTableName": "b", "RestoreDateTime": 1767225600.5},
        {"SourceTableName": "a", "TargetTableName": "b", "RestoreDateTime": "2026-01-01T00:00:00Z"},
    ],
    "CreateTable": [
        {
            "TableName": "t",
            "KeySchema": [{"KeyType": "HASH", "AttributeName": "pk"}],
            "AttributeDefinitions": [{"AttributeType": "S", "AttributeName": "pk"}],
            "ProvisionedThroughput": {"WriteCapacityUnits": 1, "ReadCapacityUnits": 2},
            "Tags": [{"Value": "v", "Key": "k"}],
        }
    ],
}


def parsed_by_moto(operation: str, body: bytes) -> Any:
    operation_model = get_service_model("dynamodb").operation_model(operation)
    parser = JSONParser(operation_model, map_type=dict)
    return parser.parse({"method": "POST", "values": {}, "headers": {}, "body": body, "url_path": "/", "url_params": {}})  # type: ignore[typeddict-item]


def converted(operation: str, body: bytes) -> Any:
    convert = json_request_converter(get_service_model("dynamodb").operation_model(operation))
    assert convert is not None
    return convert(body)


@pytest.mark.parametrize(("operation", "body"), [(operation, json.dumps(body).encode()) for operation, bodies in BODIES.items() for body in bodies])
def test_converted_bodies_are_what_moto_parses(operation: str, body: bytes) -> None:
    assert identical(converted(operation, body), parsed_by_moto(operation, body))


@pytest.mark.parametrize("body", [b"", b"null", b"not json", b'{"TableName": "\\u00e9t\\u00e9"}', '{"TableName": "été"}'.encode(), b'{"TableName": "\xe9"}'])
def test_empty_and_broken_bodies_are_what_moto_parses(body: bytes) -> None:
    assert identical(converted("GetItem", body), parsed_by_moto("GetItem", body))


@pytest.mark.parametrize("body", [b"[]", b'{"TableName": "t", "Key": []}', b'{"TableName": "t", "Key": {"pk": "a"}}', b'{"AttributesToGet": "pk"}'])
def test_values_of_the_wrong_type_are_left_to_moto(body: bytes) -> None:
    """moto's parser raises for most of these and makes a list of characters of the last: the
    converter takes none of them (`json_requests_converted` hands them to moto)."""
    with pytest.raises(JsonShapeMismatch):
        converted("GetItem", body)


def test_every_dynamodb_operation_has_a_converter() -> None:
    service_model = get_service_model("dynamodb")
    assert all(json_request_converter(service_model.operation_model(name)) is not None for name in service_model.operation_names)
