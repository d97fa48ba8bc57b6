"""Queue: SeriesChanged -> series rules and drift correction on Megaphone (see logic.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions import dependencies
from functions.domain.events import DomainEvent, SeriesChanged
from functions.flows.metadata_sync.logic import MetadataSyncDeps, sync_series
from functions.observability import logger, metrics, tracer
from functions.sqs_batch import consume_sqs_batch

FLOW = "metadata-sync"


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    deps = MetadataSyncDeps(
        ledger=dependencies.ledger(), megaphone=dependencies.megaphone(), bus=dependencies.event_bus(), settings=dependencies.settings()
    )

    def handle(domain_event: DomainEvent) -> None:
        assert isinstance(domain_event, SeriesChanged)
        outcome = sync_series(domain_event.series_id, deps)
        metrics.add_metric(name="SeriesConflicts", unit=MetricUnit.Count, value=len(outcome.conflicting))
        metrics.add_metric(name="DriftCorrected", unit=MetricUnit.Count, value=len(outcome.drift_corrected))
        logger.info("series checked", extra={"series_id": outcome.series_id, "conflicting": outcome.conflicting, "drift": outcome.drift_corrected})

    return consume_sqs_batch(event, context, flow=FLOW, accept=(SeriesChanged,), handle=handle, idempotency=dependencies.idempotency())
