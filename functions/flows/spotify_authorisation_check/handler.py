"""Scheduled daily: days left on each Spotify account's authorisation (see logic.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from functions.dependencies import Dependencies
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import scheduled_flow
from functions.flows.spotify_authorisation_check.logic import CheckDeps, check_authorisations
from functions.observability import NAMESPACE, logger

FLOW = flow(FlowName.SPOTIFY_AUTHORISATION_CHECK)
DAYS_LEFT_METRIC = "SpotifyAuthorisationDaysLeft"
NEVER_AUTHORISED_DAYS = 0.0  # reported as expired: the alarm fires until someone authorises it


def check_deps(platform: Dependencies) -> CheckDeps:
    accounts = platform.settings.spotify_accounts
    return CheckDeps(
        accounts=accounts.spotify_accounts,
        store=platform.spotify_authorisations,
        alerts=platform.alerts,
        cursors=platform.cursors,
        warning_days=accounts.spotify_authorisation_warning_days,
    )


def run(deps: CheckDeps, now: datetime, time_left: Callable[[], float] | None) -> dict[str, Any]:
    outcome = check_authorisations(deps, now)
    for state in outcome.accounts:
        days = state.days_left if state.days_left is not None else NEVER_AUTHORISED_DAYS
        # one metric per account, with the account as its dimension (the stack alarms per account)
        with single_metric(name=DAYS_LEFT_METRIC, unit=MetricUnit.Count, value=days, namespace=NAMESPACE) as metric:
            metric.add_dimension(name="account", value=state.account)
    logger.info("authorisations checked", extra={"accounts": [asdict(s) for s in outcome.accounts]})
    return {"accounts": [asdict(s) for s in outcome.accounts]}


handler = scheduled_flow(FLOW, build=check_deps, run=run)
