"""Idempotency records for side effects keyed by (flow, entity, content hash).

Why not Powertools Idempotency: its in-progress and expiry checks read the wall clock, while every
decision here must follow the injected clock (the sandbox runs days in seconds, and a crashed
handler's lease must expire in that same time). The semantics are the same: a key is claimed with a
lease before the side effect, completed with its result after it, and a redelivery of a completed key
returns the stored result instead of acting twice. Records expire through DynamoDB TTL.
"""

from __future__ import annotations

from typing import Any

from functions.clock import epoch_seconds
from functions.domain.errors import TransientError
from functions.state.dynamo import dynamodb_client, from_item, to_item, unless_condition_failed

DEFAULT_RETENTION_SECONDS = 7 * 24 * 3600
FAILURE_RETENTION_SECONDS = 14 * 24 * 3600  # as long as a DLQ keeps a message
FAILURE_KEY_PREFIX = "failure#"


class AlreadyInProgress(TransientError):
    code = "already_in_progress"


class IdempotencyStore:
    def __init__(self, table_name: str, retention_seconds: int = DEFAULT_RETENTION_SECONDS):
        self.table_name = table_name
        self.retention_seconds = retention_seconds

    def completed_result(self, key: str) -> dict[str, Any] | None:
        response = dynamodb_client().get_item(TableName=self.table_name, Key=to_item({"id": key}), ConsistentRead=True)
        item = from_item(response["Item"]) if "Item" in response else None
        if item and item.get("status") == "COMPLETED":
            result: dict[str, Any] = item.get("result", {})
            return result
        return None

    def claim(self, key: str, lease_seconds: float) -> dict[str, Any] | None:
        """Claim `key`. Returns the stored result if it already completed; raises if another holds it."""
        now = epoch_seconds()
        claimed = unless_condition_failed(
            lambda: dynamodb_client().put_item(
                TableName=self.table_name,
                Item=to_item(
                    {
                        "id": key,
                        "status": "INPROGRESS",
                        "lease_until": int(now + lease_seconds),
                        "expiration": int(now + self.retention_seconds),
                    }
                ),
                ConditionExpression="attribute_not_exists(id) OR (#s = :inprogress AND lease_until < :now)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=to_item({":inprogress": "INPROGRESS", ":now": int(now)}),
            )
        )
        if claimed is not None:
            return None
        result = self.completed_result(key)
        if result is not None:
            return result
        raise AlreadyInProgress(f"{key} is being processed by another invocation")

    def complete(self, key: str, result: dict[str, Any]) -> None:
        dynamodb_client().put_item(
            TableName=self.table_name,
            Item=to_item(
                {"id": key, "status": "COMPLETED", "result": result, "expiration": int(epoch_seconds() + self.retention_seconds)}
            ),
        )

    def release(self, key: str) -> None:
        """Give a claim back after a failure, so the retry need not wait for the lease."""
        unless_condition_failed(  # held by another invocation again, or gone: nothing to give back
            lambda: dynamodb_client().delete_item(
                TableName=self.table_name,
                Key=to_item({"id": key}),
                ConditionExpression="#s = :inprogress",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=to_item({":inprogress": "INPROGRESS"}),
            )
        )

    def remember_failure(self, message_id: str, reason: str) -> None:
        """What a record's receive failed with, for the dead-letter reason should its next receive crash."""
        dynamodb_client().put_item(
            TableName=self.table_name,
            Item=to_item(
                {"id": f"{FAILURE_KEY_PREFIX}{message_id}", "reason": reason[:1000], "expiration": int(epoch_seconds() + FAILURE_RETENTION_SECONDS)}
            ),
        )

    def last_failure(self, message_id: str) -> str | None:
        response = dynamodb_client().get_item(TableName=self.table_name, Key=to_item({"id": f"{FAILURE_KEY_PREFIX}{message_id}"}), ConsistentRead=True)
        item = from_item(response["Item"]) if "Item" in response else None
        return str(item["reason"]) if item and item.get("reason") else None
