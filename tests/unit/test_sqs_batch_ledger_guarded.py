"""`consume_sqs_batch(claim_each=False)`: for a flow whose side effects the ledger guards, the batch's
completed events are read in one call, each new event is handled once (a duplicate in the same batch
too), and the applied ones are completed in one call at the end; a failed record is not completed."""

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
from functions.settings import CoreSettings
from functions.sqs_batch import consume_sqs_batch
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

    core = CoreSettings(event_bus_name="bus")
    return consume_sqs_batch(
        event, None, flow=FLOW, core=core, accept=(EpisodeReevaluationDue,), handle=handle, idempotency=store, claim_each=False, prepare=prepare
    )


def test_each_event_once_then_completed_together(store: IdempotencyStore) -> None:
    handled: list[int] = []
    prepared: list[list[int]] = []
    first = batch(body(1, "e1"), body(2, "e2"), body(1, "e1"), "not json", body(3, "e3"))
    response = consume(store, first, handled, prepared, fail=3)

    assert handled == [1, 2]  # the duplicate of e1 in the same batch is not handled again
    assert prepared == [[1, 2, 1, 3]]  # the readable events, before any is handled
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert failed == {first["Records"][i]["messageId"] for i in (3, 4)}  # e3 and the malformed one (no DLQ configured here)
    assert store.completed_among([f"{FLOW}|episode#{n}|e{n}" for n in (1, 2, 3)]) == {f"{FLOW}|episode#1|e1", f"{FLOW}|episode#2|e2"}

    handled.clear()
    consume(store, batch(body(1, "e1"), body(3, "e3")), handled, prepared)
    assert handled == [3]  # e1 was completed: recognised without running again
