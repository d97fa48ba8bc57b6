"""S3 "Object Created" events from EventBridge: parsed into the object they announce, or refused with a
typed error; settled per record like domain events (a permanent error dead-letters with its reason)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.domain.errors import MalformedEvent, PermanentError, UnknownEventType
from functions.object_events import StoredObject, parse_object_created
from functions.settings import CoreSettings
from functions.sqs_batch import consume_object_events


def s3_event(key: str = "exports/delivery-v2-day-2026-12-01.json.gz", **overrides: Any) -> dict[str, Any]:
    """As AWS documents it (ev-events.html): `etag`, `version-id`, `reason`."""
    event = {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-12-02T04:00:01Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:s3:::export-bucket"],
        "detail": {
            "version": "0",
            "bucket": {"name": "export-bucket"},
            "object": {"key": key, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184", "version-id": "IYV3p45BhZA", "sequencer": "617f08299329d189"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }
    event.update(overrides)
    return event


def test_an_object_created_event_names_its_bucket_key_and_version() -> None:
    stored = parse_object_created(json.dumps(s3_event()))
    assert (stored.bucket, stored.key, stored.size, stored.etag, stored.version_id) == (
        "export-bucket", "exports/delivery-v2-day-2026-12-01.json.gz", 5, "b1946ac92492d2347c6235b4d2611184", "IYV3p45BhZA",
    )
    assert stored.event_id == "17793124-05d4-b198-2fde-7ededc63b103"
    assert stored.entity_key() == "s3://export-bucket/exports/delivery-v2-day-2026-12-01.json.gz"


def test_moto_spelling_of_the_etag_is_read_too() -> None:
    event = s3_event()
    event["detail"]["object"]["eTag"] = event["detail"]["object"].pop("etag")
    assert parse_object_created(json.dumps(event)).etag == "b1946ac92492d2347c6235b4d2611184"


def test_keys_arrive_as_stored_not_url_decoded() -> None:
    assert parse_object_created(json.dumps(s3_event(key="a+b%20c:d.json.gz"))).key == "a+b%20c:d.json.gz"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("not json", MalformedEvent),
        (json.dumps({**s3_event(), "detail": {"bucket": {"name": "export-bucket"}}}), MalformedEvent),
        (json.dumps(s3_event(**{"detail-type": "Object Deleted"})), UnknownEventType),
        (json.dumps(s3_event(source="consonance-spotify")), UnknownEventType),
    ],
)
def test_anything_else_is_refused_with_a_typed_permanent_error(body: str, error: type[PermanentError]) -> None:
    with pytest.raises(error):
        parse_object_created(body)


def test_records_are_settled_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    dead: list[dict[str, Any]] = []
    monkeypatch.setattr("functions.sqs_batch.dead_letter", lambda url, body, **fields: dead.append(fields))
    handled: list[StoredObject] = []

    class Busy(Exception):
        pass

    def handle(stored: StoredObject) -> None:
        if stored.key.endswith("busy"):
            raise Busy("try later")
        handled.append(stored)

    records = [
        {"messageId": "m1", "body": json.dumps(s3_event(key="ok.json.gz")), "attributes": {"ApproximateReceiveCount": "1"}},
        {"messageId": "m2", "body": json.dumps(s3_event(source="elsewhere")), "attributes": {"ApproximateReceiveCount": "1"}},
        {"messageId": "m3", "body": json.dumps(s3_event(key="busy")), "attributes": {"ApproximateReceiveCount": "1"}},
    ]
    core = CoreSettings(event_bus_name="bus", dead_letter_queue_url="https://sqs.invalid/dlq", max_receives=5)
    response = consume_object_events({"Records": records}, None, flow="analytics-export-ingest", core=core, handle=handle)
    assert [s.key for s in handled] == ["ok.json.gz"]
    assert response == {"batchItemFailures": [{"itemIdentifier": "m3"}]}  # retried; the foreign event is dead-lettered
    assert [(d["error_code"], d["message_id"]) for d in dead] == [("unknown_event_type", "m2")]
