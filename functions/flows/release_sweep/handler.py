"""Scheduled: release dates that arrived, and the daily drift check (see logic.py)."""

from __future__ import annotations

from typing import Any

from functions import dependencies
from functions.clock import utcnow
from functions.flows.release_sweep.logic import sweep
from functions.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome = sweep(
        dependencies.ledger(), dependencies.cursors(), dependencies.event_bus(), utcnow(), dependencies.settings().mapping.rights
    )
    logger.info(
        "sweep finished",
        extra={"released": outcome.released, "rights_windows": outcome.rights_windows, "drift_checks": outcome.drift_checks},
    )
    return outcome.__dict__
