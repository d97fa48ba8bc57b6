"""The consuming side shared by every queue-triggered flow: parse, hand to the flow, report partial
batch failures (ReportBatchItemFailures), so each record is retried on its own.

- A `PermanentError` (malformed event, unknown version, invalid record, a request the API rejects)
  goes to the dead-letter queue at once with its reason: retrying cannot help.
- Any other failure is retried by SQS; on the last allowed receive the record is dead-lettered with
  the reason of that last failure, so nothing lands in the DLQ without one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.dead_letters import dead_letter
from functions.domain.errors import PermanentError
from functions.domain.events import DomainEvent, parse_bus_envelope, parse_bus_event
from functions.observability import logger, metrics
from functions.settings import settings
from functions.state.idempotency import IdempotencyStore


def consume_sqs_batch(
    event: dict[str, Any],
    context: Any,
    *,
    flow: str,
    accept: tuple[type[DomainEvent], ...],
    handle: Callable[[DomainEvent], None],
    idempotency: IdempotencyStore | None = None,
) -> dict[str, Any]:
    """With `idempotency`, a delivery of an event that this flow already applied (SQS and EventBridge
    both deliver at least once) is recognised by (flow, entity, EventBridge event id) and not acted on
    again. A re-announced change gets a new event id and is evaluated again: the ledger's content
    hashes, not this record, decide whether that writes anything."""
    config = settings()
    processor = BatchProcessor(event_type=EventType.SQS)
    lease_seconds = _lease_seconds(context)

    def record_handler(record: SQSRecord) -> None:
        receive_count = _receive_count(record)
        try:
            event_id, domain_event = parse_bus_envelope(record.body, accept)
            logger.append_keys(correlation_id=domain_event.correlation_id or record.message_id)
            _handle_once(domain_event, handle, idempotency, f"{flow}|{domain_event.entity_key()}|{event_id}", lease_seconds)
            metrics.add_metric(name="RecordsSucceeded", unit=MetricUnit.Count, value=1)
        except PermanentError as exc:
            _to_dead_letters(record, flow, exc, receive_count, config.dead_letter_queue_url)
        except Exception as exc:
            if receive_count >= config.max_receives and config.dead_letter_queue_url:
                _to_dead_letters(record, flow, exc, receive_count, config.dead_letter_queue_url)
                return
            metrics.add_metric(name="RecordsRetried", unit=MetricUnit.Count, value=1)
            logger.warning("record failed; SQS will redeliver", extra={"message_id": record.message_id, "error": _describe(exc)})
            raise

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


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


def _to_dead_letters(record: SQSRecord, flow: str, exc: Exception, receive_count: int, queue_url: str | None) -> None:
    if not queue_url:
        raise exc
    code = getattr(exc, "code", exc.__class__.__name__)
    dead_letter(
        queue_url,
        record.body,
        flow=flow,
        error_code=code,
        reason=_describe(exc),
        receive_count=receive_count,
        message_id=record.message_id,
    )
    metrics.add_metric(name="RecordsDeadLettered", unit=MetricUnit.Count, value=1)
    logger.error("record dead-lettered", extra={"message_id": record.message_id, "error_code": code, "reason": _describe(exc)})


def _describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"


def consume_sqs_batch_together(
    event: dict[str, Any],
    context: Any,
    *,
    flow: str,
    accept: tuple[type[DomainEvent], ...],
    handle_all: Callable[[list[DomainEvent]], dict[int, Exception | None]],
) -> dict[str, Any]:
    """Like `consume_sqs_batch`, for flows that act on a whole batch in one call (one request for ten
    records). `handle_all` returns an outcome per event index; a raised exception fails every record."""
    config = settings()
    records = [SQSRecord(raw) for raw in event.get("Records", [])]
    parsed: list[tuple[SQSRecord, DomainEvent]] = []
    failures: list[dict[str, str]] = []
    for record in records:
        try:
            parsed.append((record, parse_bus_event(record.body, accept)))
        except PermanentError as exc:
            _to_dead_letters(record, flow, exc, _receive_count(record), config.dead_letter_queue_url)
    if not parsed:
        return {"batchItemFailures": failures}
    try:
        outcomes = handle_all([domain_event for _, domain_event in parsed])
    except Exception as exc:  # the batch as a whole failed: every record is retried or dead-lettered
        outcomes = {index: exc for index in range(len(parsed))}
    for index, (record, _) in enumerate(parsed):
        error = outcomes.get(index)
        if error is None:
            metrics.add_metric(name="RecordsSucceeded", unit=MetricUnit.Count, value=1)
        elif isinstance(error, PermanentError) or (
            _receive_count(record) >= config.max_receives and config.dead_letter_queue_url
        ):
            _to_dead_letters(record, flow, error, _receive_count(record), config.dead_letter_queue_url)
        else:
            metrics.add_metric(name="RecordsRetried", unit=MetricUnit.Count, value=1)
            logger.warning("record failed; SQS will redeliver", extra={"message_id": record.message_id, "error": _describe(error)})
            failures.append({"itemIdentifier": record.message_id})
    return {"batchItemFailures": failures}


def _receive_count(record: SQSRecord) -> int:
    return int(record.attributes.approximate_receive_count or 1)
