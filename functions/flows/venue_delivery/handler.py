"""Queue: LicenceChanged -> the venue delivery package follows the licence (see logic.py)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from functions.clock import utcnow
from functions.dependencies import Dependencies
from functions.domain.events import DomainEvent, LicenceChanged
from functions.flow_declarations import Bucket, flow
from functions.flow_names import FlowName
from functions.flow_template import queue_flow
from functions.flows.venue_delivery.logic import VenueDeps, reconcile_venue
from functions.observability import logger, metrics
from functions.state.venue_packages import VenuePackages


def venue_deps(platform: Dependencies) -> VenueDeps:
    settings = platform.settings
    return VenueDeps(
        ledger=platform.ledger,
        packages=VenuePackages(settings.bucket(Bucket.VENUE_DELIVERY), base_url=settings.core.documents_base_url),
        media=platform.media_fetcher,
        bus=platform.event_bus,
        mapping=settings.mapping,
    )


def deliver(domain_event: DomainEvent, deps: VenueDeps) -> None:
    assert isinstance(domain_event, LicenceChanged)
    outcome = reconcile_venue(domain_event.product_id, deps, utcnow())
    if outcome.changed:
        metrics.add_metric(name=f"VenuePackages{outcome.status.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    logger.info("venue delivery", extra={"product_id": outcome.product_id, "status": outcome.status, "reason": outcome.reason})


handler = queue_flow(flow(FlowName.VENUE_DELIVERY), build=venue_deps, handle=deliver)
