"""Queue: EpisodeDelivered -> Spotify link and status on the Consonance product (see logic.py)."""

from __future__ import annotations

from functions.dependencies import Dependencies
from functions.domain.events import DomainEvent, EpisodeDelivered
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import batch_queue_flow
from functions.flows.consonance_writeback.logic import WritebackDeps, write_back


def writeback_deps(platform: Dependencies) -> WritebackDeps:
    return WritebackDeps(writeback=platform.consonance_writeback, spotify_url_template=platform.settings.consonance.spotify_show_url)


def write_all(events: list[DomainEvent], deps: WritebackDeps) -> dict[int, Exception | None]:
    return write_back([e for e in events if isinstance(e, EpisodeDelivered)], deps)


handler = batch_queue_flow(flow(FlowName.CONSONANCE_WRITEBACK), build=writeback_deps, handle_all=write_all)
