"""Queue: LicenceChanged / LicenceChannelChanged -> status links and note on the product (see logic.py)."""

from __future__ import annotations

from functions.dependencies import Dependencies
from functions.domain.events import DomainEvent
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import batch_queue_flow
from functions.flows.licence_status.logic import StatusDeps, write_status


def status_deps(platform: Dependencies) -> StatusDeps:
    settings = platform.settings
    return StatusDeps(
        ledger=platform.ledger,
        writeback=platform.consonance_writeback,
        spotify_episode_url=settings.consonance.spotify_show_url,
        link_role=settings.mapping.branded.status_link_role,
    )


def write_all(events: list[DomainEvent], deps: StatusDeps) -> dict[int, Exception | None]:
    return write_status(events, deps)


handler = batch_queue_flow(flow(FlowName.LICENCE_STATUS), build=status_deps, handle_all=write_all)
