"""Publishes domain events to the EventBridge bus, in batches of ten, retrying entries that failed.

A bus is built for one flow with the events its declaration `emits`; publishing anything else is a
programming error (`UndeclaredEvent`), caught here before IAM would refuse it in AWS (the stack grants
PutEvents only for the declared detail-types)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import boto3

from functions.clock import utcnow
from functions.domain.errors import TransientError
from functions.domain.events import DomainEvent
from functions.execution_environment import built_once

MAX_ENTRIES_PER_CALL = 10
ATTEMPTS = 3


class EventPublishFailed(TransientError):
    code = "event_publish_failed"


class UndeclaredEvent(RuntimeError):
    """A flow tried to publish an event its declaration does not list in `emits`."""


@built_once
def events_client() -> Any:
    return boto3.client("events")


class EventBus:
    def __init__(self, bus_name: str, source: str, allowed: Iterable[type[DomainEvent]] | None = None):
        self.bus_name = bus_name
        self.source = source
        self.allowed = frozenset(allowed) if allowed is not None else None
        self.published: int = 0

    def publish(self, events: Sequence[DomainEvent]) -> None:
        if self.allowed is not None:
            undeclared = sorted({type(event).__name__ for event in events if type(event) not in self.allowed})
            if undeclared:
                raise UndeclaredEvent(f"this flow does not declare that it emits {', '.join(undeclared)}")
        entries = [self._entry(event) for event in events]
        for start in range(0, len(entries), MAX_ENTRIES_PER_CALL):
            self._put(entries[start : start + MAX_ENTRIES_PER_CALL])

    def _entry(self, event: DomainEvent) -> dict[str, Any]:
        return {
            "EventBusName": self.bus_name,
            "Source": self.source,
            "DetailType": event.detail_type,
            "Time": utcnow(),  # the injected clock's time: virtual in the sandbox
            "Detail": json.dumps(event.model_dump(mode="json")),
            "Resources": [],
        }

    def _put(self, entries: list[dict[str, Any]]) -> None:
        pending = entries
        for _ in range(ATTEMPTS):
            response = events_client().put_events(Entries=pending)
            if not response.get("FailedEntryCount"):
                self.published += len(pending)
                return
            failed = [e for e, r in zip(pending, response["Entries"], strict=True) if r.get("ErrorCode")]
            self.published += len(pending) - len(failed)
            pending = failed
        raise EventPublishFailed(f"{len(pending)} event(s) could not be put on {self.bus_name}")
