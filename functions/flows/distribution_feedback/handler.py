"""Queue: DistributionChanged -> the episode's distribution problems in Consonance (link status and
internal note) and, once each, on the operations topic (see logic.py)."""

from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools.metrics import MetricUnit

from functions.clock import utcnow
from functions.dependencies import Dependencies
from functions.domain.events import DistributionChanged, DomainEvent
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import batch_queue_flow
from functions.flows.distribution_feedback.logic import FeedbackDeps, give_feedback
from functions.observability import metrics


def feedback_deps(platform: Dependencies) -> FeedbackDeps:
    return FeedbackDeps(
        ledger=platform.ledger,
        availability=platform.availability,
        writeback=platform.consonance_writeback,
        alerts=platform.alerts,
        spotify_url_template=platform.settings.consonance.spotify_show_url,
        playable_within=timedelta(hours=platform.settings.core.spotify_playable_within_hours),
    )


def feedback_all(events: list[DomainEvent], deps: FeedbackDeps) -> dict[int, Exception | None]:
    changes = [event for event in events if isinstance(event, DistributionChanged)]
    outcomes = give_feedback(changes, deps, utcnow())
    metrics.add_metric(name="DistributionChecks", unit=MetricUnit.Count, value=len(changes))
    return outcomes


handler = batch_queue_flow(flow(FlowName.DISTRIBUTION_FEEDBACK), build=feedback_deps, handle_all=feedback_all)
