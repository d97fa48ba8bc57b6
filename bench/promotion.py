"""Contributor promotion's call counts on the bundled sample: what one contributor change costs on
Spotify, and what a run in which nothing changed costs.

The sample catalogue (with `sample.d/promotion.json`) runs in the sandbox until every promotable author
has a playlist. Then, on a clock moved by hand so no scheduled run interferes:
1. the author-playlists flow runs once with nothing changed — every request to Spotify (Web API and
   accounts service) is counted: the goal is none;
2. one author's bio is rewritten in Consonance and their credit on one episode is removed there (so the
   bio and the items of their playlist change, and no one else's); the Consonance and contributor
   pollers run, then the author-playlists flow once — its requests to Spotify are counted (the goal is
   at most 4: the library read, the details, the items, and a token refresh when the hour-long access
   token has expired).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from bench.aws import in_process_world
from bench.results import Figure
from functions.connectors.http import HttpExchange, observe_requests
from functions.flow_names import FlowName
from functions.state.keys import contributor_key
from functions.state.ledger import SyncLedger
from functions.state.targets import AUTHOR_PLAYLIST, PlaylistStatus
from infra.flows import FLOWS, Table
from sandbox.catalogue import load_catalogue
from sandbox.world import SandboxWorld, WorldOptions

CHANGED_CONTRIBUTOR = 504  # Rowan Ashby: a speaker on Inside the Ember Court
UNCREDITED = 41106  # one of his episodes: his credit is removed, the host's stays
SPOTIFY_SERVICES = ("spotify-web", "spotify-accounts")


def promotion_figures(say: Any) -> list[Figure]:
    # every flow but the availability monitor and recorder: they take no part here, and polling Spotify for
    # every live episode is most of a sample run's wall time
    flows = tuple(f for f in FLOWS if f.name not in (FlowName.AVAILABILITY_MONITOR, FlowName.AVAILABILITY_RECORDER))
    with in_process_world(), SandboxWorld(load_catalogue(), WorldOptions(seed=7, flows=flows)) as world:
        say("  promotion: the sample until every promotable author has a playlist ...")
        world.run_for(days=3 / 24)
        ledger = SyncLedger(world.resources.tables[Table.LEDGER])
        playlists = [e for e in ledger.scan(AUTHOR_PLAYLIST) if e.status is PlaylistStatus.CURRENT]
        world.clock.advance(20 * 60)  # between two hourly slots: only what is invoked here runs
        unchanged = _spotify_calls(world, FlowName.AUTHOR_PLAYLISTS)
        author = next(c for c in world.consonance.catalogue.contributors if c.id == CHANGED_CONTRIBUTOR)
        author.biographical_note, author.changed_on = "<p>Rowan Ashby writes the Ember Court novels.</p>", world.clock.now().date()
        episode = next(p for p in world.consonance.catalogue.products if p.id == UNCREDITED)
        episode.contributions = [c for c in episode.contributions if c.contributor_id != CHANGED_CONTRIBUTOR]
        episode.changed_on = world.clock.now().date()
        world.clock.advance(int(timedelta(minutes=30).total_seconds()))  # the access token is an hour old now
        for poller in (FlowName.CONSONANCE_POLLER, FlowName.CONTRIBUTOR_POLLER):
            world.runtime.invoke(poller, _scheduled(world, poller))
        changed = _spotify_calls(world, FlowName.AUTHOR_PLAYLISTS)
        entry = ledger.get(contributor_key(CHANGED_CONTRIBUTOR), AUTHOR_PLAYLIST)
    calls = sum(changed.values())
    note = (
        f"{len(playlists)} author playlists on the sample. One contributor's bio and their credit on one episode changed: "
        + ", ".join(f"{request} ×{count}" for request, count in sorted(changed.items()))
        + f"; the playlist now holds {len(entry.state.uris) if entry else '?'} episodes."
    )
    return [
        Figure(name="promotion_calls_per_contributor_change", value=calls, target=4.0, note=note, details={"requests": dict(changed)}),
        Figure(
            name="promotion_calls_on_unchanged_run",
            value=sum(unchanged.values()),
            target=0.0,
            note="the author-playlists flow with nothing changed: no request to Spotify (the daily library check aside)",
            details={"requests": dict(unchanged)},
        ),
    ]


def _spotify_calls(world: SandboxWorld, name: FlowName) -> Counter[str]:
    seen: list[HttpExchange] = []
    stop = observe_requests(seen.append)
    try:
        world.runtime.invoke(name, _scheduled(world, name))
    finally:
        stop()
    return Counter(f"{e.method} {e.url.split('/v1', 1)[-1].split('?')[0]}" for e in seen if e.service in SPOTIFY_SERVICES)


def _scheduled(world: SandboxWorld, name: FlowName) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"bench-{name}-{world.clock.now().isoformat()}",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": world.resources.account,
        "time": world.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": world.resources.region,
        "resources": [world.resources.schedules[name].rule_arn],
        "detail": {},
    }

