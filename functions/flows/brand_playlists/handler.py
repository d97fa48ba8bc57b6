"""Queue: LicenceChanged / the brand show's LicenceChannelChanged -> the licensee's brand playlist (see logic.py)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from functions.clock import utcnow
from functions.dependencies import Dependencies
from functions.domain.events import DomainEvent, LicenceChanged, LicenceChannelChanged
from functions.domain.licence import LicenceChannel
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import queue_flow
from functions.flows.brand_playlists.logic import PlaylistDeps, reconcile_brand_playlist
from functions.observability import logger, metrics


def playlist_deps(platform: Dependencies) -> PlaylistDeps:
    settings = platform.settings
    return PlaylistDeps(
        ledger=platform.ledger,
        bus=platform.event_bus,
        mapping=settings.mapping,
        accounts=settings.spotify_accounts.spotify_accounts,
        playlists=platform.spotify_playlists,
        catalogue=platform.spotify_web,
        market=settings.core.spotify_markets[0],
    )


def follow(domain_event: DomainEvent, deps: PlaylistDeps) -> None:
    if isinstance(domain_event, LicenceChannelChanged) and domain_event.channel != LicenceChannel.BRAND_SHOW:
        return  # the playlists follow the licence and the brand show, not the other channels
    assert isinstance(domain_event, (LicenceChanged, LicenceChannelChanged))
    outcome = reconcile_brand_playlist(domain_event.product_id, deps, utcnow())
    if outcome.changed:
        metrics.add_metric(name=f"BrandPlaylistItems{outcome.status.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    logger.info("brand playlist", extra={"product_id": outcome.product_id, "status": outcome.status, "reason": outcome.reason})


handler = queue_flow(flow(FlowName.BRAND_PLAYLISTS), build=playlist_deps, handle=follow)
