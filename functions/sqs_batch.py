"""The consuming side shared by every queue-triggered flow: parse, hand to the flow, report partial
batch failures (ReportBatchItemFailures), so each record is retried on its own.

- A `PermanentError` (malformed event, unknown version, invalid record, a request the API rejects)
  goes to the dead-letter queue at once with its reason: retrying cannot help.
- Any other failure is retried by SQS; on the last allowed receive the record is dead-lettered with
  the reason of that last failure, so nothing lands in the DLQ without one.
- A record whose last allowed receive died with the invocation (a crash or a timeout: nothing could
  report it) comes back once more — the queue's redrive is set one receive beyond the declared
  `max_receives` — and is dead-lettered at once, before anything else is tried, with the reason
  "crashed or timed out" and the failure recorded on its previous receive, when there was one. So
  `dlq list` never shows a record without a reason.

A flow whose every side effect is guarded by conditional ledger writes, and which evaluates from
the ledger's latest snapshot rather than the event's copy (the publisher: a create is preceded by a
version-checked intent, updates are idempotent, equal hashes write nothing), keeps no record of the
events it applied (`claims=False`): a duplicate delivery evaluates again, finds nothing to do and
writes nothing, so a per-record or per-batch idempotency record would only add round trips. Two
deliveries of one event racing each other both evaluate; the ledger's version check lets one write
and retries the other, which then finds nothing to do. The idempotency table still remembers a
failed receive's reason for the dead-letter queue. A `prepare` step sees the batch's events first
(to read what they need in one round trip) and scopes the records' handling.

The partial batch response is built here rather than with Powertools' batch utility: the loop is a
few lines, and the utility's import (its event data classes and parser models) was the largest
single share of every queue handler's cold start (`make bench`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from functions.dead_letters import dead_letter
from functions.domain.errors import PermanentError
from functions.domain.events import DomainEvent, parse_bus_envelope
from functions.object_events import StoredObject, parse_object_created
from functions.observability import logger, metrics
from functions.settings import CoreSettings
from functions.state.idempotency import IdempotencyStore


class SqsAttributes(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    approximate_receive_count: int = Field(default=1, alias="ApproximateReceiveCount")


class SqsRecord(BaseModel):
    """One record of Lambda's SQS event (only what the consumers read)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    message_id: str = Field(alias="messageId")
    body: str
    attributes: SqsAttributes = Field(default_factory=SqsAttributes)

    @property
    def receive_count(self) -> int:
        return self.attributes.approximate_receive_count


class CrashedOnLastReceive(PermanentError):
    """The record's last allowed receive ended with the invocation itself (crash or timeout)."""

    code = "crashed_or_timed_out"


def consume_sqs_batch(
    event: dict[str, Any],
    context: Any,
    *,
    flow: str,
    core: CoreSettings,
    accept: tuple[type[DomainEvent], ...],
    handle: Callable[[DomainEvent], None],
    idempotency: IdempotencyStore | None = None,
    claims: bool = True,
    prepare: Callable[[list[DomainEvent]], AbstractContextManager[Any]] | None = None,
) -> dict[str, Any]:
    """Each record on its own. With `idempotency` and `claims`, a delivery of an event that this flow
    already applied (SQS and EventBridge both deliver at least once) is recognised by (flow, entity,
    EventBridge event id) and not acted on again. A re-announced change gets a new event id and is
    evaluated again: the ledger's content hashes, not this record, decide whether that writes anything.
    `claims=False` and `prepare`: see the module docstring."""
    lease_seconds = _lease_seconds(context)
    readable = _readable_events(event, accept) if prepare is not None else {}

    def act(record: SqsRecord) -> None:
        # read ahead already (`prepare`): parsed once; otherwise, or if it did not parse, here
        event_id, domain_event = readable.get(record.message_id) or parse_bus_envelope(record.body, accept)
        logger.append_keys(correlation_id=domain_event.correlation_id or record.message_id)
        if claims:
            _handle_once(domain_event, handle, idempotency, _claim_key(flow, event_id, domain_event), lease_seconds)
        else:
            handle(domain_event)

    with prepare([e for _, e in readable.values()]) if prepare is not None else nullcontext():
        return _consume_each(event, flow, core, idempotency, act)


def _claim_key(flow: str, event_id: str, domain_event: DomainEvent) -> str:
    """What a delivery is recognised by: this flow, the event's entity and its EventBridge id."""
    return f"{flow}|{domain_event.entity_key()}|{event_id}"


def _readable_events(event: dict[str, Any], accept: tuple[type[DomainEvent], ...]) -> dict[str, tuple[str, DomainEvent]]:
    """The batch's events that parse (with their EventBridge ids) by message id, read ahead of the
    records' handling; a record that does not parse fails on its own when its turn comes."""
    readable: dict[str, tuple[str, DomainEvent]] = {}
    for record in _records(event):
        try:
            readable[record.message_id] = parse_bus_envelope(record.body, accept)
        except Exception:  # noqa: BLE001 - settled with its reason when the record's turn comes
            continue
    return readable


def consume_object_events(
    event: dict[str, Any],
    context: Any,
    *,
    flow: str,
    core: CoreSettings,
    handle: Callable[[StoredObject], None],
) -> dict[str, Any]:
    """Each record an S3 "Object Created" event from EventBridge (functions/object_events.py), on its
    own, settled as domain events are. No idempotency record: the handler reads the object's current
    content, so acting on a duplicate again changes nothing."""

    def act(record: SqsRecord) -> None:
        stored = parse_object_created(record.body)
        logger.append_keys(correlation_id=stored.event_id)
        handle(stored)

    return _consume_each(event, flow, core, None, act)


def _consume_each(
    event: dict[str, Any],
    flow: str,
    core: CoreSettings,
    idempotency: IdempotencyStore | None,
    act: Callable[[SqsRecord], None],
) -> dict[str, Any]:
    """The per-record loop: past its last receive -> dead-lettered; else `act`, then settle."""
    failures: list[dict[str, str]] = []
    for record in _records(event):
        if _beyond_last_receive(record, flow, core, failures, idempotency):
            continue
        try:
            act(record)
        except Exception as exc:
            _settle(record, flow, exc, core, failures, idempotency)
        else:
            _settle(record, flow, None, core, failures, idempotency)
    return {"batchItemFailures": failures}


def consume_sqs_batch_together(
    event: dict[str, Any],
    context: Any,
    *,
    flow: str,
    core: CoreSettings,
    accept: tuple[type[DomainEvent], ...],
    handle_all: Callable[[list[DomainEvent]], dict[int, Exception | None]],
) -> dict[str, Any]:
    """For flows that act on a whole batch in one call (one request for ten records). `handle_all`
    returns an outcome per event index; a raised exception fails every record."""
    failures: list[dict[str, str]] = []
    parsed: list[tuple[SqsRecord, DomainEvent]] = []
    for record in _records(event):
        if _beyond_last_receive(record, flow, core, failures, None):
            continue
        try:
            parsed.append((record, parse_bus_envelope(record.body, accept)[1]))
        except PermanentError as exc:
            _settle(record, flow, exc, core, failures)
    if not parsed:
        return {"batchItemFailures": failures}
    try:
        outcomes = handle_all([domain_event for _, domain_event in parsed])
    except Exception as exc:  # the batch as a whole failed: every record is retried or dead-lettered
        outcomes = {index: exc for index in range(len(parsed))}
    for index, (record, _) in enumerate(parsed):
        _settle(record, flow, outcomes.get(index), core, failures)
    return {"batchItemFailures": failures}


def _records(event: dict[str, Any]) -> list[SqsRecord]:
    return [SqsRecord.model_validate(raw) for raw in event.get("Records", [])]


def _beyond_last_receive(
    record: SqsRecord, flow: str, core: CoreSettings, failures: list[dict[str, str]], idempotency: IdempotencyStore | None
) -> bool:
    """A record past its last allowed receive: its last receive died with the invocation. Dead-letter it
    at once with that reason (and what failed before, if recorded); never run it again."""
    if record.receive_count <= core.max_receives:
        return False
    previous = idempotency.last_failure(record.message_id) if idempotency is not None else None
    reason = f"the handler crashed or timed out on receive {record.receive_count - 1} (its last allowed receive)"
    if previous:
        reason += f"; the failure before that: {previous}"
    _settle(record, flow, CrashedOnLastReceive(reason), core, failures)
    return True


def _settle(
    record: SqsRecord,
    flow: str,
    error: Exception | None,
    core: CoreSettings,
    failures: list[dict[str, str]],
    idempotency: IdempotencyStore | None = None,
) -> None:
    """Success; or dead-letter with the reason (permanent, or the last allowed receive); or retry."""
    if error is None:
        metrics.add_metric(name="RecordsSucceeded", unit=MetricUnit.Count, value=1)
        return
    last_receive = record.receive_count >= core.max_receives
    if core.dead_letter_queue_url and (isinstance(error, PermanentError) or last_receive):
        _to_dead_letters(record, flow, error, core.dead_letter_queue_url)
        return
    if idempotency is not None:  # remembered, should the next receive die before it can say why
        idempotency.remember_failure(record.message_id, _describe(error))
    metrics.add_metric(name="RecordsRetried", unit=MetricUnit.Count, value=1)
    logger.warning("record failed; SQS will redeliver", extra={"message_id": record.message_id, "error": _describe(error)})
    failures.append({"itemIdentifier": record.message_id})


def _handle_once(
    domain_event: DomainEvent,
    handle: Callable[[DomainEvent], None],
    idempotency: IdempotencyStore | None,
    key: str,
    lease_seconds: float,
) -> None:
    if idempotency is None:
        handle(domain_event)
        return
    if idempotency.claim(key, lease_seconds) is not None:
        metrics.add_metric(name="RecordsAlreadyApplied", unit=MetricUnit.Count, value=1)
        return
    try:
        handle(domain_event)
    except Exception:
        idempotency.release(key)
        raise
    idempotency.complete(key, {"applied": True})


def _lease_seconds(context: Any) -> float:
    """Hold a claim as long as this invocation may run; a crashed holder's claim then lapses."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return max(1.0, remaining() / 1000.0) if callable(remaining) else 900.0


def _to_dead_letters(record: SqsRecord, flow: str, exc: Exception, queue_url: str) -> None:
    code = getattr(exc, "code", exc.__class__.__name__)
    dead_letter(
        queue_url,
        record.body,
        flow=flow,
        error_code=code,
        reason=_describe(exc),
        receive_count=record.receive_count,
        message_id=record.message_id,
    )
    metrics.add_metric(name="RecordsDeadLettered", unit=MetricUnit.Count, value=1)
    logger.error("record dead-lettered", extra={"message_id": record.message_id, "error_code": code, "reason": _describe(exc)})


def _describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"
