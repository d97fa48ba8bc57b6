"""Scheduled: release dates that arrived, and the daily drift check (see logic.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.dependencies import Dependencies
from functions.domain.rights import RightsPolicy
from functions.event_bus import EventBus
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import scheduled_flow
from functions.flows.release_sweep.logic import sweep
from functions.observability import logger
from functions.state.cursors import CursorStore
from functions.state.ledger import SyncLedger


@dataclass
class SweepDeps:
    ledger: SyncLedger
    cursors: CursorStore
    bus: EventBus
    policy: RightsPolicy


def sweep_deps(platform: Dependencies) -> SweepDeps:
    return SweepDeps(ledger=platform.ledger, cursors=platform.cursors, bus=platform.event_bus, policy=platform.settings.mapping.rights)


def run(deps: SweepDeps, now: datetime, time_left: Callable[[], float] | None) -> dict[str, Any]:
    outcome = sweep(deps.ledger, deps.cursors, deps.bus, now, deps.policy)
    logger.info(
        "sweep finished",
        extra={"released": outcome.released, "rights_windows": outcome.rights_windows, "drift_checks": outcome.drift_checks},
    )
    return outcome.__dict__


handler = scheduled_flow(flow(FlowName.RELEASE_SWEEP), build=sweep_deps, run=run)
