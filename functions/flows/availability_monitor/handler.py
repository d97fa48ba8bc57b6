"""Scheduled: find takedowns and availability changes on Megaphone and Spotify (see logic.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.dependencies import Dependencies
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import scheduled_flow
from functions.flows.availability_monitor.logic import MonitorDeps, monitor_availability
from functions.observability import logger, metrics


def monitor_deps(platform: Dependencies) -> MonitorDeps:
    return MonitorDeps(
        ledger=platform.ledger,
        availability=platform.availability,
        megaphone=platform.megaphone,
        spotify=platform.spotify_web,
        bus=platform.event_bus,
        cursors=platform.cursors,
        markets=platform.settings.core.spotify_markets,
    )


def run(deps: MonitorDeps, now: datetime, time_left: Callable[[], float] | None) -> dict[str, Any]:
    outcome = monitor_availability(deps, now, time_left)
    metrics.add_metric(name="AvailabilityEpisodesChecked", unit=MetricUnit.Count, value=outcome.checked)
    metrics.add_metric(name="AvailabilityChangesEmitted", unit=MetricUnit.Count, value=outcome.emitted)
    metrics.add_metric(name="TakedownsObserved", unit=MetricUnit.Count, value=outcome.takedowns)
    metrics.add_metric(name="AvailabilityCheckErrors", unit=MetricUnit.Count, value=len(outcome.errors))
    metrics.add_metric(name="SpotifyAvailabilityRequests", unit=MetricUnit.Count, value=outcome.spotify_requests)
    if outcome.errors:
        logger.warning("some availability checks failed; the next run retries them", extra={"errors": outcome.errors[:20]})
    if outcome.spotify_stopped:
        logger.error("Spotify was not asked for the rest of the run", extra={"reason": outcome.spotify_stopped})
    if outcome.deferred:
        logger.info("time budget reached; the next run starts with the episodes left", extra={"deferred": outcome.deferred})
    return outcome.as_dict()


handler = scheduled_flow(flow(FlowName.AVAILABILITY_MONITOR), build=monitor_deps, run=run)
