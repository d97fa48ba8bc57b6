"""Scheduled: find takedowns and availability changes on Megaphone and Spotify (see logic.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions import dependencies
from functions.clock import utcnow
from functions.flows.availability_monitor.logic import MonitorDeps, monitor_availability
from functions.observability import logger, metrics, tracer

FLOW = "availability-monitor"


def monitor_deps() -> MonitorDeps:
    return MonitorDeps(
        ledger=dependencies.ledger(),
        availability=dependencies.availability(),
        megaphone=dependencies.megaphone(),
        spotify=dependencies.spotify_web(),
        bus=dependencies.event_bus(),
        cursors=dependencies.cursors(),
        markets=dependencies.settings().spotify_markets,
        spotify_check_every_runs=dependencies.settings().spotify_check_every_runs,
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    time_left = (lambda: remaining() / 1000.0) if callable(remaining) else None
    outcome = monitor_availability(monitor_deps(), utcnow(), time_left)
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
