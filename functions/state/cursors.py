"""Small named records: poller and monitor cursors, "last successful run" marks, rate-limit windows.

All live in the cursors table (`pk` = name). Rate-limit window counters carry a TTL (`expires_at`)
so DynamoDB deletes them by itself.
"""

from __future__ import annotations

from typing import Any

from functions.state.dynamo import dynamodb_client, from_item, to_item


class CursorStore:
    def __init__(self, table_name: str):
        self.table_name = table_name

    def get(self, name: str) -> dict[str, Any] | None:
        response = dynamodb_client().get_item(TableName=self.table_name, Key=to_item({"pk": name}), ConsistentRead=True)
        if "Item" not in response:
            return None
        values = from_item(response["Item"])
        values.pop("pk")
        return values

    def put(self, name: str, values: dict[str, Any]) -> None:
        dynamodb_client().put_item(TableName=self.table_name, Item=to_item({**values, "pk": name}))


class DynamoWindowCounters:
    """Rate-limit window counters shared by every concurrent Lambda using one credential."""

    def __init__(self, table_name: str):
        self.table_name = table_name

    def increment(self, key: str, window: int, expires_at: int) -> int:
        response = dynamodb_client().update_item(
            TableName=self.table_name,
            Key=to_item({"pk": f"rate#{key}#{window}"}),
            UpdateExpression="ADD request_count :one SET expires_at = :exp",
            ExpressionAttributeValues=to_item({":one": 1, ":exp": expires_at}),
            ReturnValues="UPDATED_NEW",
        )
        return int(from_item(response["Attributes"])["request_count"])
