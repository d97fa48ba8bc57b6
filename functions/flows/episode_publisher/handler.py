"""Queue: EpisodeChanged / EpisodeReevaluationDue -> publish to Megaphone (see logic.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions import dependencies
from functions.clock import today
from functions.domain.events import DomainEvent, EpisodeChanged, EpisodeReevaluationDue
from functions.flows.episode_publisher.logic import PublisherDeps, publish_episode
from functions.flows.rights_gate import UNENFORCEABLE, clearance_check
from functions.observability import logger, metrics, tracer
from functions.sqs_batch import consume_sqs_batch

FLOW = "episode-publisher"


def publisher_deps() -> PublisherDeps:
    settings = dependencies.settings()
    return PublisherDeps(
        ledger=dependencies.ledger(),
        megaphone=dependencies.megaphone(),
        bus=dependencies.event_bus(),
        settings=settings,
        rights_check=clearance_check(settings.mapping),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    deps = publisher_deps()

    def handle(domain_event: DomainEvent) -> None:
        if isinstance(domain_event, EpisodeChanged):
            outcome = publish_episode(domain_event.episode.product_id, domain_event.episode, deps, today())
        else:
            assert isinstance(domain_event, EpisodeReevaluationDue)
            outcome = publish_episode(domain_event.product_id, None, deps, today())
        metrics.add_metric(name=f"Episodes{outcome.action.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
        if any(f.code == UNENFORCEABLE for f in outcome.findings):
            metrics.add_metric(name="UnenforceableRestrictions", unit=MetricUnit.Count, value=1)
        logger.info("episode evaluated", extra={"product_id": outcome.product_id, "action": outcome.action, "reason": outcome.reason})

    return consume_sqs_batch(event, context, flow=FLOW, accept=(EpisodeChanged, EpisodeReevaluationDue), handle=handle, idempotency=dependencies.idempotency())
