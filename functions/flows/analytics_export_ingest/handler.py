"""S3 Object Created (Megaphone's export bucket, via EventBridge) -> the day's downloads (see logic.py)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from functions.clock import utcnow
from functions.dependencies import Dependencies
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import object_created_flow
from functions.flows.analytics_export_ingest.logic import IngestDeps, KnownEpisodes, handle_object
from functions.object_events import StoredObject
from functions.observability import logger, metrics

FLOW = flow(FlowName.ANALYTICS_EXPORT_INGEST)


def ingest_deps(platform: Dependencies) -> IngestDeps:
    return IngestDeps(
        exports=platform.megaphone_exports,
        store=platform.analytics_store,
        ledger=platform.ledger,
        counting=platform.settings.megaphone_export.megaphone_export_counting,
        known_episodes=KnownEpisodes(platform.ledger),
        flow=FLOW.name,
    )


def ingest(stored: StoredObject, deps: IngestDeps) -> None:
    outcome = handle_object(stored, deps, utcnow())
    metrics.add_metric(name=f"ExportObjects{outcome.action.title()}", unit=MetricUnit.Count, value=1)
    for result in outcome.ingested:
        metrics.add_metric(name="ExportDownloads", unit=MetricUnit.Count, value=result.downloads)
        metrics.add_metric(name="ExportFindings", unit=MetricUnit.Count, value=len(result.findings))
    logger.info("export object handled", extra={"key": outcome.key, "action": outcome.action, "reason": outcome.reason})


handler = object_created_flow(FLOW, build=ingest_deps, handle=ingest)
