"""Queue: SeriesChanged -> series rules and drift correction on Megaphone (see logic.py)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from functions.dependencies import Dependencies
from functions.domain.events import DomainEvent, SeriesChanged
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import queue_flow
from functions.flows.metadata_sync.logic import MetadataSyncDeps, sync_series
from functions.flows.preflight_fields import PreflightProjection
from functions.flows.publishing_config import PublishingConfig
from functions.observability import logger, metrics


def metadata_sync_deps(platform: Dependencies) -> MetadataSyncDeps:
    return MetadataSyncDeps(
        ledger=platform.ledger,
        megaphone=platform.megaphone,
        bus=platform.event_bus,
        config=PublishingConfig.from_settings(platform.settings),
        preflight=PreflightProjection(platform.renditions, platform.settings.megaphone.preflight_rules()),
    )


def sync(domain_event: DomainEvent, deps: MetadataSyncDeps) -> None:
    assert isinstance(domain_event, SeriesChanged)
    outcome = sync_series(domain_event.series_id, deps)
    metrics.add_metric(name="SeriesConflicts", unit=MetricUnit.Count, value=len(outcome.conflicting))
    metrics.add_metric(name="DriftCorrected", unit=MetricUnit.Count, value=len(outcome.drift_corrected))
    logger.info("series checked", extra={"series_id": outcome.series_id, "conflicting": outcome.conflicting, "drift": outcome.drift_corrected})


handler = queue_flow(flow(FlowName.METADATA_SYNC), build=metadata_sync_deps, handle=sync)
