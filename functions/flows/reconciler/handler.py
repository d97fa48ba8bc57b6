"""Scheduled hourly: re-emit what is out of step between Consonance, the ledger and the targets (see logic.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.dependencies import Dependencies
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import scheduled_flow
from functions.flows.consonance_poller.logic import PollDeps
from functions.flows.reconciler.logic import ReconcileDeps, reconcile
from functions.observability import logger, metrics


def reconciler_deps(platform: Dependencies) -> ReconcileDeps:
    settings = platform.settings
    return ReconcileDeps(
        ledger=platform.ledger,
        cursors=platform.cursors,
        bus=platform.event_bus,
        megaphone=platform.megaphone,
        poll=PollDeps(consonance=platform.consonance, ledger=platform.ledger, cursors=platform.cursors, bus=platform.event_bus, mapping=settings.mapping),
        podcasts=dict(settings.megaphone.megaphone_podcasts),
        stuck_after=timedelta(minutes=settings.core.reconcile_stuck_after_minutes),
        retry_cap=timedelta(minutes=settings.core.reconcile_retry_cap_minutes),
    )


def run(deps: ReconcileDeps, now: datetime, time_left: Callable[[], float] | None) -> dict[str, Any]:
    outcome = reconcile(deps, now)
    metrics.add_metric(name="ReconcileOutOfStep", unit=MetricUnit.Count, value=sum(outcome.found.values()))
    metrics.add_metric(name="ReconcileReEmitted", unit=MetricUnit.Count, value=outcome.re_emitted)
    if outcome.errors:
        logger.warning("reconcile could not compare everything; the next run tries again", extra={"errors": outcome.errors})
    logger.info(
        "reconciled",
        extra={
            "found": dict(outcome.found),
            "re_emitted": outcome.re_emitted,
            "paused": outcome.paused,
            "consonance_read": outcome.consonance_read,
            "consonance_changes": outcome.consonance_changes,
            "megaphone_listed": outcome.megaphone_listed,
        },
    )
    return {"found": dict(outcome.found), "re_emitted": outcome.re_emitted, "paused": outcome.paused, "errors": outcome.errors}


handler = scheduled_flow(flow(FlowName.RECONCILER), build=reconciler_deps, run=run)
