"""Queue: CreatorsCollectionDue -> one opted-in show's UNOFFICIAL Spotify for Creators figures (see logic.py)."""

from __future__ import annotations

from dataclasses import asdict

from aws_lambda_powertools.metrics import MetricUnit

from functions.analytics.creators_facts import CreatorsOptIn
from functions.clock import epoch_seconds, utcnow
from functions.dependencies import Dependencies
from functions.domain.events import CreatorsCollectionDue, DomainEvent
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import queue_flow
from functions.flows.analytics_creators_collector.logic import CollectorDeps, collect
from functions.observability import logger, metrics

FLOW = flow(FlowName.ANALYTICS_CREATORS_COLLECTOR)
SAFETY_SECONDS = 30.0  # left for writing and recording after the last bucket


def collector_deps(platform: Dependencies) -> CollectorDeps:
    analytics = platform.settings.analytics
    return CollectorDeps(
        client=platform.spotify_creators,
        store=platform.analytics_store,
        ledger=platform.ledger,
        bus=platform.event_bus,
        alerts=platform.alerts,
        opt_in=CreatorsOptIn(enabled=analytics.creators_enabled, shows=tuple(analytics.creators_shows)),
        secret_id=platform.settings.spotify_creators.spotify_creators_secret_id,
        flow=FLOW.name,
    )


def handle(event: DomainEvent, deps: CollectorDeps) -> None:
    assert isinstance(event, CreatorsCollectionDue)
    started = epoch_seconds()  # one record per invocation (batch size 1): its budget is the invocation's
    outcome = collect(event, deps, utcnow(), lambda: FLOW.timeout_seconds - SAFETY_SECONDS - (epoch_seconds() - started))
    metrics.add_metric(name="CreatorsFacts", unit=MetricUnit.Count, value=outcome.rows)
    metrics.add_metric(name="CreatorsRequests", unit=MetricUnit.Count, value=outcome.requests)
    logger.info("creators show collected", extra=asdict(outcome))


# A duplicate delivery collects the same days again and replaces the same batches: nothing to remember.
handler = queue_flow(FLOW, build=collector_deps, handle=handle, idempotent=False)
