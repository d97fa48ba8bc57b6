"""Queue: EpisodeChanged / EpisodeReevaluationDue -> publish to Megaphone (see logic.py)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from functions.clock import today
from functions.domain.events import DomainEvent, EpisodeChanged, EpisodeReevaluationDue
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import queue_flow
from functions.flows.episode_publisher.deps import publisher_deps
from functions.flows.episode_publisher.batch_scope import publishing_batch
from functions.flows.episode_publisher.logic import PublisherDeps, publish_episode
from functions.flows.rights_gate import UNENFORCEABLE
from functions.observability import logger, metrics


def publish(domain_event: DomainEvent, deps: PublisherDeps) -> None:
    if isinstance(domain_event, EpisodeChanged):
        outcome = publish_episode(domain_event.episode.product_id, domain_event.episode, deps, today())
    else:
        assert isinstance(domain_event, EpisodeReevaluationDue)
        outcome = publish_episode(domain_event.product_id, None, deps, today())
    metrics.add_metric(name=f"Episodes{outcome.action.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    if any(f.code == UNENFORCEABLE for f in outcome.findings):
        metrics.add_metric(name="UnenforceableRestrictions", unit=MetricUnit.Count, value=1)
    logger.info("episode evaluated", extra={"product_id": outcome.product_id, "action": outcome.action, "reason": outcome.reason})


# Every side effect is guarded by the ledger (a version-checked create intent, idempotent updates,
# equal hashes write nothing) and each record is evaluated from the ledger's latest snapshot, so a
# duplicate delivery evaluates to nothing: no idempotency record is read or written for it.
handler = queue_flow(
    flow(FlowName.EPISODE_PUBLISHER), build=publisher_deps, handle=publish, prepare=publishing_batch, ledger_guarded=True
)
