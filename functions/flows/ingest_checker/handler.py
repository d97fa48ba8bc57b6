"""Scheduled: finish deliveries whose audio Megaphone was ingesting (see logic.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.connectors.megaphone import MegaphoneClient
from functions.dependencies import Dependencies
from functions.event_bus import EventBus
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import scheduled_flow
from functions.flows.ingest_checker.logic import check_ingests
from functions.observability import logger, metrics
from functions.state.ledger import SyncLedger


@dataclass
class IngestDeps:
    ledger: SyncLedger
    megaphone: MegaphoneClient
    bus: EventBus


def ingest_deps(platform: Dependencies) -> IngestDeps:
    return IngestDeps(ledger=platform.ledger, megaphone=platform.megaphone, bus=platform.event_bus)


def run(deps: IngestDeps, now: datetime, time_left: Callable[[], float] | None) -> dict[str, Any]:
    outcome = check_ingests(deps.ledger, deps.megaphone, deps.bus)
    metrics.add_metric(name="EpisodesDelivered", unit=MetricUnit.Count, value=outcome.delivered)
    metrics.add_metric(name="IngestFailures", unit=MetricUnit.Count, value=outcome.failed)
    if outcome.errors:
        logger.warning("some ingest checks failed; the next run retries them", extra={"errors": outcome.errors})
    return outcome.__dict__


handler = scheduled_flow(flow(FlowName.INGEST_CHECKER), build=ingest_deps, run=run)
