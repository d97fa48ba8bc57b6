"""Scheduled: poll Consonance for changed audio products (see logic.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.dependencies import Dependencies
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import scheduled_flow
from functions.flows.consonance_poller.logic import PollDeps, poll
from functions.observability import logger, metrics


def poller_deps(platform: Dependencies) -> PollDeps:
    return PollDeps(
        consonance=platform.consonance,
        ledger=platform.ledger,
        cursors=platform.cursors,
        bus=platform.event_bus,
        mapping=platform.settings.mapping,
    )


def run(deps: PollDeps, now: datetime, time_left: Callable[[], float] | None) -> dict[str, Any]:
    outcome = poll(deps, started_at=now)
    if outcome.malformed:
        logger.error("Consonance returned records that cannot be keyed", extra={"records": outcome.malformed[:20]})
    metrics.add_metric(name="ProductsChanged", unit=MetricUnit.Count, value=outcome.changed)
    metrics.add_metric(name="PollSucceeded", unit=MetricUnit.Count, value=1)
    summary = {name: value for name, value in outcome.__dict__.items() if name != "pages"}
    summary |= {"changed_since": outcome.changed_since.isoformat(), "pages": len(outcome.pages)}
    logger.info("poll finished", extra={"outcome": summary})
    return {"changed": outcome.changed, "unchanged": outcome.unchanged, "series_changed": outcome.series_changed}


handler = scheduled_flow(flow(FlowName.CONSONANCE_POLLER), build=poller_deps, run=run)
