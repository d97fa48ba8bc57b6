"""Scheduled hourly: titles entering a marketing milestone, or whose milestone moved or ended (see logic.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.dependencies import Dependencies
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import scheduled_flow
from functions.flows.milestone_detector.logic import DetectorDeps, detect
from functions.observability import logger, metrics


def detector_deps(platform: Dependencies) -> DetectorDeps:
    return DetectorDeps(
        consonance=platform.consonance,
        ledger=platform.ledger,
        cursors=platform.cursors,
        bus=platform.event_bus,
        config=platform.marketing_settings.marketing,
        mapping=platform.settings.mapping,
    )


def run(deps: DetectorDeps, now: datetime, time_left: Callable[[], float] | None) -> dict[str, Any]:
    outcome = detect(deps, now)
    for change, keys in outcome.announced.items():
        metrics.add_metric(name=f"Milestones{change.title()}", unit=MetricUnit.Count, value=len(keys))
    logger.info("milestones detected", extra={"outcome": outcome.__dict__ | {"changed_since": outcome.changed_since.isoformat()}})
    return {"titles_changed": outcome.titles_changed, "due_by_date": outcome.due_by_date, **outcome.announced}


handler = scheduled_flow(flow(FlowName.MILESTONE_DETECTOR), build=detector_deps, run=run)
