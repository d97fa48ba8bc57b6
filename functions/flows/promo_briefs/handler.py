"""Queue: promo briefs per contributor and campaign, regenerated when an input changes (see logic.py)."""

from __future__ import annotations

from functions.dependencies import Dependencies
from functions.domain.events import DomainEvent
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import queue_flow
from functions.flows.promo_briefs.logic import BriefDeps, handle_brief_event
from functions.observability import logger


def brief_deps(platform: Dependencies) -> BriefDeps:
    return BriefDeps(
        ledger=platform.ledger,
        documents=platform.documents,
        writeback=platform.consonance_writeback,
        spotify=platform.spotify_web,
        policy=platform.settings.mapping.promotion,
        market=platform.settings.core.spotify_markets[0],
    )


def handle(event: DomainEvent, deps: BriefDeps) -> None:
    outcome = handle_brief_event(event, deps)
    if outcome is not None:
        logger.info("promo briefs", extra={"contributor": outcome.contributor_id, "written": outcome.written, "unchanged": outcome.unchanged})


handler = queue_flow(flow(FlowName.PROMO_BRIEFS), build=brief_deps, handle=handle)
