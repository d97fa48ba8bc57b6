"""Queue: RightsChanged / RightsWindowDue -> clearance decides publish, hold or withdraw (see logic.py)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from functions.clock import today
from functions.domain.events import DomainEvent, RightsChanged, RightsWindowDue
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import queue_flow
from functions.flows.episode_publisher.deps import publisher_deps
from functions.flows.episode_publisher.batch_scope import publishing_batch
from functions.flows.episode_publisher.logic import PublisherDeps
from functions.flows.rights_sync.logic import apply_rights
from functions.observability import logger, metrics


def sync_rights(domain_event: DomainEvent, deps: PublisherDeps) -> None:
    assert isinstance(domain_event, (RightsChanged, RightsWindowDue))
    trigger = "rights changed in Consonance" if isinstance(domain_event, RightsChanged) else domain_event.reason
    outcome, unenforceable = apply_rights(domain_event.product_id, trigger, deps, today())
    if outcome.action == "withdrawn":
        metrics.add_metric(name="EpisodesWithdrawn", unit=MetricUnit.Count, value=1)
    if unenforceable:
        metrics.add_metric(name="UnenforceableRestrictions", unit=MetricUnit.Count, value=1)
    logger.info("rights decision", extra={"product_id": outcome.product_id, "placement": outcome.placement, "reason": outcome.reason})


# The batch reads its episodes' ledger entries at once; a release that pushes audio asks for its ingest
# check, and the batch sends them all once it has run (functions.flows.episode_publisher.batch_scope).
handler = queue_flow(flow(FlowName.RIGHTS_SYNC), build=publisher_deps, handle=sync_rights, prepare=publishing_batch)
