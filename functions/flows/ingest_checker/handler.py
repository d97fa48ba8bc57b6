"""Scheduled: finish deliveries whose audio Megaphone was ingesting (see logic.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions import dependencies
from functions.flows.ingest_checker.logic import check_ingests
from functions.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome = check_ingests(dependencies.ledger(), dependencies.megaphone(), dependencies.event_bus())
    metrics.add_metric(name="EpisodesDelivered", unit=MetricUnit.Count, value=outcome.delivered)
    metrics.add_metric(name="IngestFailures", unit=MetricUnit.Count, value=outcome.failed)
    if outcome.errors:
        logger.warning("some ingest checks failed; the next run retries them", extra={"errors": outcome.errors})
    return outcome.__dict__
