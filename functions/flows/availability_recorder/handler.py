"""Queue: AvailabilityChanged / TakedownReported -> availability table, Consonance status, alert (see logic.py)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from functions.dependencies import Dependencies
from functions.domain.events import AvailabilityChanged, DomainEvent, TakedownReported
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import queue_flow
from functions.flows.availability_recorder.logic import RecorderDeps, record_availability_change, record_notice
from functions.observability import logger, metrics


def recorder_deps(platform: Dependencies) -> RecorderDeps:
    return RecorderDeps(
        ledger=platform.ledger,
        availability=platform.availability,
        writeback=platform.consonance_writeback,
        alerts=platform.alerts,
        markets=platform.settings.core.spotify_markets,
        spotify_url_template=platform.settings.consonance.spotify_show_url,
        bus=platform.event_bus,
    )


def record(domain_event: DomainEvent, deps: RecorderDeps) -> None:
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


handler = queue_flow(flow(FlowName.AVAILABILITY_RECORDER), build=recorder_deps, handle=record)
