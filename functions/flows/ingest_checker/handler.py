"""Scheduled sweep: finish deliveries whose audio Megaphone was ingesting (see logic.py); the prompt
check after a push is the ingest follow-up (follow_up.py), which shares these deps and metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.connectors.megaphone import MegaphoneClient
from functions.dependencies import Dependencies
from functions.event_bus import EventBus
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import scheduled_flow
from functions.flows.ingest_checker.logic import IngestCheckOutcome, check_ingests
from functions.observability import logger, metrics
from functions.state.ledger import SyncLedger


@dataclass
class IngestDeps:
    ledger: SyncLedger
    megaphone: MegaphoneClient
    bus: EventBus
    expected_ingest: timedelta  # MEGAPHONE_INGEST_SECONDS: the delay of the pushes' ingest checks


def ingest_deps(platform: Dependencies) -> IngestDeps:
    expected = timedelta(seconds=platform.settings.megaphone.megaphone_ingest_seconds)
    return IngestDeps(ledger=platform.ledger, megaphone=platform.megaphone, bus=platform.event_bus, expected_ingest=expected)


def report(outcome: IngestCheckOutcome) -> dict[str, Any]:
    metrics.add_metric(name="EpisodesDelivered", unit=MetricUnit.Count, value=outcome.delivered)
    metrics.add_metric(name="IngestFailures", unit=MetricUnit.Count, value=outcome.failed)
    if outcome.errors:
        logger.warning("some ingest checks failed; the next sweep retries them", extra={"errors": outcome.errors})
    return outcome.__dict__


def run(deps: IngestDeps, now: datetime, time_left: Callable[[], float] | None) -> dict[str, Any]:
    return report(check_ingests(deps.ledger, deps.megaphone, deps.bus, now=now, expected_ingest=deps.expected_ingest))


handler = scheduled_flow(flow(FlowName.INGEST_CHECKER), build=ingest_deps, run=run)
