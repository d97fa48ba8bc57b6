"""Queue: RightsChanged / RightsWindowDue -> clearance decides publish, hold or withdraw (see logic.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions import dependencies
from functions.clock import today
from functions.domain.events import DomainEvent, RightsChanged, RightsWindowDue
from functions.flows.episode_publisher.handler import publisher_deps
from functions.flows.rights_sync.logic import apply_rights
from functions.observability import logger, metrics, tracer
from functions.sqs_batch import consume_sqs_batch

FLOW = "rights-sync"


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    deps = publisher_deps()

    def handle(domain_event: DomainEvent) -> None:
        assert isinstance(domain_event, (RightsChanged, RightsWindowDue))
        trigger = "rights changed in Consonance" if isinstance(domain_event, RightsChanged) else domain_event.reason
        outcome, unenforceable = apply_rights(domain_event.product_id, trigger, deps, today())
        if outcome.action == "withdrawn":
            metrics.add_metric(name="EpisodesWithdrawn", unit=MetricUnit.Count, value=1)
        if unenforceable:
            metrics.add_metric(name="UnenforceableRestrictions", unit=MetricUnit.Count, value=1)
        logger.info("rights decision", extra={"product_id": outcome.product_id, "placement": outcome.placement, "reason": outcome.reason})

    return consume_sqs_batch(
        event, context, flow=FLOW, accept=(RightsChanged, RightsWindowDue), handle=handle, idempotency=dependencies.idempotency()
    )
