"""Scheduled: branded licences read from Consonance and moved through their lifecycle (see logic.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from functions.dependencies import Dependencies
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import scheduled_flow
from functions.flows.licence_sweep.logic import LicenceSweepDeps, sweep
from functions.observability import NAMESPACE, logger, metrics

FLOW = flow(FlowName.LICENCE_SWEEP)
# Per licensee and lifecycle state (dimension `licensee`), and the run's heartbeat and alarm signal.
STATE_METRICS = {"live": "LicencesLive", "expiring": "LicencesExpiring", "withdrawn": "LicencesWithdrawn"}
LIVE_PAST_WINDOW_METRIC = "LicencesLivePastWindow"
HEARTBEAT_METRIC = "LicenceSweepSucceeded"


def sweep_deps(platform: Dependencies) -> LicenceSweepDeps:
    return LicenceSweepDeps(
        consonance=platform.consonance,
        ledger=platform.ledger,
        cursors=platform.cursors,
        bus=platform.event_bus,
        alerts=platform.alerts,
        mapping=platform.settings.mapping,
    )


def run(deps: LicenceSweepDeps, now: datetime, time_left: Callable[[], float] | None) -> dict[str, Any]:
    outcome = sweep(deps, now)
    for licensee, counts in sorted(outcome.by_licensee.items()):
        for state, name in STATE_METRICS.items():
            with single_metric(name=name, unit=MetricUnit.Count, value=counts.get(state, 0), namespace=NAMESPACE) as metric:
                metric.add_dimension(name="licensee", value=licensee)
    metrics.add_metric(name=LIVE_PAST_WINDOW_METRIC, unit=MetricUnit.Count, value=outcome.live_past_window)
    metrics.add_metric(name="LicenceExpiryAlerts", unit=MetricUnit.Count, value=outcome.expiry_alerts)
    metrics.add_metric(name=HEARTBEAT_METRIC, unit=MetricUnit.Count, value=1)
    logger.info(
        "licence sweep finished",
        extra={"read": outcome.products_read, "changed": outcome.licences_changed, "transitions": outcome.transitions, "announced": outcome.announced},
    )
    return outcome.__dict__ | {"changed_since": outcome.changed_since.isoformat()}


handler = scheduled_flow(FLOW, build=sweep_deps, run=run)
