"""Scheduled: poll Consonance for changed audio products (see logic.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions import dependencies
from functions.clock import utcnow
from functions.flows.consonance_poller.logic import PollDeps, poll
from functions.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    deps = PollDeps(
        consonance=dependencies.consonance(),
        ledger=dependencies.ledger(),
        cursors=dependencies.cursors(),
        bus=dependencies.event_bus(),
        settings=dependencies.settings(),
    )
    outcome = poll(deps, started_at=utcnow())
    metrics.add_metric(name="ProductsChanged", unit=MetricUnit.Count, value=outcome.changed)
    metrics.add_metric(name="PollSucceeded", unit=MetricUnit.Count, value=1)
    logger.info("poll finished", extra={"outcome": outcome.__dict__ | {"changed_since": outcome.changed_since.isoformat()}})
    return {"changed": outcome.changed, "unchanged": outcome.unchanged, "series_changed": outcome.series_changed}
