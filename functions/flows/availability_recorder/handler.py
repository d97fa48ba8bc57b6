"""Queue: AvailabilityChanged / TakedownReported -> availability table, Consonance status, alert (see logic.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions import dependencies
from functions.domain.events import AvailabilityChanged, DomainEvent, TakedownReported
from functions.flows.availability_recorder.logic import RecorderDeps, record_availability_change, record_notice
from functions.observability import logger, metrics, tracer
from functions.sqs_batch import consume_sqs_batch

FLOW = "availability-recorder"


def recorder_deps() -> RecorderDeps:
    return RecorderDeps(
        ledger=dependencies.ledger(),
        availability=dependencies.availability(),
        consonance=dependencies.consonance(),
        alerts=dependencies.alerts(),
        settings=dependencies.settings(),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    deps = recorder_deps()

    def handle(domain_event: DomainEvent) -> None:
        if isinstance(domain_event, TakedownReported):
            outcome = record_notice(domain_event, deps)
        else:
            assert isinstance(domain_event, AvailabilityChanged)
            outcome = record_availability_change(domain_event, deps)
        metrics.add_metric(name="AvailabilityRecordsWritten", unit=MetricUnit.Count, value=outcome.records_written)
        if outcome.newly_taken_down:
            metrics.add_metric(name="TakedownsDetected", unit=MetricUnit.Count, value=1)
        logger.info(
            "availability recorded",
            extra={
                "product_id": outcome.product_id,
                "detail_type": domain_event.detail_type,
                "records_written": outcome.records_written,
                "newly_taken_down": list(outcome.newly_taken_down),
                "alert_id": outcome.alert_id,
                "link_status_written": outcome.link_status_written,
                "notes": outcome.notes,
            },
        )

    return consume_sqs_batch(
        event,
        context,
        flow=FLOW,
        accept=(AvailabilityChanged, TakedownReported),
        handle=handle,
        idempotency=dependencies.idempotency(),
    )
