"""The consuming side shared by every queue-triggered flow: parse, hand to the flow, report partial
batch failures (ReportBatchItemFailures), so each record is retried on its own.

- A `PermanentError` (malformed event, unknown version, invalid record, a request the API rejects)
  goes to the dead-letter queue at once with its reason: retrying cannot help.
- Any other failure is retried by SQS; on the last allowed receive the record is dead-lettered with
  the reason of that last failure, so nothing lands in the DLQ without one.

The partial batch response is built here rather than with Powertools' batch utility: the loop is a
few lines, and the utility's import (its event data classes and parser models) was the largest
single share of every queue handler's cold start (`make bench`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from functions.dead_letters import dead_letter
from functions.domain.errors import PermanentError
from functions.domain.events import DomainEvent, parse_bus_envelope
from functions.observability import logger, metrics
from functions.settings import Settings, settings
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


def consume_sqs_batch(
    event: dict[str, Any],
    context: Any,
    *,
    flow: str,
    accept: tuple[type[DomainEvent], ...],
    handle: Callable[[DomainEvent], None],
    idempotency: IdempotencyStore | None = None,
) -> dict[str, Any]:
    """Each record on its own. With `idempotency`, a delivery of an event that this flow already
    applied (SQS and EventBridge both deliver at least once) is recognised by (flow, entity,
    EventBridge event id) and not acted on again. A re-announced change gets a new event id and is
    evaluated again: the ledger's content hashes, not this record, decide whether that writes anything."""
    config = settings()
    lease_seconds = _lease_seconds(context)
    failures: list[dict[str, str]] = []
    for record in _records(event):
        try:
            event_id, domain_event = parse_bus_envelope(record.body, accept)
            logger.append_keys(correlation_id=domain_event.correlation_id or record.message_id)
            _handle_once(domain_event, handle, idempotency, f"{flow}|{domain_event.entity_key()}|{event_id}", lease_seconds)
        except Exception as exc:
            _settle(record, flow, exc, config, failures)
        else:
            _settle(record, flow, None, config, failures)
    return {"batchItemFailures": failures}


def consume_sqs_batch_together(
    event: dict[str, Any],
    context: Any,
    *,
    flow: str,
    accept: tuple[type[DomainEvent], ...],
    handle_all: Callable[[list[DomainEvent]], dict[int, Exception | None]],
) -> dict[str, Any]:
    """For flows that act on a whole batch in one call (one request for ten records). `handle_all`
    returns an outcome per event index; a raised exception fails every record."""
    config = settings()
    failures: list[dict[str, str]] = []
    parsed: list[tuple[SqsRecord, DomainEvent]] = []
    for record in _records(event):
        try:
            parsed.append((record, parse_bus_envelope(record.body, accept)[1]))
        except PermanentError as exc:
            _settle(record, flow, exc, config, failures)
    if not parsed:
        return {"batchItemFailures": failures}
    try:
        outcomes = handle_all([domain_event for _, domain_event in parsed])
    except Exception as exc:  # the batch as a whole failed: every record is retried or dead-lettered
        outcomes = {index: exc for index in range(len(parsed))}
    for index, (record, _) in enumerate(parsed):
        _settle(record, flow, outcomes.get(index), config, failures)
    return {"batchItemFailures": failures}


def _records(event: dict[str, Any]) -> list[SqsRecord]:
    return [SqsRecord.model_validate(raw) for raw in event.get("Records", [])]


def _settle(record: SqsRecord, flow: str, error: Exception | None, config: Settings, failures: list[dict[str, str]]) -> None:
    """Success; or dead-letter with the reason (permanent, or the last allowed receive); or retry."""
    if error is None:
        metrics.add_metric(name="RecordsSucceeded", unit=MetricUnit.Count, value=1)
        return
    last_receive = record.receive_count >= config.max_receives
    if config.dead_letter_queue_url and (isinstance(error, PermanentError) or last_receive):
        _to_dead_letters(record, flow, error, config.dead_letter_queue_url)
        return
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
