"""A DynamoDB client per process and item (de)serialisation, shared by every repository.

The client is created on first use (not at import) so cold starts stay cheap and so tests and the
sandbox can point `AWS_ENDPOINT_URL` at moto before anything connects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from functions.domain.errors import TransientError
from functions.execution_environment import built_once

BATCH_GET_LIMIT = 100  # keys per BatchGetItem
BATCH_WRITE_LIMIT = 25  # requests per BatchWriteItem
BATCH_ATTEMPTS = 8  # calls per chunk before unprocessed keys or items are a transient failure

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@built_once
def dynamodb_client() -> Any:
    return boto3.client("dynamodb")


def reset_clients() -> None:
    dynamodb_client.cache_clear()


def unless_condition_failed(write: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """The answer to a conditional write, or None when DynamoDB refused it on its condition (any
    other error is raised): the one place that tells a refused condition from a failure."""
    try:
        return write()
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise


def batch_get(table: str, keys: list[dict[str, Any]], projection: Projection | None = None) -> Iterator[dict[str, Any]]:
    """The items of `keys` (serialised) that exist, in as few consistent BatchGetItem calls as
    possible: why — one round trip reads what a whole batch of records needs. With `projection`,
    only those attributes of each item."""
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: dict[str, Any] = {table: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True, **(projection.arguments() if projection else {})}}
        for _ in range(BATCH_ATTEMPTS):
            response = dynamodb_client().batch_get_item(RequestItems=request)
            yield from response.get("Responses", {}).get(table, [])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise TransientError(f"{table}: batch read left keys unprocessed")


@dataclass(frozen=True)
class Projection:
    """The attributes a read returns (`ProjectionExpression`), every name through a placeholder: a
    reader that needs a few attributes of large items is neither sent nor parses the rest."""

    attributes: tuple[str, ...]

    @property
    def names(self) -> dict[str, str]:
        return {f"#p{i}": name for i, name in enumerate(self.attributes)}

    def arguments(self) -> dict[str, Any]:
        """The read's `ProjectionExpression` and its `ExpressionAttributeNames`."""
        return {"ProjectionExpression": ", ".join(self.names), "ExpressionAttributeNames": self.names}


def batch_put(table: str, items: list[dict[str, Any]]) -> None:
    """Unconditional puts of `items` (serialised), 25 a BatchWriteItem call, unprocessed ones retried."""
    for start in range(0, len(items), BATCH_WRITE_LIMIT):
        request: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE_LIMIT]]}
        for _ in range(BATCH_ATTEMPTS):
            request = dynamodb_client().batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            if not request:
                break
        else:
            raise TransientError(f"{table}: batch write left items unprocessed")


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    # A string (most attributes) is its own value: answered before the generic deserializer.
    return {k: v["S"] if "S" in v else _plain(_deserializer.deserialize(v)) for k, v in item.items()}


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
