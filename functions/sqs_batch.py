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
from functions.domain.events import DomainEvent, parse_bus_event
from functions.observability import logger, metrics
from functions.settings import settings


def consume_sqs_batch(
    event: dict[str, Any],
    context: Any,
    *,
    flow: str,
    accept: tuple[type[DomainEvent], ...],
    handle: Callable[[DomainEvent], None],
) -> dict[str, Any]:
    config = settings()
    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: SQSRecord) -> None:
        receive_count = int(record.attributes.approximate_receive_count or 1)
        try:
            domain_event = parse_bus_event(record.body, accept)
            logger.append_keys(correlation_id=domain_event.correlation_id or record.message_id)
            handle(domain_event)
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
