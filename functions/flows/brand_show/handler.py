"""Queue: LicenceChanged -> the brand show follows the licence; EpisodeDelivered -> record it (see logic.py)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from functions.clock import today, utcnow
from functions.domain.events import DomainEvent, EpisodeDelivered, LicenceChanged
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import queue_flow
from functions.flows.brand_show.logic import BrandShowOutcome, refresh_brand_show, reconcile_brand_show
from functions.flows.episode_publisher.deps import publisher_deps
from functions.flows.episode_publisher.batch_scope import publishing_batch
from functions.flows.episode_publisher.logic import PublisherDeps
from functions.observability import logger, metrics


def follow_licence(domain_event: DomainEvent, deps: PublisherDeps) -> None:
    outcome: BrandShowOutcome | None
    if isinstance(domain_event, LicenceChanged):
        outcome = reconcile_brand_show(domain_event.product_id, deps, utcnow(), today())
    else:
        assert isinstance(domain_event, EpisodeDelivered)
        outcome = refresh_brand_show(domain_event.product_id, deps, utcnow(), today())
        if outcome is None:
            return  # not a branded asset
    if outcome.changed:
        metrics.add_metric(name=f"BrandShow{outcome.status.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    logger.info("brand show", extra={"product_id": outcome.product_id, "status": outcome.status, "reason": outcome.reason})


# The batch reads its episodes' ledger entries at once; a go-live that pushes audio asks for its ingest
# check, and the batch sends them all once it has run (functions.flows.episode_publisher.batch_scope).
handler = queue_flow(flow(FlowName.BRAND_SHOW), build=publisher_deps, handle=follow_licence, prepare=publishing_batch)
