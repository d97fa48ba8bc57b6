"""`schema_version` as it may arrive from anyone who can put on the bus: only a known integer is a
version; anything else (a list or an object, which are not even hashable, a bool, a string, a float)
is a permanent error for that one record — dead-lettered with its reason — never a crashed batch."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from functions.domain.errors import PermanentError, UnknownEventVersion
from functions.domain.events import SeriesChanged, parse_bus_envelope
from functions.settings import CoreSettings
from functions.sqs_batch import consume_sqs_batch

ODD_VERSIONS: list[Any] = [[1], [], {"version": 1}, {}, True, None, "1", 1.0, 2]


def envelope(version: Any, series_id: int = 7) -> str:
    detail = {"schema_version": version, "correlation_id": "", "series_id": series_id, "reason": "changed"}
    return json.dumps({"id": f"ev-{series_id}", "detail-type": "SeriesChanged", "source": "t", "time": "2031-06-01T08:00:00Z", "detail": detail})


@pytest.mark.parametrize("version", ODD_VERSIONS, ids=repr)
def test_a_version_that_is_not_a_known_integer_is_a_permanent_unknown_version(version: Any) -> None:
    with pytest.raises(UnknownEventVersion, match="SeriesChanged schema_version .* is not supported") as raised:
        parse_bus_envelope(envelope(version), (SeriesChanged,))
    assert isinstance(raised.value, PermanentError)


def test_unhashable_versions_are_dead_lettered_one_by_one_and_the_rest_of_the_batch_is_applied(aws: None) -> None:
    sqs = boto3.client("sqs")
    dead_letter_url = sqs.create_queue(QueueName="versions-dlq")["QueueUrl"]
    records = [
        {"messageId": "m-list", "body": envelope([1], 1), "attributes": {"ApproximateReceiveCount": "1"}},
        {"messageId": "m-object", "body": envelope({"major": 1}, 2), "attributes": {"ApproximateReceiveCount": "1"}},
        {"messageId": "m-good", "body": envelope(1, 3), "attributes": {"ApproximateReceiveCount": "1"}},
    ]
    handled: list[int] = []

    def handle(event: Any) -> None:
        handled.append(event.series_id)

    core = CoreSettings(event_bus_name="bus", dead_letter_queue_url=dead_letter_url)
    response = consume_sqs_batch({"Records": records}, None, flow="metadata-sync", core=core, accept=(SeriesChanged,), handle=handle)

    assert response == {"batchItemFailures": []}  # nothing retried, nothing crashed
    assert handled == [3]
    letters = sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    by_message = {m["MessageAttributes"]["original_message_id"]["StringValue"]: m["MessageAttributes"] for m in letters}
    assert set(by_message) == {"m-list", "m-object"}
    for attributes in by_message.values():
        assert attributes["error_code"]["StringValue"] == "unknown_event_version"
        assert "is not supported" in attributes["reason"]["StringValue"]
