"""Sends domain events straight to another flow's queue (that flow's `DirectTrigger`), delayed when
the work they ask for is due later: EventBridge delivers at once, SQS holds a message up to 15
minutes (`DelaySeconds`).

Each body is the envelope EventBridge would deliver (id, detail-type, source, time, detail), so the
receiving flow parses it with `parse_bus_envelope` like any event, and `dlq list`, the redrive and the
duplicate checks read it like a bus event. A sender may send only the events its target accepts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from functions.clock import utcnow
from functions.dead_letters import sqs_client
from functions.domain.errors import TransientError
from functions.domain.events import DomainEvent
from functions.event_bus import UndeclaredEvent
from functions.flow_declarations import MAX_MESSAGE_DELAY_SECONDS

MAX_ENTRIES_PER_CALL = 10  # SendMessageBatch
ATTEMPTS = 3


class DirectSendFailed(TransientError):
    code = "direct_send_failed"


class DirectMessages:
    """One target flow's queue, as seen by a flow that declares `sends_to` it."""

    def __init__(self, queue_url: str, source: str, accepted: Sequence[type[DomainEvent]]):
        self.queue_url = queue_url
        self.source = source
        self.accepted = frozenset(accepted)

    def send(self, events: Sequence[DomainEvent], *, delay_seconds: int = 0) -> None:
        if not 0 <= delay_seconds <= MAX_MESSAGE_DELAY_SECONDS:
            raise ValueError(f"an SQS message delay is 0-{MAX_MESSAGE_DELAY_SECONDS} s, not {delay_seconds}")
        refused = sorted({type(event).__name__ for event in events if type(event) not in self.accepted})
        if refused:
            raise UndeclaredEvent(f"the target queue does not accept {', '.join(refused)}")
        entries = [self._entry(str(index), event, delay_seconds) for index, event in enumerate(events)]
        for start in range(0, len(entries), MAX_ENTRIES_PER_CALL):
            self._send(entries[start : start + MAX_ENTRIES_PER_CALL])

    def _entry(self, entry_id: str, event: DomainEvent, delay_seconds: int) -> dict[str, Any]:
        envelope = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": event.detail_type,
            "source": self.source,
            "time": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),  # the injected clock: virtual in the sandbox
            "resources": [],
            "detail": event.model_dump(mode="json"),
        }
        return {"Id": entry_id, "MessageBody": json.dumps(envelope), "DelaySeconds": delay_seconds}

    def _send(self, entries: list[dict[str, Any]]) -> None:
        pending = entries
        for _ in range(ATTEMPTS):
            response = sqs_client().send_message_batch(QueueUrl=self.queue_url, Entries=pending)
            failed = {failure["Id"] for failure in response.get("Failed", [])}
            pending = [entry for entry in pending if entry["Id"] in failed]
            if not pending:
                return
        raise DirectSendFailed(f"{len(pending)} message(s) could not be sent to {self.queue_url}")
