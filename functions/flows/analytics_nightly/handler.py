"""Scheduled daily: analytics dimensions, missing export days, Creators runs, rollups and summaries (see logic.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.dependencies import Dependencies
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import scheduled_flow
from functions.flows.analytics_nightly.logic import NightlyDeps, run_nightly
from functions.observability import logger, metrics

FLOW = flow(FlowName.ANALYTICS_NIGHTLY)


def nightly_deps(platform: Dependencies) -> NightlyDeps:
    return NightlyDeps(
        ledger=platform.ledger,
        consonance=platform.consonance,
        writeback=platform.consonance_writeback,
        store=platform.analytics_store,
        rollups=platform.athena_rollups,
        bus=platform.event_bus,
        settings=platform.settings.analytics,
        flow=FLOW.name,
    )


def run(deps: NightlyDeps, now: datetime, time_left: Callable[[], float] | None) -> dict[str, Any]:
    outcome = run_nightly(deps, now)
    metrics.add_metric(name="AnalyticsSummaries", unit=MetricUnit.Count, value=outcome.summaries)
    metrics.add_metric(name="ExportDaysMissing", unit=MetricUnit.Count, value=len(outcome.missing_export_days))
    metrics.add_metric(name="AnalyticsNotesFailed", unit=MetricUnit.Count, value=len(outcome.notes_failed))
    logger.info("nightly analytics", extra=asdict(outcome))
    return asdict(outcome)


handler = scheduled_flow(FLOW, build=nightly_deps, run=run)
