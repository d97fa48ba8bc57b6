"""Scheduled: keep every promotable author's playlist on the publisher's Spotify account in step (see logic.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.dependencies import Dependencies
from functions.flow_declarations import flow
from functions.flow_names import FlowName
from functions.flow_template import scheduled_flow
from functions.flows.author_playlists.logic import PlaylistDeps, sync_playlists
from functions.observability import logger, metrics
from functions.settings import ConfigurationError

FLOW = flow(FlowName.AUTHOR_PLAYLISTS)


def playlist_deps(platform: Dependencies) -> PlaylistDeps:
    policy = platform.settings.mapping.promotion
    accounts = platform.settings.spotify_accounts.spotify_accounts
    if policy.playlist_account not in accounts:
        raise ConfigurationError(
            f"{FLOW.name}: the playlist account {policy.playlist_account!r} (consonanceMapping.promotion.playlist_account) is not "
            f"one of the authorised Spotify accounts ({', '.join(accounts) or 'none'}; the spotifyAccounts context)"
        )
    return PlaylistDeps(
        ledger=platform.ledger,
        cursors=platform.cursors,
        availability=platform.availability,
        playlists=platform.spotify_playlists,
        media=platform.media_fetcher,
        bus=platform.event_bus,
        alerts=platform.alerts,
        policy=policy,
    )


def run(deps: PlaylistDeps, now: datetime, time_left: Callable[[], float] | None) -> dict[str, Any]:
    outcome = sync_playlists(deps, now)
    for name, value in (
        ("AuthorPlaylistsCreated", len(outcome.created) + len(outcome.recreated)),
        ("AuthorPlaylistsUpdated", len(set(outcome.details_updated + outcome.items_replaced + outcome.covers_uploaded))),
        ("AuthorPlaylistsFailed", len(outcome.failed)),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info("author playlists synced", extra={"outcome": asdict(outcome)})
    return asdict(outcome)


handler = scheduled_flow(FLOW, build=playlist_deps, run=run)
