"""A DynamoDB client per process and item (de)serialisation, shared by every repository.

The client is created on first use (not at import) so cold starts stay cheap and so tests and the
sandbox can point `AWS_ENDPOINT_URL` at moto before anything connects.
"""

from __future__ import annotations

from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from functions.execution_environment import built_once

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@built_once
def dynamodb_client() -> Any:
    return boto3.client("dynamodb")


def reset_clients() -> None:
    dynamodb_client.cache_clear()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the project stores only integers."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
