"""Small named records: poller and monitor cursors, "last successful run" marks, rate-limit schedules.

All live in the cursors table (`pk` = name). A rate-limit schedule carries a TTL (`expires_at`) so
DynamoDB deletes it by itself once its credential has been idle for a day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.observability import logger
from functions.state.dynamo import dynamodb_client, from_item, to_item, unless_condition_failed

SCHEDULE_EXPIRY_MARGIN_SECONDS = 86_400
LAST_SUCCESS = "last_success_at"
# How stale a cursor's last-success mark may get while its position stands still (see `advance`).
LAST_SUCCESS_REFRESH = timedelta(hours=1)


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

    def advance(self, name: str, previous: dict[str, Any] | None, values: dict[str, Any]) -> bool:
        """A successful run's cursor, written unless it only restates `previous` (as read at the run's
        start): the same position, and a last-success mark under `LAST_SUCCESS_REFRESH` old. Why: a
        poller's position is a date, so three in four of its 15-minute runs would write the same item
        again. Returns whether it wrote."""
        if previous is not None and _restates(previous, values):
            return False
        self.put(name, values)
        return True


def _restates(previous: dict[str, Any], values: dict[str, Any]) -> bool:
    stored = from_item(to_item(values))  # as it would read back (no None values, plain numbers)
    if {k: v for k, v in stored.items() if k != LAST_SUCCESS} != {k: v for k, v in previous.items() if k != LAST_SUCCESS}:
        return False
    marked, now = previous.get(LAST_SUCCESS), stored.get(LAST_SUCCESS)
    if not isinstance(marked, str) or not isinstance(now, str):
        return marked == now
    return datetime.fromisoformat(now) - datetime.fromisoformat(marked) < LAST_SUCCESS_REFRESH


class DynamoSlotSchedule:
    """The rate-limit slot schedules (`functions.connectors.rate_limit`) shared by every concurrent Lambda:
    one item per credential (`pk` = `rate#<key>`) holding `next_free_ms` and its TTL `expires_at`,
    changed only by conditional writes (a failed condition is the answer "the schedule is in the other
    state"). A restart sets the whole item, so it is a conditional `PutItem`: the same write, with no
    update expression for DynamoDB to evaluate; an extension and a give-back add to the stored value,
    so they are `UpdateItem`s."""

    def __init__(self, table_name: str):
        self.table_name = table_name

    def extend(self, key: str, amount_ms: int, now_ms: int) -> int | None:
        return self._update(
            key,
            "SET next_free_ms = next_free_ms + :amount, expires_at = :expires",
            "next_free_ms >= :now",
            {":amount": amount_ms, ":now": now_ms, ":expires": _expiry(now_ms + amount_ms)},
        )

    def restart(self, key: str, amount_ms: int, now_ms: int) -> int | None:
        end = now_ms + amount_ms
        written = unless_condition_failed(
            lambda: dynamodb_client().put_item(
                TableName=self.table_name,
                Item=to_item({"pk": _schedule_key(key), "next_free_ms": end, "expires_at": _expiry(end)}),
                ConditionExpression="attribute_not_exists(next_free_ms) OR next_free_ms < :now",
                ExpressionAttributeValues=to_item({":now": now_ms}),
            )
        )
        return None if written is None else end

    def give_back(self, key: str, amount_ms: int, end_ms: int) -> bool:
        """Giving back only saves other Lambdas some waiting: a failure of any kind leaves the slots
        reserved, which is safe, and must not fail the invocation whose work is done."""
        try:
            return (
                self._update(key, "SET next_free_ms = next_free_ms - :amount", "next_free_ms = :end", {":amount": amount_ms, ":end": end_ms})
                is not None
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning("rate-limit slots not given back", extra={"rate_key": key, "error": type(exc).__name__})
            return False

    def _update(self, key: str, update: str, condition: str, values: dict[str, int]) -> int | None:
        response = unless_condition_failed(
            lambda: dynamodb_client().update_item(
                TableName=self.table_name,
                Key=to_item({"pk": _schedule_key(key)}),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=to_item(values),
                ReturnValues="UPDATED_NEW",
            )
        )
        return None if response is None else int(from_item(response["Attributes"])["next_free_ms"])


def _schedule_key(key: str) -> str:
    return f"rate#{key}"


def _expiry(end_ms: int) -> int:
    """The item's TTL: a day past the end of the block just reserved. An extension knows only its own
    block's end, not the queue ahead of it, so the margin must exceed any queue the credential can
    build (a day of requests, e.g. 5,400 Lambdas each holding a block of 16 at 60/min), or DynamoDB
    could delete a schedule that still has slots ahead."""
    return end_ms // 1000 + SCHEDULE_EXPIRY_MARGIN_SECONDS
