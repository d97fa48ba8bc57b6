"""Scheduled nightly: the prepared campaigns' daily Ads delivery as analytics facts (see logic.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.dependencies import Dependencies
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import scheduled_flow
from functions.flows.ads_report_collector.logic import CollectorDeps, collect
from functions.observability import logger, metrics


def collector_deps(platform: Dependencies) -> CollectorDeps:
    settings = platform.spotify_ads_settings
    _, ad_account_id = settings.configured()
    return CollectorDeps(
        ledger=platform.ledger,
        cursors=platform.cursors,
        ads=platform.spotify_ads,
        facts=platform.analytics_store,
        ad_account_id=ad_account_id,
        lookback_days=settings.spotify_ads_report_lookback_days,
    )


def run(deps: CollectorDeps, now: datetime, time_left: Callable[[], float] | None) -> dict[str, Any]:
    outcome = collect(deps, now)
    metrics.add_metric(name="AdsFactsWritten", unit=MetricUnit.Count, value=sum(outcome.facts_by_day.values()))
    logger.info("ads delivery collected", extra={"campaigns": outcome.campaigns, "facts_by_day": outcome.facts_by_day})
    return {"campaigns": outcome.campaigns, "ad_sets": outcome.ad_sets, "facts_by_day": outcome.facts_by_day}


handler = scheduled_flow(flow(FlowName.ADS_REPORT_COLLECTOR), build=collector_deps, run=run)
