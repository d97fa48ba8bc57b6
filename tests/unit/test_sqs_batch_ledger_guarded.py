"""`consume_sqs_batch(claims=False)`: for a flow whose side effects the ledger guards, no idempotency
record is read or written for the events it handles (a duplicate is handled again, and the ledger makes
that a no-op); `prepare` sees the batch's readable events first; the idempotency table only remembers
a failed receive's reason, which the dead-letter reason of a later crashed receive then carries."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import pytest

from functions.domain.errors import TransientError
from functions.domain.events import DomainEvent, EpisodeReevaluationDue
from functions.dead_letters import sqs_client
from functions.settings import CoreSettings
from functions.sqs_batch import consume_sqs_batch
from functions.state.dynamo import dynamodb_client
from functions.state.idempotency import IdempotencyStore
from infra.tables import TABLES
from sandbox.resources import _create_table

FLOW = "episode-publisher"
_tables = itertools.count(1)


@pytest.fixture
def store(aws: None) -> IdempotencyStore:
    spec = next(s for s in TABLES if s.table.value == "idempotency")
    return IdempotencyStore(_create_table(spec, f"guarded-idempotency-{next(_tables)}"))


def body(product_id: int, event_id: str) -> str:
    detail = EpisodeReevaluationDue(product_id=product_id, reason="test", due_at=datetime(2031, 3, 1, tzinfo=timezone.utc))
    return json.dumps(
        {
            "version": "0",
            "id": event_id,
            "detail-type": "EpisodeReevaluationDue",
            "source": "consonance-spotify",
            "account": "123456789012",
            "time": "2031-03-01T00:00:00Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": detail.model_dump(mode="json"),
        }
    )


def batch(*bodies: str) -> dict[str, Any]:
    return {"Records": [{"messageId": str(uuid.uuid4()), "body": b, "attributes": {"ApproximateReceiveCount": "1"}} for b in bodies]}


def consume(store: IdempotencyStore, event: dict[str, Any], handled: list[int], prepared: list[list[int]], fail: int | None = None) -> dict[str, Any]:
    def handle(domain_event: DomainEvent) -> None:
        assert isinstance(domain_event, EpisodeReevaluationDue)
        if domain_event.product_id == fail:
            raise TransientError("Megaphone answered 503")
        handled.append(domain_event.product_id)

    @contextmanager
    def prepare(events: list[DomainEvent]) -> Iterator[None]:
        prepared.append([e.product_id for e in events if isinstance(e, EpisodeReevaluationDue)])
        yield

    core = CoreSettings(event_bus_name="bus", max_receives=3)
    return consume_sqs_batch(
        event, None, flow=FLOW, core=core, accept=(EpisodeReevaluationDue,), handle=handle, idempotency=store, claims=False, prepare=prepare
    )


def stored_ids(store: IdempotencyStore) -> set[str]:
    return {item["id"]["S"] for item in dynamodb_client().scan(TableName=store.table_name)["Items"]}


def test_every_event_is_handled_and_no_claim_is_kept(store: IdempotencyStore) -> None:
    handled: list[int] = []
    prepared: list[list[int]] = []
    first = batch(body(1, "e1"), body(2, "e2"), body(1, "e1"), "not json", body(3, "e3"))
    response = consume(store, first, handled, prepared, fail=3)

    assert handled == [1, 2, 1]  # the duplicate of e1 is handled again: the ledger, not a claim, makes it a no-op
    assert prepared == [[1, 2, 1, 3]]  # the readable events, before any is handled
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert failed == {first["Records"][i]["messageId"] for i in (3, 4)}  # e3 and the malformed one (no DLQ configured here)
    # nothing but the failed receives' reasons: no claim or completion for the events handled
    assert stored_ids(store) == {f"failure#{first['Records'][i]['messageId']}" for i in (3, 4)}


def test_a_crash_after_a_failed_receive_is_dead_lettered_with_that_failure(store: IdempotencyStore) -> None:
    dead_letters = sqs_client().create_queue(QueueName=f"guarded-dlq-{next(_tables)}")["QueueUrl"]
    core = CoreSettings(event_bus_name="bus", max_receives=3, dead_letter_queue_url=dead_letters)
    record = {"messageId": str(uuid.uuid4()), "body": body(3, "e3"), "attributes": {"ApproximateReceiveCount": "2"}}
    handled: list[int] = []

    def handle(domain_event: DomainEvent) -> None:
        raise TransientError("Megaphone answered 503")

    def run(receive: int) -> dict[str, Any]:
        delivery = {"Records": [{**record, "attributes": {"ApproximateReceiveCount": str(receive)}}]}
        return consume_sqs_batch(delivery, None, flow=FLOW, core=core, accept=(EpisodeReevaluationDue,), handle=handle, idempotency=store, claims=False)

    assert run(2)["batchItemFailures"]  # failed, retried; its reason remembered
    # receive 3 (the last allowed) died with the invocation; receive 4 is dead-lettered at once, with the reason of receive 2
    assert run(4) == {"batchItemFailures": []}
    assert handled == []
    sent = sqs_client().receive_message(QueueUrl=dead_letters, MessageAttributeNames=["All"])["Messages"]
    reason = sent[0]["MessageAttributes"]["reason"]["StringValue"]
    assert "crashed or timed out on receive 3" in reason and "TransientError: Megaphone answered 503" in reason, reason
