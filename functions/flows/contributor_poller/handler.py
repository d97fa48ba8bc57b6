"""Scheduled: poll Consonance for changed contributors and their works (see logic.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.dependencies import Dependencies
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import scheduled_flow
from functions.flows.contributor_poller.logic import ContributorPollDeps, poll_contributors
from functions.observability import logger, metrics


def contributor_poll_deps(platform: Dependencies) -> ContributorPollDeps:
    return ContributorPollDeps(
        consonance=platform.consonance,
        ledger=platform.ledger,
        cursors=platform.cursors,
        bus=platform.event_bus,
        mapping=platform.settings.mapping,
    )


def run(deps: ContributorPollDeps, now: datetime, time_left: Callable[[], float] | None) -> dict[str, Any]:
    outcome = poll_contributors(deps, started_at=now)
    metrics.add_metric(name="ContributorsChanged", unit=MetricUnit.Count, value=len(outcome.contributors_changed))
    logger.info("contributor poll finished", extra={"outcome": outcome.__dict__ | {"changed_since": outcome.changed_since.isoformat()}})
    return {"works_changed": outcome.works_changed, "contributors_changed": outcome.contributors_changed, "announced": outcome.announced}


handler = scheduled_flow(flow(FlowName.CONTRIBUTOR_POLLER), build=contributor_poll_deps, run=run)
