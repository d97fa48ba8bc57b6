"""Sends a record to its flow's dead-letter queue with the reason it could not be applied.

SQS's own redrive moves a message after too many receives but records no reason. Handlers therefore
dead-letter explicitly when a record can never succeed (a permanent error) or on its last allowed
receive, attaching the error code and message; the queue's redrive policy stays as the backstop for
invocations that crash outright (those arrive with no reason attribute).
"""

from __future__ import annotations

from typing import Any

import boto3

from functions.execution_environment import built_once

REASON_LIMIT = 1000


@built_once
def sqs_client() -> Any:
    return boto3.client("sqs")


def dead_letter(queue_url: str, body: str, *, flow: str, error_code: str, reason: str, receive_count: int, message_id: str) -> None:
    attributes = {
        "flow": flow,
        "error_code": error_code,
        "reason": reason[:REASON_LIMIT],
        "receive_count": str(receive_count),
        "original_message_id": message_id,
    }
    sqs_client().send_message(
        QueueUrl=queue_url,
        MessageBody=body,
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )
